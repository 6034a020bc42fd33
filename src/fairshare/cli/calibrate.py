"""`fairshare calibrate`: fit the free parameters to published gaps (docs/calibrate.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    params = result.parameters
    unpinned = params.loc[~params["identified"] & ~params["fixed"], "parameter"].tolist()
    if unpinned:
        console.print("[yellow]not pinned down by these figures:[/] " + ", ".join(unpinned)
                      + " (see the note column; their fitted values are one of many)")
    fitted = yaml.safe_dump(result.scenario.model_dump(mode="json", exclude={"uncertainty"}),
                            sort_keys=False)
    files = write_results(out, {"calibration_parameters": result.parameters,
                                "calibration_residuals": result.residuals}, bundle,
                          result.scenario, published=str(published),
                          rmse_before=result.rmse_before, rmse_after=result.rmse_after,
                          command="calibrate",
                          extra_files={"calibrated_scenario.yaml": fitted})
    console.print("wrote " + ", ".join(str(f) for f in files))


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
