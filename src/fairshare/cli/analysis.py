"""Uncertainty, sensitivity and equity: how sure the targets are and how fair the plan is."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from fairshare.analysis.equity import equity_before_after, equity_check
from fairshare.analysis.sensitivity import sensitivity as run_sensitivity
from fairshare.analysis.uncertainty import monte_carlo_intervals, monte_carlo_plan
from fairshare.cli.common import (
    HorizonOpt,
    OutOpt,
    PlanInputs,
    PostsOpt,
    ScenarioOpt,
    app,
    compute_plan,
    console,
    friendly,
    plan_inputs,
    print_written,
    setup,
    show_table,
)
from fairshare.errors import FairshareError
from fairshare.names import match_name
from fairshare.publish.outputs import write_results


@app.command(rich_help_panel="Analysis")
@friendly
def uncertainty(
    draws: Annotated[int, typer.Option("--draws", min=1, max=1_000_000,
                                       help="Monte Carlo draws.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1,
                                      help="Seed: same seed, same answer.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="Local processes.")] = 1,
    dask: Annotated[str | None, typer.Option("--dask", help="Dask scheduler address "
                                             "(tcp://host:port) or 'local'.")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Plan every draw too: intervals on the "
                                       "gap still open at the horizon (slow: use --dask).")]
    = False,
    horizon: HorizonOpt = None,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    out: OutOpt = None,
) -> None:
    """Intervals on targets and gaps: Monte Carlo over judgements and structural choices.

    Seeded draws over δ, weights, σ (multiplier and tier), projections and the structural
    choices (population base, convergence, baseline corrections); every interval says what it
    covers."""
    bundle, sc = setup(posts, scenario, horizon=horizon)
    client = _dask_client(dask)
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("Monte Carlo draws", total=draws)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if plan:
            df = monte_carlo_plan(bundle, sc, sc.uncertainty, draws=draws, seed=seed,
                                  workers=workers, progress=progress, dask_client=client)
        else:
            res = monte_carlo_intervals(bundle, sc, sc.uncertainty, draws=draws, seed=seed,
                                        workers=workers, progress=progress,
                                        dask_client=client)
    if client is not None:
        client.close()
    if plan:
        console.print(f"[bold]What the intervals cover:[/] {df.attrs['coverage']}")
        view = df.groupby("area", as_index=False)[[c for c in df.columns if c.startswith(
            "remaining_gap")]].sum()
        show_table(view.sort_values("area"), f"Gap still open in {sc.horizon} ({draws:,} "
                   f"planned draws, seed {seed})", list(view.columns))
        files = write_results(out, {"uncertainty_plan": df}, bundle, sc, draws=draws,
                              seed=seed, command="uncertainty")
        print_written(files)
        return
    df, areas = res.cells, res.areas
    cols = ["area", "current", "gap", "gap_p5", "gap_p50", "gap_p95"]
    cols += [c for c in ("aim_gap_p5", "aim_gap_p50", "aim_gap_p95") if c in areas.columns]
    show_table(areas.sort_values("area"), f"Net gap over all specialties with 90% intervals "
               f"({draws:,} draws, seed {seed}; each area's own percentiles over draws)", cols)
    console.print(f"[bold]What the intervals cover:[/] {res.coverage}")
    unsure = df[(df["p_gives"] > 0.05) & (df["p_receives"] > 0.05)]
    console.print(f"{len(unsure)} area-specialty pairs could either give or receive "
                  "(both more than 5% likely); see uncertainty.csv.")
    for note in res.notes:
        console.print(f"[yellow]note:[/] {note}")
    files = write_results(out, {"uncertainty": df, "uncertainty_areas": areas}, bundle, sc,
                          draws=draws, seed=seed, command="uncertainty")
    print_written(files)


def _dask_client(address: str | None) -> Any:
    """A Dask client for a scheduler address, or a LocalCluster for 'local'."""
    if address is None:
        return None
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # Dask is an optional extra: only --dask uses it
        raise FairshareError("--dask needs Dask, an optional extra that is not installed: "
                             "pip install 'fairshare[dask]' (or run without --dask)") from exc
    if address == "local":
        return Client(LocalCluster(processes=True, threads_per_worker=1))
    return Client(address)


@app.command(rich_help_panel="Analysis")
@friendly
def sensitivity(
    method: Annotated[str, typer.Option(help="morris (screening) or sobol.")] = "morris",
    n: Annotated[int | None, typer.Option("--n", min=1, max=100_000,
                                          help="Base sample size (SALib N).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1)] = 0,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    out: OutOpt = None,
) -> None:
    """Which parameters move the targets most (SALib Morris screening; Sobol on request)."""
    if method not in ("morris", "sobol"):
        raise FairshareError(f"--method must be morris or sobol, not {method!r}")
    bundle, sc = setup(posts, scenario)
    with console.status(f"{method} sensitivity analysis…"):
        res = run_sensitivity(bundle, sc, sc.uncertainty, method=method,  # type: ignore[arg-type]
                              n=n, seed=seed)
    wide = {"affected targets", "affected areas"}
    cols = [c for c in res.ranking.columns if c.replace("_", " ") not in wide]
    show_table(res.ranking, f"Parameters ranked by influence on the targets ({res.method}, "
               f"{res.runs:,} runs; full detail in sensitivity.csv)", cols)
    files = write_results(out, {"sensitivity": res.ranking, "sensitivity_detail": res.detail},
                          bundle, sc, method=res.method, seed=seed,
                          command="sensitivity")
    print_written(files)


@app.command(rich_help_panel="Analysis")
@friendly
@plan_inputs
def equity(
    inputs: PlanInputs,
    specialty: Annotated[str, typer.Option(help="A specialty, or All.")] = "All",
    out: OutOpt = None,
) -> None:
    """Spread of posts per weighted population across areas, by year, before and after the plan."""
    bundle, sc, res = compute_plan(inputs)
    table = equity_before_after(res.targets, res.plan)
    specialty = match_name(specialty, table["specialty"].unique(), what="specialty",
                           listing="see `fairshare specialties` (or All)")
    view = table[table["specialty"] == specialty]
    # shown with the gap's sign (+ receives), as every percentage gap; the CSV keeps distance
    view = view.assign(gap_share_furthest_above=-view["max_distance"],
                       gap_share_furthest_below=-view["min_distance"])
    show_table(view, f"Equity: {specialty} (Gini and CV of posts per fair share; lower is "
               "fairer)", ["stage", "year", "gini", "cv", "gap_share_furthest_above",
                           "gap_share_furthest_below", "share_within_5pct"])
    for message in equity_check(res.targets, res.plan):
        console.print(f"[yellow]•[/] {message}")
    files = write_results(out, {"equity": table}, bundle, sc, command="equity")
    print_written(files)
