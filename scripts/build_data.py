#!/usr/bin/env python
"""Build the embedded data files in ``src/fairshare/data/`` from the shared raw data.

Usage::

    .venv/bin/python scripts/build_data.py [--shared ../shared/data]

The default ``--shared`` path is ``<repo>/../shared/data``. Every value written comes from a file
in the shared folder (see its SOURCES.md) or from a mechanical computation on those files that is
described below and in ``src/fairshare/data/README.md``. Nothing is typed in except structural
definitions (the local-office list and the ICB -> local office rules, which are a documented
judgement).

The output is deterministic: rows are sorted, floats are written with fixed formats, and JSON is
written compactly with coordinates rounded to 4 decimal places, so a rebuild is byte-identical.

``local_office_boundaries.geojson`` needs ``shapely`` (a BUILD-TIME-ONLY dependency, not a
dependency of the package). Without shapely that one file is skipped with a warning and any
existing copy is left untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "src" / "fairshare" / "data"
DEFAULT_SHARED = REPO.parent / "shared" / "data"

AGE_BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
SEXES = ["F", "M"]
BASE_YEAR = 2022
LAST_YEAR = 2043
ENGLAND = "E92000001"
ENGLAND_MID2022 = 57_106_398
N_ICB = 42
MAX_GEOJSON_BYTES = 1_000_000
# Decimal places for GeoJSON coordinates. The ICB and region files keep the source's 5 dp:
# rounding them to 4 dp saves only ~11 % (476 -> 424 KB) but turns 6 ICB and 3 region polygons
# invalid (rings touching themselves). The dissolved local-office file is snapped to a 1e-4 grid
# by shapely.set_precision, which keeps it valid, so it is written at 4 dp.
GEO_DP_SOURCE = 5
GEO_DP_DISSOLVED = 4

# ONS SNPP 2018-based variant codes as used by The Strategy Unit (see SOURCES.md, projections/).
VARIANTS = {
    "v1": "principal",
    "v2": "high_fertility",
    "v3": "low_fertility",
    "v4": "high_life_expectancy",
    "v5": "low_life_expectancy",
    "v6": "high_migration",
    "v7": "low_migration",
    "v8": "high_population",
    "v9": "low_population",
    "v10": "young_age_structure",
    "v11": "old_age_structure",
}
# Upstream variant_name for each code; checked so that the mapping cannot silently drift.
VARIANT_UPSTREAM_NAMES = {
    "v1": "Principal",
    "v2": "High fertility",
    "v3": "Low fertility",
    "v4": "High life expectancy",
    "v5": "Low life expectancy",
    "v6": "High migration",
    "v7": "Low migration",
    "v8": "High population",
    "v9": "Low population",
    "v10": "Young age structure",
    "v11": "Old age structure",
}

# Weighted-population columns: output name -> column in the NHS England 2025/26 practice file.
WP_COLUMNS = {
    "population": "Population",
    "core": "Final WP",
    "general_acute": "G&A WP",
    "community": "CS WP",
    "mental_health": "MH WP",
    "maternity": "Mat WP",
    "health_inequalities": "Health Ineq WP",
    "prescribing": "Prescr WP",
    "primary_care": "Primary Medical Care WP",
}

# The 11 postgraduate local offices: name, short code, NHS region (ONS code) they report under.
LOCAL_OFFICES = [
    ("North East", "NE", "E40000012"),
    ("North West", "NW", "E40000010"),
    ("Yorkshire and the Humber", "YH", "E40000012"),
    ("East Midlands", "EM", "E40000011"),
    ("West Midlands", "WM", "E40000011"),
    ("East of England", "EOE", "E40000007"),
    ("London", "LDN", "E40000003"),
    ("Kent Surrey and Sussex", "KSS", "E40000005"),
    ("Thames Valley", "TV", "E40000005"),
    ("Wessex", "WX", "E40000005"),
    ("South West", "SW", "E40000006"),
]

# ICB (ODS code) -> local office for ICBs assigned whole. The name fragment guards against a
# wrong code: it must occur in the crosswalk's icb_name.
WHOLE_ICB_LO = {
    "QHM": ("North East and North Cumbria", "North East"),
    "QOQ": ("Humber and North Yorkshire", "Yorkshire and the Humber"),
    "QF7": ("South Yorkshire", "Yorkshire and the Humber"),
    "QWO": ("West Yorkshire", "Yorkshire and the Humber"),
    "QYG": ("Cheshire and Merseyside", "North West"),
    "QOP": ("Greater Manchester", "North West"),
    "QE1": ("Lancashire and South Cumbria", "North West"),
    "QJ2": ("Derby and Derbyshire", "East Midlands"),
    "QT1": ("Nottingham and Nottinghamshire", "East Midlands"),
    "QK1": ("Leicester, Leicestershire and Rutland", "East Midlands"),
    "QJM": ("Lincolnshire", "East Midlands"),
    "QPM": ("Northamptonshire", "East Midlands"),
    "QNC": ("Staffordshire and Stoke-on-Trent", "West Midlands"),
    "QOC": ("Shropshire, Telford and Wrekin", "West Midlands"),
    "QWU": ("Coventry and Warwickshire", "West Midlands"),
    "QGH": ("Herefordshire and Worcestershire", "West Midlands"),
    "QHL": ("Birmingham and Solihull", "West Midlands"),
    "QUA": ("Black Country", "West Midlands"),
    "QMM": ("Norfolk and Waveney", "East of England"),
    "QJG": ("Suffolk and North East Essex", "East of England"),
    "QM7": ("Hertfordshire and West Essex", "East of England"),
    "QH8": ("Mid and South Essex", "East of England"),
    "QUE": ("Cambridgeshire and Peterborough", "East of England"),
    "QRV": ("North West London", "London"),
    "QMJ": ("North Central London", "London"),
    "QMF": ("North East London", "London"),
    "QKK": ("South East London", "London"),
    "QWE": ("South West London", "London"),
    "QKS": ("Kent and Medway", "Kent Surrey and Sussex"),
    "QXU": ("Surrey Heartlands", "Kent Surrey and Sussex"),
    "QNX": ("Sussex", "Kent Surrey and Sussex"),
    "QU9": ("Buckinghamshire, Oxfordshire and Berkshire West", "Thames Valley"),
    "QRL": ("Hampshire and Isle of Wight", "Wessex"),
    "QVV": ("Dorset", "Wessex"),
    "QT6": ("Cornwall and the Isles of Scilly", "South West"),
    "QJK": ("Devon", "South West"),
    "QSL": ("Somerset", "South West"),
    "QUY": ("Bristol, North Somerset and South Gloucestershire", "South West"),
    "QOX": ("Bath and North East Somerset, Swindon and Wiltshire", "South West"),
    "QR1": ("Gloucestershire", "South West"),
}

# Split ICBs: ODS code -> (name fragment, {LAD code: local office}, default local office or None).
# With default None every LAD found among the ICB's practices must be listed (else the build stops).
SPLIT_ICB_LO: dict[str, tuple[str, dict[str, str], str | None]] = {
    "QHG": (
        "Bedfordshire, Luton and Milton Keynes",
        {"E06000042": "Thames Valley"},  # Milton Keynes
        "East of England",
    ),
    "QNQ": (
        "Frimley",
        {
            "E06000039": "Thames Valley",  # Slough
            "E06000040": "Thames Valley",  # Windsor and Maidenhead
            "E06000036": "Thames Valley",  # Bracknell Forest
            "E07000214": "Kent Surrey and Sussex",  # Surrey Heath
            "E07000216": "Kent Surrey and Sussex",  # Waverley
            # Runnymede (Surrey) has one Frimley practice in the 2025/26 file; Surrey is in KSS.
            "E07000212": "Kent Surrey and Sussex",
            "E07000092": "Wessex",  # Rushmoor
            "E07000089": "Wessex",  # Hart
        },
        None,
    ),
}
SPLIT_BASIS = "practice population by LAD, NHS England 2025/26"
WHOLE_BASIS = "whole ICB"

# Strategy Unit activity PODs (group codes) summed for the two activity-based profiles.
MEDICAL_GROUPS = ["non-surg_first", "non-surg_fup", "non-surg_proc", "emer_n"]
SURGICAL_GROUPS = ["surg_first", "surg_fup", "surg_proc", "ordelec_n", "daycase_n"]


# --------------------------------------------------------------------------------------------
# helpers


def log(msg: str) -> None:
    print(msg, flush=True)


def band_order(s: pd.Series) -> pd.Series:
    return s.map({b: i for i, b in enumerate(AGE_BANDS)})


def sort_rows(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sort by keys; age_band sorts in natural band order, everything else lexically/numerically."""
    return df.sort_values(
        keys, key=lambda s: band_order(s) if s.name == "age_band" else s, kind="mergesort"
    ).reset_index(drop=True)


