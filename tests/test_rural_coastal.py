"""Rural and coastal need (issue 16, part 2): the uplift by hand, the per-ICB shares recomputed
from the raw ONS, BMJ Public Health and IMD files, totals kept, 0 leaving targets as they are."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare import Scenario, load_england, targets
from fairshare.inputs.bundle import Bundle
from fairshare.model.need import NeedShares, rural_coastal_uplift
from fairshare.model.targets import WATERFALL

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BOTH = Scenario(rural_weight=0.2, coastal_weight=0.2)


@pytest.fixture(scope="module")
def england() -> Bundle:
    return load_england()


def test_uplift_by_hand() -> None:
    """Two areas with equal need; the first wholly rural: at ρ = 0.2 it has 1.2 / 2.2."""
    ns = NeedShares(specialties=["x"], icbs=["a", "b"], population=np.array([0.5, 0.5]),
                    core=np.array([0.5, 0.5]), deprivation=np.array([0.5, 0.5]),
                    specialty=np.array([[0.5, 0.5]]), future=np.array([[0.5, 0.5]]),
                    projection_year=np.array([2030]),
                    uplift=np.array([[1 + 0.2 * 1.0 + 0.5 * 0.4, 1 + 0.2 * 0.0 + 0.5 * 0.0]]))
    fair = ns.fair_share(np.array([[1.0, 0.0, 0.0]]), 0.2)
    assert fair[0] == pytest.approx([1.4 / 2.4, 1 / 2.4])


def test_uplift_follows_the_catalogue(england: Bundle) -> None:
    up = rural_coastal_uplift(england, BOTH, sorted(england.icbs["icb_code"]))
    assert up is not None
    specs = list(england.specialties["specialty"])
    assert np.all(up[specs.index("Neurosurgery")] == 1.0)  # declared 0: tertiary, σ 0.5
    cornwall = sorted(england.icbs["icb_code"]).index("E54000036")
    rc = england.rural_coastal.set_index("icb_code").loc["E54000036"]
    assert up[specs.index("General Practice"), cornwall] == pytest.approx(
        1 + 0.2 * rc["rural_share"] + 0.2 * rc["coastal_share"])
    assert rural_coastal_uplift(england, Scenario(), []) is None


def test_shares_recomputed_from_the_raw_files(england: Bundle) -> None:
    geo = SHARED / "geography"
    lsoa = pd.read_csv(geo / "lookup_lsoa21_sicbl24_icb24.csv")
    ruc = pd.read_csv(geo / "ons_ruc21_lsoa21_ew.csv")
    coast = pd.read_csv(geo / "coastal_bmjph" / "coastal_lsoa21_g25_5.csv")
    imd = pd.read_csv(SHARED / "deprivation" / "imd2025_lsoa21_scores_ranks_deciles.csv")
    df = (lsoa.merge(ruc, on="lsoa21_code").merge(coast, left_on="lsoa21_code", right_on="LSOA21")
          .merge(imd[["lsoa21_code", "IMD_decile"]], on="lsoa21_code"))
    london = {"E54000027", "E54000028", "E54000029", "E54000030", "E54000031"}
    df["rural"] = df["urban_rural_flag"] == "Rural"
    df["coastal"] = ((df["G_25_5"] == 1) & ~df["icb24_code"].isin(london)
                     & (df["IMD_decile"] <= 5))
    assert df["rural"].sum() == 5_554  # ONS: 5,554 rural LSOAs in England (shared SOURCES.md)
    assert (df["G_25_5"] == 1).sum() == 7_545  # the paper's 7,545 coastal LSOAs
    want = df.groupby("icb24_code")[["rural", "coastal"]].mean()
    got = england.rural_coastal.set_index("icb_code")
    assert np.allclose(got["rural_share"], want.loc[got.index, "rural"], atol=1e-6)
    assert np.allclose(got["coastal_share"], want.loc[got.index, "coastal"], atol=1e-6)
    assert (got.loc[sorted(london), "coastal_share"] == 0).all()  # the tidal Thames is not coast


def test_default_zero_leaves_targets_unchanged(england: Bundle) -> None:
    without = replace(england, rural_coastal=pd.DataFrame())  # no term can act at all
    a, b = targets(england, Scenario()), targets(without, Scenario())
    pd.testing.assert_frame_equal(a, b)
    assert (a["effect_rural_coastal"] == 0).all()


def test_national_totals_kept_and_waterfall_adds_up(england: Bundle) -> None:
    base, lifted = targets(england, Scenario()), targets(england, BOTH)
    assert (base.groupby("specialty")["target"].sum()
            == lifted.groupby("specialty")["target"].sum()).all()
    assert lifted["target"].sum() == base["current"].sum()
    steps = lifted[[k for k, _ in WATERFALL]].sum(axis=1)  # population share ... rounding
    assert np.allclose(steps, lifted["target"])
    neuro = lifted["specialty"] == "Neurosurgery"
    assert np.allclose(lifted.loc[neuro, "target_fractional"], base.loc[neuro,
                                                                        "target_fractional"])
    london = lifted[(lifted["area"] == "London") & (lifted["specialty"] == "General Practice")]
    assert london["effect_rural_coastal"].iat[0] < 0  # no rural or counted coastal LSOA


def test_missing_data_is_a_clear_error(england: Bundle) -> None:
    from fairshare.errors import FairshareError
    without = replace(england, rural_coastal=pd.DataFrame())
    with pytest.raises(FairshareError, match=r"rural_coastal\.csv"):
        targets(without, BOTH)
