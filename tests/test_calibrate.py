"""`fairshare calibrate`: recovers known parameters, says what the data cannot pin down, and
explains bad files (analysis/calibrate.py, docs/calibrate.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairshare import Scenario, load_england
from fairshare.analysis.calibrate import NAMES, calibrate, read_published, synthetic_published
from fairshare.cli import app
from fairshare.errors import FairshareError, InputError
from fairshare.inputs.bundle import Bundle

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "scripts"))
from make_calibration_example import example_rows  # noqa: E402

KNOWN = yaml.safe_load((EXAMPLES / "calibration_known_parameters.yaml").read_text())
THETA = np.array([KNOWN[n] for n in NAMES])


@pytest.fixture(scope="module")
def england() -> Bundle:
    return load_england()


@pytest.fixture(scope="module")
def recovered(england: Bundle):  # type: ignore[no-untyped-def]
    """The synthetic example, regenerated on today's establishment, then calibrated."""
    published = synthetic_published(england, Scenario(), THETA, example_rows())
    return published, calibrate(england, Scenario(), published, seed=0)


def test_recovers_the_known_parameters(recovered) -> None:  # type: ignore[no-untyped-def]
    _, fit = recovered
    p = fit.parameters.set_index("parameter")
    # gaps are published in whole posts, so recovery is close, not exact
    for name in ("deprivation_weight", "core_weight", "convergence_share"):
        assert p.loc[name, "identified"], name
        assert p.loc[name, "fitted"] == pytest.approx(KNOWN[name], abs=0.05), name
    for name in NAMES:
        if p.loc[name, "identified"]:
            width = p.loc[name, "high"] - p.loc[name, "low"]
            assert abs(p.loc[name, "fitted"] - KNOWN[name]) <= max(
                3 * p.loc[name, "std_error"], 0.05 * width), name
    assert fit.rmse_after <= 1.0 < fit.rmse_before


def test_residuals_are_published_minus_modelled_whole_gaps(recovered) -> None:  # type: ignore[no-untyped-def]
    published, fit = recovered
    r = fit.residuals
    assert len(r) == len(published) == 20
    assert (r["residual_after"] == r["gap_after"] - r["published_gap"]).all()
    assert fit.rmse_after == pytest.approx(float(np.sqrt((r["residual_after"] ** 2).mean())))


def test_a_parameter_the_rows_cannot_see_is_reported(england: Bundle) -> None:
    # specialties whose catalogue σ is 0: the σ multiplier changes nothing in them
    rows = pd.DataFrame({"area": ["London", "North West", "South West", "London", "Wessex",
                                  "North East"],
                         "specialty": ["General Psychiatry"] * 3 + ["Core Psychiatry"] * 3})
    spec = england.specialties.set_index("specialty").loc[rows["specialty"]]
    assert (spec["specialised_share"] == 0).all()
    published = synthetic_published(england, Scenario(), THETA, rows)
    p = calibrate(england, Scenario(), published).parameters.set_index("parameter")
    assert not p.loc["specialised_multiplier", "identified"]
    assert "say nothing" in p.loc["specialised_multiplier", "note"]


def test_same_seed_same_answer(england: Bundle, recovered) -> None:  # type: ignore[no-untyped-def]
    published, fit = recovered
    again = calibrate(england, Scenario(), published, seed=0)
    pd.testing.assert_frame_equal(fit.parameters, again.parameters)


def test_bad_published_file_names_row_and_column(england: Bundle, tmp_path: Path) -> None:
    bad = tmp_path / "published.csv"
    bad.write_text("area,specialty,published_gap\nLondon,Cardiology,-6\n"
                   "Londn,Cardiology,two\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_published(str(bad), england)
    text = str(err.value)
    assert "row 3, column 'area'" in text and "did you mean 'London'" in text
    assert "row 3, column 'published_gap'" in text
    missing = tmp_path / "short.csv"
    missing.write_text("area,specialty\nLondon,Cardiology\n", encoding="utf-8")
    with pytest.raises(InputError, match="column 'published_gap': missing column"):
        read_published(str(missing), england)


def test_cli_calibrates_the_shipped_example(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cal"
    res = runner.invoke(app, ["calibrate", "--published",
                              str(EXAMPLES / "calibration_published_example.csv"),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "after calibration" in res.output
    fitted = pd.read_csv(out / "calibration_parameters.csv")
    assert set(fitted["parameter"]) == set(NAMES)
    scenario = yaml.safe_load((out / "calibrated_scenario.yaml").read_text())
    assert scenario["convergence"]["policy"] == "share"
    bad = tmp_path / "bad.csv"
    bad.write_text("area,specialty,published_gap\nNowhere,Cardiology,1\n", encoding="utf-8")
    res = runner.invoke(app, ["calibrate", "--published", str(bad), "--out", str(out / "x")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "row 2, column 'area'" in res.output
    assert not (out / "x").exists()


def test_a_fixed_parameter_is_held_and_the_rest_fitted(england: Bundle, recovered) -> None:  # type: ignore[no-untyped-def]
    published, _ = recovered
    fit = calibrate(england, Scenario(), published, fixed={"specialty_split": 0.6})
    p = fit.parameters.set_index("parameter")
    assert p.loc["specialty_split", "fitted"] == 0.6 and p.loc["specialty_split", "fixed"]
    assert not p.loc["specialty_split", "identified"]
    assert p.loc["deprivation_weight", "fitted"] == pytest.approx(0.3, abs=0.05)
    assert p.loc["convergence_share", "fitted"] == pytest.approx(0.6, abs=0.05)
    with pytest.raises(FairshareError, match="allowed range"):
        calibrate(england, Scenario(), published, fixed={"core_weight": 1.5})