def fmt_fixed(values: pd.Series, decimals: int) -> pd.Series:
    """Fixed-point strings; NaN becomes an empty field. -0.000 is written as 0.000."""

    def one(x: float) -> str:
        if pd.isna(x):
            return ""
        s = f"{x:.{decimals}f}"
        return s[1:] if s.startswith("-") and float(s) == 0 else s

    return values.map(one).astype(object)


def write_csv(df: pd.DataFrame, name: str, floats: dict[str, int] | None = None) -> Path:
    out = df.copy()
    for col, dec in (floats or {}).items():
        out[col] = fmt_fixed(out[col].astype(float), dec)
    path = OUT_DIR / name
    tmp = path.with_suffix(path.suffix + ".tmp")
    out.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)
    log(f"wrote {path.relative_to(REPO)}: {len(df)} rows, {path.stat().st_size:,} bytes")
    return path


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise SystemExit(f"CHECK FAILED: {msg}")


# --------------------------------------------------------------------------------------------
# readers


def read_crosswalk(shared: Path) -> pd.DataFrame:
    cw = pd.read_csv(shared / "geography" / "lookup_icb_codes_2022_2023_2024_ods_nhser.csv")
    check(len(cw) == N_ICB and cw["icb23_icb24_code"].nunique() == N_ICB, "crosswalk has 42 ICBs")
    check(cw["icb_ods"].nunique() == N_ICB, "crosswalk ODS codes unique")
    return cw


