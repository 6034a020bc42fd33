"""Checks on the embedded data files built by scripts/build_data.py (src/fairshare/data/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "fairshare" / "data"
SHARED = REPO.parent / "shared" / "data"

ENGLAND_MID2022 = 57_106_398
AGE_BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
LOCAL_OFFICES = {
    "North East": "NE",
    "North West": "NW",
    "Yorkshire and the Humber": "YH",
    "East Midlands": "EM",
    "West Midlands": "WM",
    "East of England": "EOE",
    "London": "LDN",
    "Kent Surrey and Sussex": "KSS",
    "Thames Valley": "TV",
    "Wessex": "WX",
    "South West": "SW",
}
COMPONENTS = [
    "core",
    "general_acute",
    "community",
    "mental_health",
    "maternity",
    "health_inequalities",
    "prescribing",
    "primary_care",
]
RAW_COMPONENT = {
    "core": "Final WP",
    "general_acute": "G&A WP",
    "community": "CS WP",
    "mental_health": "MH WP",
    "maternity": "Mat WP",
    "health_inequalities": "Health Ineq WP",
    "prescribing": "Prescr WP",
    "primary_care": "Primary Medical Care WP",
}


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


@pytest.fixture(scope="module")
def icb_codes() -> set[str]:
    return set(read("icbs.csv")["icb_code"])


def test_england_mid2022_total() -> None:
    pop = read("population_mid2022.csv")
    assert int(pop["population"].sum()) == ENGLAND_MID2022
    assert len(pop) == 42 * 2 * 19
    assert set(pop["sex"]) == {"F", "M"}
    assert set(pop["age_band"]) == set(AGE_BANDS)
    assert not pop.duplicated(["icb_code", "sex", "age_band"]).any()
    assert (pop["population"] > 0).all()


@pytest.mark.parametrize(
    "name",
    [
        "population_mid2022.csv",
        "growth_factors.csv",
        "growth_variants.csv",
        "weighted_population.csv",
        "icb_local_office.csv",
    ],
)
def test_42_icbs_everywhere(name: str, icb_codes: set[str]) -> None:
    assert len(icb_codes) == 42
    assert all(c.startswith("E54") for c in icb_codes)
    assert set(read(name)["icb_code"]) == icb_codes


def test_icbs_table() -> None:
    icbs = read("icbs.csv")
    assert len(icbs) == 42
    assert icbs["icb_ods"].is_unique
    assert icbs["region_code"].nunique() == 7
    # the April 2023 codes for Surrey Heartlands and Sussex, not the 2022 ones
    assert {"E54000063", "E54000064"} <= set(icbs["icb_code"])
    assert not {"E54000052", "E54000053"} & set(icbs["icb_code"])


def test_growth_factor_2022_is_exactly_one() -> None:
    gf = read("growth_factors.csv")
    assert set(gf["year"]) == set(range(2022, 2044))
    assert len(gf) == 42 * 2 * 19 * 22
    assert (gf.loc[gf["year"] == 2022, "factor"] == 1.0).all()
    assert (gf["factor"] > 0).all()
    gv = read("growth_variants.csv")
    assert gv["variant"].nunique() == 11
    assert "principal" in set(gv["variant"])
    assert len(gv) == 42 * 11 * 22
    assert (gv.loc[gv["year"] == 2022, "factor"] == 1.0).all()


def test_principal_variant_consistent_with_age_sex_factors() -> None:
    """All-age principal factor == population-weighted age/sex factors on the SNPP 2022 base."""
    if not SHARED.is_dir():
        pytest.skip(f"shared raw data not found at {SHARED}")
    snpp = pd.read_csv(SHARED / "projections" / "snpp2018_icb23_england_sex_5yr_age_2011_2043.csv")
    base = snpp[(snpp["series"] == "projection_principal") & (snpp["year"] == 2022)]
    gf = read("growth_factors.csv").merge(
        base.rename(columns={"area_code": "icb_code", "population": "base"})[
            ["icb_code", "sex", "age_band", "base"]
        ],
        on=["icb_code", "sex", "age_band"],
    )
    implied = (gf["factor"] * gf["base"]).groupby([gf["icb_code"], gf["year"]]).sum() / gf.groupby(
        ["icb_code", "year"]
    )["base"].sum()
    gv = read("growth_variants.csv")
    principal = gv[gv["variant"] == "principal"].set_index(["icb_code", "year"])["factor"]
    np.testing.assert_allclose(implied.loc[principal.index], principal, atol=2e-6)


def test_icb_local_office_shares() -> None:
    ilo = read("icb_local_office.csv")
    sums = ilo.groupby("icb_code")["share"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-9)
    assert ((ilo["share"] > 0) & (ilo["share"] <= 1)).all()
    assert set(ilo["local_office"]) == set(LOCAL_OFFICES)
    assert not ilo.duplicated(["icb_code", "local_office"]).any()
    split = ilo[ilo["share"] < 1]
    assert set(split["icb_code"]) == {"E54000024", "E54000034"}  # BLMK and Frimley
    assert set(split.loc[split["icb_code"] == "E54000034", "local_office"]) == {
        "Thames Valley",
        "Kent Surrey and Sussex",
        "Wessex",
    }


def test_local_offices_table() -> None:
    lo = read("local_offices.csv")
    assert dict(zip(lo["local_office"], lo["lo_code"], strict=True)) == LOCAL_OFFICES
    regions = read("icbs.csv")[["region_code", "region_name"]].drop_duplicates()
    merged = lo.merge(regions, on="region_code", suffixes=("", "_icbs"), validate="m:1")
    assert (merged["region_name"] == merged["region_name_icbs"]).all()


def test_profiles_population_weighted_mean_is_one() -> None:
    prof = read("utilisation_profiles.csv")
    pop = (
        read("population_mid2022.csv")
        .groupby(["sex", "age_band"], as_index=False)["population"]
        .sum()
    )
    assert {
        "all",
        "children",
        "adults",
        "older_adults",
        "women_15_44",
        "medical",
        "surgical",
    } <= set(prof["profile"])
    for name, p in prof.groupby("profile"):
        assert len(p) == 38, name
        m = p.merge(pop, on=["sex", "age_band"], validate="1:1")
        mean = (m["weight"] * m["population"]).sum() / m["population"].sum()
        assert mean == pytest.approx(1.0, abs=1e-8), name
        assert (p["weight"] >= 0).all(), name


def test_components_sum_to_england_population() -> None:
    wp = read("weighted_population.csv")
    total = wp["population"].sum()
    for c in COMPONENTS:
        assert wp[c].sum() == pytest.approx(total, abs=0.05), c


@pytest.mark.parametrize(
    ("name", "n", "code"),
    [
        ("icb_boundaries.geojson", 42, "ICB23CD"),
        ("region_boundaries.geojson", 7, "NHSER22CD"),
        ("local_office_boundaries.geojson", 11, "local_office"),
    ],
)
def test_boundaries(name: str, n: int, code: str, icb_codes: set[str]) -> None:
    path = DATA / name
    assert path.stat().st_size < 1_000_000
    fc = json.loads(path.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == n
    codes = {f["properties"][code] for f in fc["features"]}
    assert len(codes) == n
    if code == "ICB23CD":
        assert codes == icb_codes
    if code == "NHSER22CD":
        assert codes == set(read("icbs.csv")["region_code"])
    if code == "local_office":
        assert codes == set(LOCAL_OFFICES)
    for f in fc["features"]:
        assert f["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_need_checks_copy_their_sources() -> None:
    """need_checks.csv holds the raw figures unchanged (ICB codes mapped 2022 -> 2023)."""
    checks = read("need_checks.csv").set_index("icb_code")
    assert len(checks) == 42
    if not SHARED.is_dir():
        pytest.skip(f"shared raw data not found at {SHARED}")
    cw = pd.read_csv(SHARED / "geography" / "lookup_icb_codes_2022_2023_2024_ods_nhser.csv")
    hi = pd.read_csv(SHARED / "deprivation" / "ons_health_index_icb22_indicators_2015_2021.csv")
    am = hi[(hi["indicator"] == "avoidable_mortality") & (hi["year"] == 2021)]
    am = am.set_index(am["icb22_code"].map(cw.set_index("icb22_code")["icb23_icb24_code"]))
    both = checks["ons_avoidable_mortality_2021"].dropna()
    np.testing.assert_allclose(both, am.loc[both.index, "value"], atol=0.05)
    old = pd.read_csv(SHARED / "other" /
                      "nhse_allocations_icb22_weighted_pop_need_index_2023_24_2024_25.csv")
    sel = old[old["allocation_year"] == "2024/25"].set_index("icb23_icb24_code")
    np.testing.assert_allclose(checks["nhse_final_need_index_2024_25"],
                               sel.loc[checks.index, "final_need_index"], atol=5e-5)
