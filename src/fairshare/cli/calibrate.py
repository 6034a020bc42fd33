"""`fairshare calibrate`: fit the free parameters to published gaps (docs/calibrate.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml

from fairshare.cli.common import (
    OutOpt,
    PostsOpt,
    ScenarioOpt,
    app,
    console,
    friendly,
    setup,
    show_table,
)
from fairshare.errors import FairshareError
from fairshare.publish.outputs import write_results

if TYPE_CHECKING:
    from fairshare.analysis.calibrate import Calibration


@app.command(rich_help_panel="Analysis")
@friendly
def calibrate(
    published: Annotated[Path, typer.Option(
        "--published", help="CSV/Excel of published figures: area (local office), specialty, "
        "published_gap (posts; negative = the area gives posts), optionally year.")],
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the extra starting points: "
                                      "same seed, same answer.")] = 0,
    fix: Annotated[list[str] | None, typer.Option(
        "--fix", help="Hold a parameter at a value instead of fitting it, e.g. "
        "--fix specialty_split=0.5 (repeat for several).")] = None,
    out: OutOpt = None,
) -> None:
    """Fit δ, the weight mix, the σ multiplier and the convergence share to published gaps."""
    from fairshare.analysis.calibrate import PARAMETERS, read_published
    from fairshare.analysis.calibrate import calibrate as run_calibrate  # loads scipy: lazily

    bundle, sc = setup(posts, scenario)
    fixed = _parse_fix(fix or [])
    table = read_published(str(published), bundle, free=len(PARAMETERS) - len(fixed))
    result = run_calibrate(bundle, sc, table, seed=seed, fixed=fixed)
    shown = result.parameters.assign(identified=[
        "fixed" if f else "yes" if i else "NO"
        for f, i in zip(result.parameters["fixed"], result.parameters["identified"],
                        strict=True)])
    show_table(shown, "Fitted parameters (within their allowed ranges)",
               ["parameter", "low", "high", "start", "fitted", "std_error", "identified",
                "note"])
    rows = result.residuals.astype({c: "Int64" for c in ("gap_before", "gap_after")})
    year = ["year"] if rows["year"].notna().any() else []
    show_table(rows, "Published and modelled gaps (whole posts)",
               ["area", "specialty", *year, "published_gap", "gap_before", "gap_after",
                "residual_after"])
    console.print(f"root mean square error: {result.rmse_before:.2f} posts with scenario "
                  f"'{sc.name}', {result.rmse_after:.2f} after calibration ({len(table)} rows)")
    show_table(result.checks, "Out of sample: each row left out in turn, refitted on the "
               "others and predicted (fractional gaps, posts)",
               ["model", "parameters", "rmse_in_sample", "rmse_leave_one_out"])
    _verdicts(result)
    body = yaml.safe_dump(result.scenario.model_dump(mode="json", exclude={"uncertainty"}),
                          sort_keys=False, allow_unicode=True)
    files = write_results(out, {"calibration_parameters": result.parameters,
                                "calibration_residuals": result.residuals,
                                "calibration_checks": result.checks}, bundle,
                          result.scenario, published=str(published),
                          rmse_before=result.rmse_before, rmse_after=result.rmse_after,
                          written=result.written,
                          beats_scale_factor=result.beats_scale_factor, command="calibrate",
                          extra_files={"calibrated_scenario.yaml":
                                       _yaml_header(result, published) + body})
    console.print("wrote " + ", ".join(str(f) for f in files))


def _verdicts(result: Calibration) -> None:
    """What a reader must know before using the calibrated scenario."""
    params = result.parameters
    for _, row in params[params["note"].str.startswith("at the")].iterrows():
        console.print(f"[yellow]warning:[/] {row['parameter']} = {row['fitted']:.3g} is "
                      f"{row['note']}; not written")
    unpinned = params.loc[~params["identified"] & ~params["fixed"], "parameter"].tolist()
    if unpinned:
        console.print("[yellow]not pinned down by these figures:[/] " + ", ".join(unpinned)
                      + " (see the note column); they keep the base scenario's values")
    console.print("written into the calibrated scenario: "
                  + (", ".join(result.written) or "nothing (it is the base scenario)"))
    if result.checks["rmse_leave_one_out"].isna().any():
        console.print("[yellow]warning:[/] the out-of-sample check needs at least two "
                      "published figures")
    elif not result.beats_scale_factor:
        console.print("[yellow]warning:[/] out of sample the fit does no better than one scale "
                      "factor on the base scenario's gaps: the figures identify a scale, not "
                      "the model's structure")


def _yaml_header(result: Calibration, published: Path) -> str:
    """Comments that travel with the calibrated scenario file."""
    kept = [n for n in result.parameters["parameter"] if n not in result.written]
    checks = result.checks.set_index("parameters")["rmse_leave_one_out"]
    lines = [
        f"Calibrated by `fairshare calibrate --published {published.name}`.",
        "Written (identified by the published figures): "
        + (", ".join(result.written) or "none"),
        "Kept at the base scenario's values (not identified, at a bound, or fixed): "
        + (", ".join(kept) or "none"),
        f"Leave-one-out RMSE: fit {checks.iloc[-1]:.2f} posts, one scale factor "
        f"{checks.iloc[1]:.2f}: the fit "
        + ("beats" if result.beats_scale_factor else "does NOT beat")
        + " a single scale factor out of sample.",
    ]
    return "".join(f"# {line}\n" for line in lines)


def _parse_fix(items: list[str]) -> dict[str, float]:
    """``name=value`` pairs; a malformed one is a clear error."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise FairshareError(f"--fix '{item}': expected name=value, e.g. "
                                 "specialty_split=0.5")
    return out