def read_population(shared: Path) -> pd.DataFrame:
    return pd.read_csv(shared / "population" / "ons_mye_sicbl23_sex_5yr_age_2021_2022.csv")


def read_practices(shared: Path) -> pd.DataFrame:
    # The file starts with a UTF-8 byte-order mark; utf-8-sig strips it from "Practice_Code".
    p = pd.read_csv(
        shared / "other" / "nhse_allocations_gp_practice_weighted_pop_2025_26.csv",
        encoding="utf-8-sig",
    )
    check("Practice_Code" in p.columns, "BOM stripped from practice file header")
    check(not p["Practice_Code"].duplicated().any(), "practice codes unique")
    return p


# --------------------------------------------------------------------------------------------
# builders


def build_population(pop_raw: pd.DataFrame, icb_codes: set[str]) -> pd.DataFrame:
    p = pop_raw[pop_raw["year"] == BASE_YEAR]
    out = (
        p.groupby(["icb23_code", "sex", "age_band"], as_index=False)["population"]
        .sum()
        .rename(columns={"icb23_code": "icb_code"})
    )
    out["population"] = out["population"].astype("int64")
    check(set(out["icb_code"]) == icb_codes, "population ICBs == crosswalk ICBs")
    check(set(out["age_band"]) == set(AGE_BANDS), "population age bands")
    check(len(out) == N_ICB * 2 * len(AGE_BANDS), "population rows 42x2x19")
    total = int(out["population"].sum())
    check(total == ENGLAND_MID2022, f"England mid-2022 total {total:,} == {ENGLAND_MID2022:,}")
    log(f"population mid-2022: England total {total:,} (matches ONS)")
    out = sort_rows(out, ["icb_code", "sex", "age_band"])
    write_csv(out, "population_mid2022.csv")
    return out


def build_growth_factors(shared: Path, icb_codes: set[str]) -> None:
    s = pd.read_csv(shared / "projections" / "snpp2018_icb23_england_sex_5yr_age_2011_2043.csv")
    s = s[(s["series"] == "projection_principal") & (s["area_code"] != ENGLAND)]
    s = s[(s["year"] >= BASE_YEAR) & (s["year"] <= LAST_YEAR)]
    check(set(s["area_code"]) == icb_codes, "SNPP ICBs == crosswalk ICBs")
    check(not s.duplicated(["area_code", "year", "sex", "age_band"]).any(), "SNPP unique keys")
    base = s[s["year"] == BASE_YEAR].set_index(["area_code", "sex", "age_band"])["population"]
    check(bool((base > 0).all()), "SNPP 2022 base populations all positive")
    s = s.join(base.rename("base"), on=["area_code", "sex", "age_band"])
    s["factor"] = s["population"] / s["base"]
    out = s.rename(columns={"area_code": "icb_code"})[
        ["icb_code", "sex", "age_band", "year", "factor"]
    ]
    n_years = LAST_YEAR - BASE_YEAR + 1
    check(len(out) == N_ICB * 2 * len(AGE_BANDS) * n_years, "growth factor rows")
    check(bool((out.loc[out["year"] == BASE_YEAR, "factor"] == 1.0).all()), "2022 factor == 1")
    out = sort_rows(out, ["icb_code", "sex", "age_band", "year"])
    write_csv(out, "growth_factors.csv", {"factor": 6})


