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
from fairshare.analysis.calibrate import (
    NAMES,
    calibrate,
    leave_one_out,
    read_published,
    scale_factor,
    synthetic_published,
)
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
    text = (out / "calibrated_scenario.yaml").read_text()
    scenario = yaml.safe_load(text)
    assert scenario["convergence"]["policy"] == "share"
    assert "# Written (identified by the published figures): " in text
    assert "# Kept at the base scenario's values" in text and "Leave-one-out RMSE" in text
    assert (out / "calibration_checks.csv").exists()
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


# ------------------------------------------------------------------ issue 14: cannot mislead


def test_scale_factor_leave_one_out_by_hand() -> None:
    """y = [2, 4, 6], g = [1, 2, 4]: without row 1, k = (4·2 + 6·4) / (2² + 4²) = 1.6, so
    row 1 is predicted 1.6; without row 2, k = (2 + 24) / 17, prediction 52/17; without row 3,
    k = (2 + 8) / 5 = 2, prediction 8."""
    y, g = np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 4.0])
    assert scale_factor(y, g) == pytest.approx((2 + 8 + 24) / 21)
    held = leave_one_out(y, lambda keep: scale_factor(y[keep], g[keep]),
                         lambda k, i: k * g[i])  # type: ignore[operator]
    assert held == pytest.approx([1.6, 52 / 17, 8.0])
    assert scale_factor(y, np.zeros(3)) == 0.0


def _unchanged(base: Scenario, got: Scenario, written: list[str]) -> None:
    """Every parameter not written keeps the base scenario's value."""
    if "deprivation_weight" not in written:
        assert got.deprivation_weight == base.deprivation_weight
    if "core_weight" not in written:
        assert got.weights == base.weights and got.specialty_weights == base.specialty_weights
    if "specialised_multiplier" not in written:
        assert got.specialised_share == base.specialised_share
        assert got.specialty_specialised_share == base.specialty_specialised_share
    if "convergence_share" not in written:
        assert got.convergence == base.convergence


def test_unidentified_values_are_never_written(england: Bundle) -> None:
    rows = pd.DataFrame({"area": ["London", "North West", "South West", "London", "Wessex",
                                  "North East"],
                         "specialty": ["General Psychiatry"] * 3 + ["Core Psychiatry"] * 3})
    published = synthetic_published(england, Scenario(), THETA, rows)
    fit = calibrate(england, Scenario(), published)
    p = fit.parameters.set_index("parameter")
    assert "specialised_multiplier" not in fit.written  # σ is 0 in these specialties
    assert set(fit.written) <= set(p.index[p["identified"]])
    _unchanged(Scenario(), fit.scenario, fit.written)
    assert "Kept at the base scenario" in fit.scenario.description


def test_a_parameter_at_its_bound_is_not_an_estimate(england: Bundle) -> None:
    """Figures made with δ = 0 put the fitted δ on its lower bound: reported, not written."""
    theta = THETA.copy()
    theta[NAMES.index("deprivation_weight")] = 0.0
    published = synthetic_published(england, Scenario(), theta, example_rows())
    fit = calibrate(england, Scenario(), published)
    p = fit.parameters.set_index("parameter")
    assert p.loc["deprivation_weight", "fitted"] == pytest.approx(0.0, abs=0.02)
    assert not p.loc["deprivation_weight", "identified"]
    assert "lower bound" in p.loc["deprivation_weight", "note"]
    assert "deprivation_weight" not in fit.written
    assert fit.scenario.deprivation_weight == Scenario().deprivation_weight


def test_the_fit_is_checked_out_of_sample_against_one_scale_factor(recovered) -> None:  # type: ignore[no-untyped-def]
    _, fit = recovered
    checks = fit.checks.set_index("parameters")
    assert list(checks.index) == [0, 1, len(NAMES)]
    # figures made by the model's structure: the fit predicts held-out rows far better
    assert checks.loc[5, "rmse_leave_one_out"] < checks.loc[1, "rmse_leave_one_out"]
    assert fit.beats_scale_factor
    # the base scenario fits nothing: in and out of sample agree
    assert checks.loc[0, "rmse_in_sample"] == checks.loc[0, "rmse_leave_one_out"]
    # out of sample is never better than in sample for the scale factor (least squares)
    assert checks.loc[1, "rmse_leave_one_out"] >= checks.loc[1, "rmse_in_sample"]


def test_the_real_example_matches_its_sources_and_identifies_nothing(england: Bundle) -> None:
    """examples/calibration_published_real.csv: entry posts add up to the totals printed in
    the sources (T&O ST3 143 + 153, Paediatrics ST1 417 + 412, England's 525 Core Surgery CT1
    places in the Oriel extract); calibrated, no parameter is identified, nothing is written,
    and the fit does not beat one scale factor out of sample."""
    path = EXAMPLES / "calibration_published_real.csv"
    raw = pd.read_csv(path)
    totals = raw.groupby("specialty")["entry_posts"].sum()
    assert totals.to_dict() == {"Trauma and Orthopaedic Surgery": 143 + 153,
                                "Paediatrics": 417 + 412, "Core Surgery": 525}
    assert raw["basis"].str.startswith("derived, not published").all()
    fit = calibrate(england, Scenario(), read_published(str(path), england))
    assert fit.written == [] and not fit.beats_scale_factor
    _unchanged(Scenario(), fit.scenario, fit.written)


def test_one_figure_identifies_nothing(england: Bundle) -> None:
    """One published figure cannot pin down five parameters (a hostile-input defect): none is
    identified or written, and there is no out-of-sample check to make."""
    published = pd.DataFrame({"area": ["London"], "specialty": ["Cardiology"],
                              "published_gap": [-6.0], "year": [None]})
    fit = calibrate(england, Scenario(), published)
    assert not fit.parameters["identified"].any() and fit.written == []
    assert fit.checks["rmse_leave_one_out"].iloc[1:].isna().all()
    assert not fit.beats_scale_factor
