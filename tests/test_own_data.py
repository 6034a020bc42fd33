"""Applying the method to another geography: a data folder of one's own (docs/own_data.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare import Scenario, targets
from fairshare.cli import app
from fairshare.errors import InputError
from fairshare.inputs.bundle import load_bundle
from fairshare.inputs.schemas import AGE_BANDS, COMPONENTS, SEXES

AREAS = {"R1": ("Riverside", "North"), "R2": ("Hills", "North"), "R3": ("Coast", "South")}
PEOPLE = {"R1": 3800, "R2": 1900, "R3": 7600}  # 38 sex x age cells each, same age mix


@pytest.fixture(autouse=True)
def _restore_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--data` sets $FAIRSHARE_DATA for the rest of the process: undo it after each test."""
    monkeypatch.setenv("FAIRSHARE_DATA", "")  # recorded, so teardown restores the old state


def _country(folder: Path) -> Path:
    """A three-area country: population only, every need component proportional to it."""
    folder.mkdir()
    rows = [{"icb_code": a, "sex": s, "age_band": b, "population": PEOPLE[a] // 38}
            for a in AREAS for s in SEXES for b in AGE_BANDS]
    pd.DataFrame(rows).to_csv(folder / "population_mid2022.csv", index=False)
    growth = [{**r, "year": y, "factor": 1.0} for r in rows for y in range(2022, 2044)]
    pd.DataFrame(growth).drop(columns="population").to_csv(folder / "growth_factors.csv",
                                                           index=False)
    wp = pd.DataFrame({"icb_code": list(AREAS), "registered": [float(PEOPLE[a]) for a in AREAS],
                       "population": [float(PEOPLE[a]) for a in AREAS]})
    for c in COMPONENTS:
        wp[c] = wp["population"]
    wp.to_csv(folder / "weighted_population.csv", index=False)
    pd.DataFrame({"icb_code": list(AREAS), "icb_ods": list(AREAS),
                  "icb_name": [n for n, _ in AREAS.values()],
                  "region_code": ["N", "N", "S"], "region_name": ["North", "North", "South"]}
                 ).to_csv(folder / "icbs.csv", index=False)
    pd.DataFrame({"local_office": ["North", "South"], "lo_code": ["N", "S"],
                  "region_code": ["N", "S"], "region_name": ["North", "South"]}
                 ).to_csv(folder / "local_offices.csv", index=False)
    pd.DataFrame({"icb_code": list(AREAS), "local_office": [lo for _, lo in AREAS.values()],
                  "share": 1.0}).to_csv(folder / "icb_local_office.csv", index=False)
    return folder


def test_own_country_targets_follow_its_population(tmp_path: Path) -> None:
    folder = _country(tmp_path / "country")
    posts = tmp_path / "posts.csv"
    posts.write_text("local_office,specialty,posts\nNorth,Cardiology,70\nSouth,Cardiology,30\n")
    bundle = load_bundle(folder, posts)
    assert "data folder" in bundle.source
    df = targets(bundle, Scenario()).set_index("area")
    # every need term is proportional to population and the age mix is the same everywhere, so
    # North's fair share is its 5,700 of 13,300 people (σ keeps a share where posts are now)
    sigma = df.loc["North", "specialised_share"]
    assert df.loc["North", "fair_share"] == pytest.approx(100 * 5700 / 13300)
    assert df.loc["North", "target_fractional"] == pytest.approx(
        (1 - sigma) * 100 * 5700 / 13300 + sigma * 70)
    assert df["target"].sum() == 100


def test_own_country_from_the_cli(tmp_path: Path) -> None:
    folder = _country(tmp_path / "country")
    posts = tmp_path / "posts.csv"
    posts.write_text("local_office,specialty,posts\nN,Paediatrics,10\nS,Paediatrics,10\n")
    res = CliRunner().invoke(app, ["--data", str(folder), "targets", "--posts", str(posts),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "out" / "targets.csv")["area"]) == {"North", "South"}


def test_mixed_up_folder_is_explained(tmp_path: Path) -> None:
    folder = _country(tmp_path / "country")
    (folder / "icbs.csv").unlink()  # the England list of ICBs no longer matches the population
    with pytest.raises(InputError, match=r"areas differ from icbs\.csv"):
        load_bundle(folder, None)
    folder2 = _country(tmp_path / "country2")
    with pytest.raises(InputError, match="no establishment"):
        load_bundle(folder2)