def build_growth_variants(shared: Path, icb_codes: set[str]) -> None:
    v = pd.read_csv(
        shared / "projections" / "snpp2018_icb23_england_totals_by_variant_2000_2043.csv"
    )
    names = v[["variant", "variant_name"]].drop_duplicates().set_index("variant")["variant_name"]
    for code, upstream in VARIANT_UPSTREAM_NAMES.items():
        check(names.get(code) == upstream, f"variant {code} is '{upstream}' upstream")
    v = v[v["variant"].isin(list(VARIANTS)) & (v["area_code"] != ENGLAND)]
    v = v[(v["year"] >= BASE_YEAR) & (v["year"] <= LAST_YEAR)]
    check(set(v["area_code"]) == icb_codes, "variant ICBs == crosswalk ICBs")
    base = v[v["year"] == BASE_YEAR].set_index(["area_code", "variant"])["population"]
    v = v.join(base.rename("base"), on=["area_code", "variant"])
    v["factor"] = v["population"] / v["base"]
    v["variant"] = v["variant"].map(VARIANTS)
    out = v.rename(columns={"area_code": "icb_code"})[["icb_code", "variant", "year", "factor"]]
    check(len(out) == N_ICB * len(VARIANTS) * (LAST_YEAR - BASE_YEAR + 1), "variant rows")
    out = sort_rows(out, ["icb_code", "variant", "year"])
    write_csv(out, "growth_variants.csv", {"factor": 6})


def build_weighted_population(practices: pd.DataFrame, cw: pd.DataFrame) -> pd.DataFrame:
    ods_to_code = cw.set_index("icb_ods")["icb23_icb24_code"]
    check(set(practices["ICB"]) == set(ods_to_code.index), "practice ICB ODS codes == crosswalk")
    p = practices.assign(icb_code=practices["ICB"].map(ods_to_code))
    g = p.groupby("icb_code")
    out = pd.DataFrame({"registered": g["Patients"].sum(min_count=1)})
    for name, col in WP_COLUMNS.items():
        out[name] = g[col].sum()
    out = out.reset_index()
    check(len(out) == N_ICB, "weighted population has 42 ICBs")
    n_pat = int(practices["Patients"].notna().sum())
    log(
        f"weighted population: {len(practices):,} practices; `Patients` non-empty in {n_pat} rows"
        + (" -> `registered` is left EMPTY (no value in the source)" if n_pat == 0 else "")
    )
    # How do the components relate to Population? (reported in the data README)
    tot_pop = practices["Population"].sum()
    log(f"  England Population total = {tot_pop:,.6f}")
    for name, col in WP_COLUMNS.items():
        if name == "population":
            continue
        diff = practices[col].sum() - tot_pop
        icb_ratio = out[name] / out["population"]
        log(
            f"  {col:>24}: England sum - Population = {diff:+.6f}; "
            f"ICB sum/Population range {icb_ratio.min():.4f}..{icb_ratio.max():.4f}"
        )
        check(abs(diff) < 0.01, f"{col} sums to the England Population total")
    pmc_diff = practices["Final PMC WP"].sum() - tot_pop
    log(f"  {'Final PMC WP':>24} (not kept): England sum - Population = {pmc_diff:+.6f}")
    out = sort_rows(out, ["icb_code"])
    write_csv(out, "weighted_population.csv", dict.fromkeys(["registered", *WP_COLUMNS], 3))
    return out


#: Components of NHS England's core-services formula in the practice file (not "Final WP").
CORE_PARTS = ["G&A WP", "CS WP", "MH WP", "Mat WP", "Health Ineq WP", "Prescr WP"]


def fit_core_cost_factor(practices: pd.DataFrame) -> tuple[pd.Series, pd.Series, float, float]:
    """ICB cost factor inside NHS England's core weighted population ("Final WP").

    Model: Final WP of practice p in ICB i = f_i x sum_c b_c x WP_c,p (the component weighted
    populations). Fitted by alternating least squares: given f, the weights b by least squares
    through the origin; given b, each f_i by least squares within ICB i; f normalised so that
    England's fitted total is unchanged (sum_p f_i(p) x pred_p = sum_p pred_p). Returns f by ICB
    ODS code, the weights b, and the root mean square relative error of the fit with and
    without f (the latter with one England-wide scale).
    """
    x = practices[CORE_PARTS].to_numpy(float)
    y = practices["Final WP"].to_numpy(float)
    codes, inv = np.unique(practices["ICB"].to_numpy(str), return_inverse=True)
    f = np.ones(len(codes))
    for _ in range(1000):
        b, *_ = np.linalg.lstsq(x * f[inv][:, None], y, rcond=None)
        pred = x @ b
        new = np.bincount(inv, y * pred) / np.bincount(inv, pred * pred)
        new /= np.bincount(inv, pred) @ new / pred.sum()
        done = np.abs(new - f).max() < 1e-13
        f = new
        if done:
            break
    check(done, "core cost factor fit converged")
    pred = x @ b
    with_f = float(np.sqrt(np.mean(((y - pred * f[inv]) / y) ** 2)))
    scale = y.sum() / pred.sum()
    without = float(np.sqrt(np.mean(((y - pred * scale) / y) ** 2)))
    return pd.Series(f, index=codes), pd.Series(b, index=CORE_PARTS), with_f, without


