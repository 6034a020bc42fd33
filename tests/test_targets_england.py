"""Targets on the embedded England data: invariants that must hold for every scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fairshare import Scenario, apportion, load_england, targets
from fairshare.model.need import need_shares


@pytest.fixture(scope="module")
def england():  # type: ignore[no-untyped-def]
    return load_england()


@pytest.mark.parametrize("method", ["hamilton", "webster", "huntington-hill", "dhondt"])
def test_targets_conserve_each_specialty_total(england, method: str) -> None:  # type: ignore[no-untyped-def]
    df = targets(england, Scenario(apportionment=method))
    by_spec = df.groupby("specialty")[["current", "target"]].sum()
    assert (by_spec["current"] == by_spec["target"]).all()
    assert (df["target"] >= 0).all()
    assert set(df["method"]) == {method}
    # whole targets are within one post of the fractional target for quota-respecting methods
    if method == "hamilton":
        assert ((df["target"] - df["target_fractional"]).abs() < 1).all()


def test_levels_are_consistent(england) -> None:  # type: ignore[no-untyped-def]
    lo = targets(england, Scenario())
    region = targets(england, Scenario(level="region"))
    icb = targets(england, Scenario(level="icb"))
    assert region["area"].nunique() == 7 and lo["area"].nunique() == 11
    assert icb["area_code"].nunique() == 42
    for other in (region, icb):
        a = lo.groupby("specialty")[["current", "target"]].sum()
        b = other.groupby("specialty")[["current", "target"]].sum()
        pd.testing.assert_frame_equal(a, b)
    # a region equals the sum of its local offices, row by row
    london = lo[lo["area"] == "London"].set_index("specialty")["target"]
    london_region = region[region["area"] == "London"].set_index("specialty")["target"]
    pd.testing.assert_series_equal(london.sort_index(), london_region.sort_index())


def test_need_shares_sum_to_one(england) -> None:  # type: ignore[no-untyped-def]
    ns = need_shares(england, Scenario())
    for arr in (ns.specialty, ns.future):
        assert arr.sum(axis=1) == pytest.approx(1.0)
    for vec in (ns.core, ns.deprivation, ns.population):
        assert vec.sum() == pytest.approx(1.0)


def test_deprivation_weight_moves_posts_toward_deprived_areas(england) -> None:  # type: ignore[no-untyped-def]
    low = targets(england, Scenario(deprivation_weight=0.0)).groupby("area")["fair_share"].sum()
    high = targets(england, Scenario(deprivation_weight=0.4)).groupby("area")["fair_share"].sum()
    # Health-inequalities need is highest in the North East and lowest in Thames Valley
    assert high["North East"] > low["North East"]
    assert high["Thames Valley"] < low["Thames Valley"]


def test_deterministic(england) -> None:  # type: ignore[no-untyped-def]
    a = targets(england, Scenario())
    b = targets(load_england(), Scenario())
    pd.testing.assert_frame_equal(a, b)


def test_controlled_rounding_fixes_both_margins(england) -> None:  # type: ignore[no-untyped-def]
    df = targets(england, Scenario(controlled_rounding=True))
    by_spec = df.groupby("specialty")[["current", "target"]].sum()
    assert (by_spec["current"] == by_spec["target"]).all()
    area_totals = df.groupby("area")["target_fractional"].sum()
    whole = df.groupby("area")["target"].sum()
    expected = apportion(list(area_totals), int(df["current"].sum()))
    assert list(whole) == expected
    assert ((df["target"] - df["target_fractional"]).abs() < 1).all()


def test_cli_targets_writes_labelled_outputs(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "fairshare.cli", "targets", "--level", "region", "--specialty",
         "General Psychiatry", "--out", str(tmp_path)],
        capture_output=True, text=True, check=True,
    )
    assert "Public baseline: NHS Digital staff in post" in res.stdout
    df = pd.read_csv(tmp_path / "targets.csv")
    assert set(df["specialty"]) == {"General Psychiatry"} and len(df) == 7
    assert (df["basis"] == "NHS Digital staff in post (FTE), 30 Sept 2017; corrected: trust "
            "placed by its sites: Oxleas NHS Foundation Trust (RPG) 13.5 FTE Kent Surrey and "
            "Sussex -> London").all()  # the default baseline correction says so on every row
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["establishment"].startswith("Public baseline")
    assert set(meta["establishment_modelled"]) == {"General Practice", "Public Health Medicine"}
    assert all(b.startswith("modelled: ") for b in meta["establishment_modelled"].values())
    assert meta["scenario"]["level"] == "region"
    assert meta["scenario"]["deprivation_weight"] == 0.2
    assert set(meta["input_digests"]) >= {"population", "posts", "specialties"}
