"""Outcomes of the programme: where trained specialists settle, and the impact metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from fairshare.analysis.equity import ALL
from fairshare.analysis.monitoring import DEFAULT_THRESHOLD, impact_table, read_metrics
from fairshare.analysis.outcome import (
    DEFAULT_RETENTION,
    outcome_by_area,
    outcome_equity,
    project_outcome,
)
from fairshare.cli.common import (
    CapacityOpt,
    CohortsOpt,
    OutOpt,
    PlanInputs,
    PostsOpt,
    ScenarioOpt,
    app,
    compute_plan,
    console,
    friendly,
    print_written,
    setup,
    show_table,
    with_file_digests,
)
from fairshare.inputs.bundle import Bundle, load_data
from fairshare.publish.outputs import write_results
from fairshare.scenario import Scenario

PlanHorizonOpt = Annotated[int | None, typer.Option(
    "--plan-horizon", help="Last year of the pace-of-change plan (default: the scenario's).")]


@app.command(rich_help_panel="Analysis")
@friendly
def outcome(
    retention: Annotated[float, typer.Option(
        "--retention", min=0, max=1, help="Share of completing trainees who settle where they "
        "trained; the rest settle elsewhere in proportion to need.")] = DEFAULT_RETENTION,
    horizon: Annotated[int | None, typer.Option(
        "--horizon", help="Last projected year (default: the plan's first year + 15); posts "
        "stay at their last plan value after the plan ends.")] = None,
    attrition: Annotated[float, typer.Option(
        "--attrition", min=0, max=1, help="Share of completers who leave the NHS.")] = 0.0,
    lag: Annotated[int | None, typer.Option(
        "--lag", min=0, max=30, help="Years from recruitment to completion (default: each "
        "specialty's "
        "programme length; 0: each year's own posts).")] = None,
    include_core: Annotated[bool, typer.Option(
        "--include-core", help="Count core programmes too (their completers enter higher "
        "training, so they are left out by default).")] = False,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    plan_horizon: PlanHorizonOpt = None,
    capacity: CapacityOpt = None,
    cohorts: CohortsOpt = None,
    out: OutOpt = None,
) -> None:
    """New specialists per 100,000 weighted need by area, plan against status quo (no moves)."""
    bundle, sc, res = compute_plan(
        PlanInputs(posts=posts, scenario=scenario, capacity=capacity, cohorts=cohorts),
        horizon=plan_horizon)
    table = project_outcome(res.plan, res.targets, bundle.specialties, retention=retention,
                            horizon=horizon, attrition=attrition, lag=lag,
                            include_core=include_core,
                            population=float(bundle.population["population"].sum()))
    end = int(table.attrs["horizon"])
    first = int(table.attrs["first_year"])
    view = outcome_by_area(table, end)
    show_table(view, f"New specialists {first}-{end} per 100,000 weighted need (all specialties"
               f"; {retention:.0%} settle where they trained): plan vs status quo",
               ["area", "new_specialists_cumulative", "per_100k_need",
                "per_100k_need_status_quo", "effect_per_100k_need"])
    fairness = outcome_equity(table)
    overall = fairness[(fairness["specialty"] == ALL) & (fairness["year"] == end)].iloc[0]
    change = float(overall["change"])
    verdict = ("no different yet" if abs(change) < 1e-9
               else "fairer" if change < 0 else "less fair")
    console.print(f"Gini of new specialists per need across areas in {end}: "
                  f"{overall['gini_plan']:.3f} with the plan, {overall['gini_status_quo']:.3f} "
                  f"with no moves ({verdict}; lower is fairer).")
    left_out = table.attrs.get("core_programmes_left_out") or []
    if left_out:
        console.print(f"Core programmes left out (their completers enter higher training): "
                      f"{', '.join(left_out)}.")
    console.print("An expected-value projection: fractional specialists, new since "
                  f"{first}; not the consultant stock (see docs/outcome.md).")
    files = write_results(out, {"outcome": table, "outcome_equity": fairness}, bundle, sc,
                          outcome={k: v for k, v in table.attrs.items()},
                          command="outcome")
    print_written(files)


@app.command(rich_help_panel="Analysis")
@friendly
def monitor(
    file: Annotated[Path, typer.Argument(help="Impact metrics (CSV/Excel): local_office (or "
                                         "icb), specialty (or All), year, metric, value.")],
    baseline_year: Annotated[int | None, typer.Option(
        "--baseline-year", help="Compare every series with this year (default: the last year "
        "before the specialty's phase start, else the first year).")] = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", min=0, help="Flag values worse than baseline by more than this share "
        "(0.10 = 10%).")] = DEFAULT_THRESHOLD,
    no_plan: Annotated[bool, typer.Option(
        "--no-plan", help="Skip the plan (no posts_moved_cumulative column).")] = False,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    plan_horizon: PlanHorizonOpt = None,
    out: OutOpt = None,
) -> None:
    """Impact metrics against their baseline, flagging what got worse, beside the posts moved."""
    catalogue = load_data()
    metrics = read_metrics(file, list(catalogue.specialties["specialty"]),
                           catalogue.local_offices, catalogue.icbs)
    if no_plan:
        bundle, sc = setup(posts, scenario, horizon=plan_horizon)
        plan = None
    else:
        bundle, sc, res = compute_plan(PlanInputs(posts=posts, scenario=scenario),
                                       horizon=plan_horizon)
        plan = res.plan
    bundle = with_file_digests(bundle, impact_metrics=file)
    table = impact_table(metrics, baseline_year, plan, threshold=threshold,
                         specialties=bundle.specialties)
    series = table.groupby(["area", "specialty", "metric"]).ngroups
    counts = table["direction"].value_counts()
    console.print(f"{len(table)} values in {series} series: {counts.get('better', 0)} better "
                  f"than baseline, {counts.get('worse', 0)} worse, "
                  f"{counts.get('no change', 0)} unchanged, {counts.get('unknown', 0)} unknown.")
    flagged = table[table["worse_than_baseline"]]
    if flagged.empty:
        console.print(f"No value is worse than its baseline by more than {threshold:.0%}.")
    else:
        view = flagged.assign(percent=flagged["percent_change"].map(_percent),
                              baseline_year=flagged["baseline_year"].astype(str))
        cols = ["area", "specialty", "metric", "year", "value", "baseline_year", "baseline",
                "change", "percent"]
        if plan is not None:
            cols.append("posts_moved_cumulative")
        show_table(view, f"Worse than baseline by more than {threshold:.0%}", cols)
    tables = {"impact": table}
    if plan is not None and not bundle.consultants.empty:
        tables["scarcity_moves"] = _scarcity_moves(plan, bundle, sc)
    files = write_results(out, tables, bundle, sc, metrics_file=str(file),
                          baseline_year=baseline_year, threshold=threshold,
                          command="monitor")
    print_written(files)


def _scarcity_moves(plan: pd.DataFrame, bundle: Bundle, sc: Scenario) -> pd.DataFrame:
    """Posts the plan moves, by the scarcity designation of the area, shown and returned."""
    from fairshare.analysis.monitoring import moves_by_designation
    from fairshare.model.scarcity import scarcity

    moves = moves_by_designation(plan, scarcity(bundle, sc), sc.level)
    show_table(moves, f"Does the plan move posts toward scarce areas? (net posts moved by "
               f"{moves['by_year'].max()}, by the designation of the area and specialty)",
               ["designation", "area_specialties", "posts_received", "posts_given",
                "net_posts"])
    return moves


def _percent(value: float) -> str:
    return "" if pd.isna(value) else f"{value:+.1%}"