def build_core_cost_factor(practices: pd.DataFrame, cw: pd.DataFrame) -> pd.DataFrame:
    """core_cost_factor.csv: the ICB-level factor in NHS England's core need (data README)."""
    factor, weights, err_with, err_without = fit_core_cost_factor(practices)
    log("core cost factor: weights " + ", ".join(f"{k} {v:.4f}" for k, v in weights.items())
        + f"; fit error {err_with:.2%} with the ICB factor, {err_without:.2%} without")
    ods_to_code = cw.set_index("icb_ods")["icb23_icb24_code"]
    out = pd.DataFrame({"icb_code": factor.index.map(ods_to_code), "icb_ods": factor.index,
                        "cost_factor": factor.to_numpy()})
    check(out["icb_code"].notna().all() and len(out) == N_ICB, "cost factor for 42 ICBs")
    check(err_with < err_without / 3, "the ICB factor explains most of the fit's error")
    out = sort_rows(out, ["icb_code"])
    write_csv(out, "core_cost_factor.csv", {"cost_factor": 6})
    return out


def build_need_checks(shared: Path, cw: pd.DataFrame) -> pd.DataFrame:
    """Reference figures the model does not use, for tests that check its need terms against
    sources it did not produce: ONS Health Index avoidable mortality (2021) and NHS England's
    ICB need indices of two earlier allocation years."""
    to23 = cw.set_index("icb22_code")["icb23_icb24_code"]
    hi = pd.read_csv(shared / "deprivation" / "ons_health_index_icb22_indicators_2015_2021.csv")
    am = hi[(hi["indicator"] == "avoidable_mortality") & (hi["year"] == 2021)]
    am = am.assign(icb_code=am["icb22_code"].map(to23)).dropna(subset=["icb_code"])
    old = pd.read_csv(
        shared / "other" / "nhse_allocations_icb22_weighted_pop_need_index_2023_24_2024_25.csv")
    out = pd.DataFrame({"icb_code": sorted(cw["icb23_icb24_code"].unique())})
    out["ons_avoidable_mortality_2021"] = out["icb_code"].map(
        am.set_index("icb_code")["value"])
    for year in ("2023/24", "2024/25"):
        sel = old[old["allocation_year"] == year].set_index("icb23_icb24_code")
        tag = year.replace("/", "_")
        out[f"nhse_final_need_index_{tag}"] = out["icb_code"].map(sel["final_need_index"])
        out[f"nhse_health_ineq_need_index_{tag}"] = out["icb_code"].map(
            sel["health_ineq_need_index"])
    check(len(out) == N_ICB, "need checks have 42 ICBs")
    check(out["ons_avoidable_mortality_2021"].notna().sum() >= 38,
          "ONS avoidable mortality for at least 38 ICBs")
    check(out.filter(like="nhse_").notna().all().all(), "every ICB has earlier need indices")
    write_csv(out, "need_checks.csv", {"ons_avoidable_mortality_2021": 1,
                                       **{c: 4 for c in out.columns if c.startswith("nhse_")}})
    return out


def build_icbs(cw: pd.DataFrame, pop_raw: pd.DataFrame) -> pd.DataFrame:
    out = cw.rename(
        columns={
            "icb23_icb24_code": "icb_code",
            "nhser23_code": "region_code",
            "nhser23_name": "region_name",
        }
    )[["icb_code", "icb_ods", "icb_name", "region_code", "region_name"]]
    # Regions agree with the ONS population workbook (ICB nests in region).
    ons = pop_raw[["icb23_code", "nhser23_code", "nhser23_name"]].drop_duplicates()
    check(len(ons) == N_ICB, "each ICB in exactly one region in the population file")
    merged = out.merge(ons, left_on="icb_code", right_on="icb23_code", validate="1:1")
    check(bool((merged["region_code"] == merged["nhser23_code"]).all()), "ICB regions agree")
    check(bool((merged["region_name"] == merged["nhser23_name"]).all()), "region names agree")
    out = sort_rows(out, ["icb_code"])
    write_csv(out, "icbs.csv")
    return out


def build_local_offices(pop_raw: pd.DataFrame) -> pd.DataFrame:
    region_names = (
        pop_raw[["nhser23_code", "nhser23_name"]].drop_duplicates().set_index("nhser23_code")
    )["nhser23_name"]
    out = pd.DataFrame(LOCAL_OFFICES, columns=["local_office", "lo_code", "region_code"])
    check(set(out["region_code"]) <= set(region_names.index), "local office regions exist")
    out["region_name"] = out["region_code"].map(region_names)
    check(len(out) == 11, "11 local offices")
    out = sort_rows(out, ["local_office"])
    write_csv(out, "local_offices.csv")
    return out


def split_shares(pops: dict[str, float]) -> dict[str, int]:
    """Shares in millionths summing to exactly 1_000_000; residual goes on the largest part."""
    total = sum(pops.values())
    micro = {lo: round(v / total * 1_000_000) for lo, v in pops.items()}
    largest = max(pops, key=lambda lo: (pops[lo], lo))
    micro[largest] += 1_000_000 - sum(micro.values())
    return micro


def build_icb_local_office(
    practices: pd.DataFrame, cw: pd.DataFrame, lo_names: set[str]
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    covered = set(WHOLE_ICB_LO) | set(SPLIT_ICB_LO)
    check(covered == set(cw["icb_ods"]), "every ICB has a local-office rule, and only once")
    check(not set(WHOLE_ICB_LO) & set(SPLIT_ICB_LO), "no ICB both whole and split")
    by_ods = cw.set_index("icb_ods")
    for ods, (frag, lo) in WHOLE_ICB_LO.items():
        check(frag in by_ods.loc[ods, "icb_name"], f"{ods} is {frag}")
        check(lo in lo_names, f"{lo} is a local office")
        rows.append(
            {
                "icb_code": by_ods.loc[ods, "icb23_icb24_code"],
                "local_office": lo,
                "micro": 1_000_000,
                "basis": WHOLE_BASIS,
            }
        )
    for ods, (frag, lad_map, default) in SPLIT_ICB_LO.items():
        check(frag in by_ods.loc[ods, "icb_name"], f"{ods} is {frag}")
        pr = practices[practices["ICB"] == ods]
        by_lad = pr.groupby(["LAD", "LTLA"])["Population"].agg(["sum", "count"]).reset_index()
        log(f"split ICB {ods} {by_ods.loc[ods, 'icb_name']}: practice LADs")
        parts: dict[str, float] = {}
        for r in by_lad.itertuples(index=False):
            lo = lad_map.get(r.LAD, default)
            check(lo is not None, f"LAD {r.LAD} ({r.LTLA}) in {ods} has no local-office rule")
            assert lo is not None
            check(lo in lo_names, f"{lo} is a local office")
            parts[lo] = parts.get(lo, 0.0) + float(r.sum)
            log(
                f"    {r.LAD} {r.LTLA:<24} practices={r.count:>3} "
                f"Population={r.sum:>14,.3f} -> {lo}"
            )
        for lad in lad_map:
            if lad not in set(by_lad["LAD"]):
                log(f"    note: rule LAD {lad} has no practices in {ods}")
        micro = split_shares(parts)
        total = sum(parts.values())
        for lo, m in micro.items():
            log(f"    {lo:<24} Population={parts[lo]:>14,.3f} share={m / 1e6:.6f}")
        log(f"    ICB total Population={total:,.3f}")
        for lo, m in micro.items():
            rows.append(
                {
                    "icb_code": by_ods.loc[ods, "icb23_icb24_code"],
                    "local_office": lo,
                    "micro": m,
                    "basis": SPLIT_BASIS,
                }
            )
    out = pd.DataFrame(rows)
    check(bool((out.groupby("icb_code")["micro"].sum() == 1_000_000).all()), "shares sum to 1")
    check(set(out["local_office"]) == lo_names, "every local office receives an ICB")
    out["share"] = out["micro"].map(lambda m: f"{m // 1_000_000}.{m % 1_000_000:06d}")
    out = sort_rows(out, ["icb_code", "local_office"])
    write_csv(out[["icb_code", "local_office", "share", "basis"]], "icb_local_office.csv")
    return out


def build_utilisation_profiles(shared: Path, pop: pd.DataFrame) -> None:
    eng = pop.groupby(["sex", "age_band"])["population"].sum()
    grid = pd.DataFrame(
        [(s, b) for s in SEXES for b in AGE_BANDS], columns=["sex", "age_band"]
    ).set_index(["sex", "age_band"])
    grid["pop"] = eng
    check(bool(grid["pop"].notna().all()), "England population for every sex x band")
    idx = {b: i for i, b in enumerate(AGE_BANDS)}

    def raw_fixed(rule: str) -> pd.Series:
        w = []
        for sex, band in grid.index:
            i = idx[band]
            if rule == "all":
                w.append(1.0)
            elif rule == "children":
                w.append(1.0 if i <= 2 else (3 / 5 if i == 3 else 0.0))
            elif rule == "adults":
                w.append(0.0 if i <= 2 else (2 / 5 if i == 3 else 1.0))
            elif rule == "older_adults":
                w.append(1.0 if i >= idx["65-69"] else 0.0)
            elif rule == "women_15_44":
                w.append(1.0 if sex == "F" and idx["15-19"] <= i <= idx["40-44"] else 0.0)
            else:  # pragma: no cover
                raise ValueError(rule)
        return pd.Series(w, index=grid.index, dtype=float)

    a = pd.read_csv(
        shared / "other" / "strategy_unit_activity_rates_per_head_by_age_sex_pod_icb23_england.csv"
    )
    a = a[a["area_code"] == ENGLAND]
    labels = a[["group", "label"]].drop_duplicates().set_index("group")["label"]
    check(set(MEDICAL_GROUPS + SURGICAL_GROUPS) <= set(labels.index), "activity PODs present")
    ages = sorted(a["age"].unique())
    check(ages == list(range(17, 91)), "activity ages are 17..90 (90 = 90+)")

    def raw_activity(groups: list[str]) -> pd.Series:
        sub = a[a["group"].isin(groups)]
        check(not sub.duplicated(["group", "age"]).any(), "one England row per POD x age")
        long = pd.concat(
            [
                sub[["age"]].assign(sex="F", rate=sub["rate_f_smoothed"]),
                sub[["age"]].assign(sex="M", rate=sub["rate_m_smoothed"]),
            ]
        )
        by_age = long.groupby(["sex", "age"])["rate"].sum()  # sum of PODs per single year
        w = []
        for sex, band in grid.index:
            i = idx[band]
            if i <= 2:
                w.append(0.0)  # no children's activity in the source (ages 17+ only)
            elif band == "15-19":
                w.append(by_age.loc[sex].loc[[17, 18, 19]].mean() * 3 / 5)
            elif band == "90+":
                w.append(float(by_age.loc[(sex, 90)]))
            else:
                lo = 5 * i
                w.append(by_age.loc[sex].loc[list(range(lo, lo + 5))].mean())
        return pd.Series(w, index=grid.index, dtype=float)

    raw = {
        "all": raw_fixed("all"),
        "children": raw_fixed("children"),
        "adults": raw_fixed("adults"),
        "older_adults": raw_fixed("older_adults"),
        "women_15_44": raw_fixed("women_15_44"),
        "medical": raw_activity(MEDICAL_GROUPS),
        "surgical": raw_activity(SURGICAL_GROUPS),
    }
    log("utilisation profiles (population-weighted mean before normalisation -> divided by it):")
    log(f"  medical PODs:  {[labels[g] for g in MEDICAL_GROUPS]}")
    log(f"  surgical PODs: {[labels[g] for g in SURGICAL_GROUPS]}")
    frames = []
    for name, w in raw.items():
        mean = float((w * grid["pop"]).sum() / grid["pop"].sum())
        log(f"  {name:<13} mean={mean:.9f}")
        frames.append((w / mean).rename("weight").reset_index().assign(profile=name))
    out = pd.concat(frames)[["profile", "sex", "age_band", "weight"]]
    out = sort_rows(out, ["profile", "sex", "age_band"])
    write_csv(out, "utilisation_profiles.csv", {"weight": 9})


# --------------------------------------------------------------------------------------------
# GeoJSON


def _round_ring(ring: Iterable[Iterable[float]], nd: int) -> list[list[float]]:
    pts = [[round(float(x), nd), round(float(y), nd)] for x, y, *_ in ring]
    dedup = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
    if len(dedup) >= 4 and dedup[0] == dedup[-1]:
        return dedup
    return pts  # keep the undeduplicated ring rather than produce a degenerate one


def round_geometry(geom: dict[str, Any], nd: int) -> dict[str, Any]:
    t = geom["type"]
    if t == "Polygon":
        coords: Any = [_round_ring(r, nd) for r in geom["coordinates"]]
    elif t == "MultiPolygon":
        coords = [[_round_ring(r, nd) for r in poly] for poly in geom["coordinates"]]
    else:
        raise SystemExit(f"unexpected geometry type {t}")
    return {"type": t, "coordinates": coords}


def write_geojson(features: list[dict[str, Any]], name: str) -> Path:
    fc = {"type": "FeatureCollection", "features": features}
    text = json.dumps(fc, separators=(",", ":"), ensure_ascii=False) + "\n"
    path = OUT_DIR / name
    path.write_text(text, encoding="utf-8")
    size = path.stat().st_size
    check(size < MAX_GEOJSON_BYTES, f"{name} is under 1 MB ({size:,} bytes)")
    log(f"wrote {path.relative_to(REPO)}: {len(features)} features, {size:,} bytes")
    return path


def slim_geojson(src: Path, keep: list[str], sort_key: str, name: str) -> list[dict[str, Any]]:
    """Copy a FeatureCollection keeping only `keep` properties, sorted by `sort_key`."""
    g = json.loads(src.read_text(encoding="utf-8"))
    feats = []
    for f in g["features"]:
        feats.append(
            {
                "type": "Feature",
                "properties": {k: f["properties"][k] for k in keep},
                "geometry": round_geometry(f["geometry"], GEO_DP_SOURCE),
            }
        )
    feats.sort(key=lambda f: f["properties"][sort_key])
    log(f"{src.name}: {src.stat().st_size:,} bytes at source")
    write_geojson(feats, name)
    return feats


def build_local_office_boundaries(
    icb_feats: list[dict[str, Any]], ilo: pd.DataFrame, lo: pd.DataFrame
) -> None:
    try:
        import shapely
        from shapely.geometry import mapping, shape
    except ImportError:
        log("WARNING: shapely not installed; local_office_boundaries.geojson NOT rebuilt")
        return
    # Each ICB goes wholly to the local office holding its largest share (ties: name order).
    main = (
        ilo.sort_values(["icb_code", "micro", "local_office"], ascending=[True, False, True])
        .drop_duplicates("icb_code")
        .set_index("icb_code")["local_office"]
    )
    codes = lo.set_index("local_office")["lo_code"]
    feats = []
    for name in sorted(codes.index):
        geoms = [
            shape(f["geometry"]) for f in icb_feats if main[f["properties"]["ICB23CD"]] == name
        ]
        check(len(geoms) > 0, f"{name} has ICB geometry")
        grid = 10.0**-GEO_DP_DISSOLVED
        merged = shapely.union_all(shapely.set_precision(geoms, grid))
        merged = shapely.set_precision(merged, grid)
        check(merged.is_valid, f"{name} dissolved geometry valid")
        feats.append(
            {
                "type": "Feature",
                "properties": {"local_office": name, "lo_code": codes[name]},
                "geometry": round_geometry(mapping(shapely.normalize(merged)), GEO_DP_DISSOLVED),
            }
        )
    log(f"local office boundaries dissolved with shapely {shapely.__version__}")
    write_geojson(feats, "local_office_boundaries.geojson")


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help=f"folder holding the shared raw data (default: {DEFAULT_SHARED})",
    )
    args = ap.parse_args(argv)
    shared = args.shared.resolve()
    if not (shared / "SOURCES.md").is_file():
        raise SystemExit(f"no shared data at {shared} (expected SOURCES.md there)")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log(f"shared data: {shared}\noutput: {OUT_DIR}")

    cw = read_crosswalk(shared)
    icb_codes = set(cw["icb23_icb24_code"])
    pop_raw = read_population(shared)
    practices = read_practices(shared)

    pop = build_population(pop_raw, icb_codes)
    build_growth_factors(shared, icb_codes)
    build_growth_variants(shared, icb_codes)
    build_weighted_population(practices, cw)
    build_core_cost_factor(practices, cw)
    build_need_checks(shared, cw)
    build_icbs(cw, pop_raw)
    lo = build_local_offices(pop_raw)
    ilo = build_icb_local_office(practices, cw, set(lo["local_office"]))
    build_utilisation_profiles(shared, pop)

    geo = shared / "geography"
    icb_feats = slim_geojson(
        geo / "icb23_apr2023_en_bsc.geojson",
        ["ICB23CD", "ICB23NM"],
        "ICB23CD",
        "icb_boundaries.geojson",
    )
    check(len(icb_feats) == N_ICB, "42 ICB features")
    check({f["properties"]["ICB23CD"] for f in icb_feats} == icb_codes, "ICB feature codes")
    reg_feats = slim_geojson(
        geo / "nhser22_jul2022_en_buc.geojson",
        ["NHSER22CD", "NHSER22NM"],
        "NHSER22CD",
        "region_boundaries.geojson",
    )
    check(len(reg_feats) == 7, "7 region features")
    build_local_office_boundaries(icb_feats, ilo, lo)
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
