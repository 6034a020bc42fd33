"""Stored runs: the main job, the run registry, and comparing two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from fairshare.cli.common import (
    OutOpt,
    PlanInputs,
    PostsOpt,
    app,
    compute_plan,
    console,
    findings_table,
    friendly,
    plan_inputs,
    show_table,
)
from fairshare.errors import FairshareError
from fairshare.inputs.bundle import load_data
from fairshare.model.targets import targets as compute_targets
from fairshare.publish.excel import write_workbook
from fairshare.publish.outputs import run_metadata, write_csv, write_results
from fairshare.publish.tables import phase_impact
from fairshare.scenario import Scenario
from fairshare.store.compare import compare_results, compare_runs
from fairshare.store.runs import RunStore

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Run store folder (default: $FAIRSHARE_HOME or "
                 "~/.local/share/fairshare)."),
]

runs_app = typer.Typer(help="Saved runs: list, show, export, delete, cleanup.",
                       no_args_is_help=False, invoke_without_command=True)
app.add_typer(runs_app, name="runs", rich_help_panel="Runs")


@app.command(rich_help_panel="Runs")
@friendly
@plan_inputs
def run(
    inputs: PlanInputs,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name of the run "
                                             "(default: the scenario's name).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the tables as "
                                             "CSV here.")] = None,
    store: StoreOpt = None,
) -> None:
    """The main job: targets + plan + tables, stored as a run you can list and compare."""
    bundle, sc, res = compute_plan(inputs)
    tables = {"targets": res.targets, "plan": res.plan, "findings": findings_table(res)}
    tables |= _equity_tables(res.targets, res.plan)
    meta = run_metadata(bundle, sc, plan_status=res.status)
    record = RunStore(store).save(name or sc.name, meta, tables)
    summary = res.targets.groupby("area", as_index=False)[["current", "target"]].sum()
    horizon_posts = res.plan[res.plan["year"] == res.plan["year"].max()]
    summary["posts_at_horizon"] = summary["area"].map(horizon_posts.groupby("area")["posts"].sum())
    summary["gap"] = summary["target"] - summary["current"]
    summary["remaining_gap"] = summary["target"] - summary["posts_at_horizon"]
    show_table(summary.sort_values("gap"), f"Run {record.label}: targets and the plan to "
               f"{sc.horizon}", ["area", "current", "target", "gap", "posts_at_horizon",
                                 "remaining_gap"])
    console.print(f"saved run [bold]{record.label}[/] (scenario {sc.digest()}, plan "
                  f"{res.status}, {len(res.findings)} findings) in {RunStore(store).root}")
    if out is not None:
        files = write_results(out, tables, bundle, sc, run_id=record.id)
        console.print("wrote " + ", ".join(str(f) for f in files))


def _equity_tables(targets: pd.DataFrame, plan: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Equity before and after the plan, stored with the run."""
    from fairshare.analysis.equity import equity_before_after

    return {"equity": equity_before_after(targets, plan)}


@runs_app.callback()
@friendly
def runs_list(ctx: typer.Context, store: StoreOpt = None) -> None:
    """Every saved run, newest first (subcommands: show, export, delete, cleanup)."""
    if ctx.invoked_subcommand is not None:
        return
    s = RunStore(store)
    df = s.list()
    if df.empty:
        console.print("no runs saved yet: `fairshare run` makes one")
        return
    meta = [s.metadata(run_id) for run_id in df["id"]]
    view = pd.DataFrame({
        "id": df["id"],
        "name": df["name"],
        "when": df["created"].str.slice(0, 16).str.replace("T", " "),
        "scenario": df["scenario_digest"],
        "inputs": df["inputs_digest"],
        "establishment": [_short_establishment(m) for m in meta],
        "data": [m.get("data_source", "embedded England data") for m in meta],
        "version": df["version"],
    })
    show_table(view, "Saved runs (`fairshare runs show ID` for every parameter and vintage)",
               list(view.columns))


def _short_establishment(meta: dict[str, Any]) -> str:
    """The establishment in a few words for the runs table (`runs show` gives it in full)."""
    if meta.get("demonstration_baseline"):
        return "DEMONSTRATION baseline"
    label = str(meta.get("establishment", ""))
    if label.startswith("Public baseline"):
        return "public baseline " + label.split(",")[1].split("(")[0].strip()
    return label if len(label) <= 30 else label[:29] + "…"


@runs_app.command("show")
@friendly
def runs_show(ref: str, store: StoreOpt = None) -> None:
    """One run: what it was made from, and its tables."""
    s = RunStore(store)
    rec = s.get(ref)
    meta = s.metadata(rec.id)
    console.print(f"[bold]{rec.label}[/] created {rec.created}, fairshare {rec.version}")
    console.print(f"establishment: {meta.get('establishment')}")
    console.print(f"data: {meta.get('data_source', 'embedded England data')}")
    for key, vintage in meta.get("data_vintages", {}).items():
        console.print(f"  {key}: {vintage}")
    console.print(f"scenario {rec.scenario_name} ({rec.scenario_digest}); inputs "
                  f"{rec.inputs_digest}")
    for key, value in sorted(meta.get("scenario", {}).items()):
        console.print(f"  {key}: {value}")
    console.print("tables: " + ", ".join(rec.tables))


@runs_app.command("export")
@friendly
def runs_export(ref: str, out: OutOpt = Path("results"), store: StoreOpt = None) -> None:
    """Write a run's tables as CSV plus run.json."""
    files = RunStore(store).export(ref, out)
    console.print("wrote " + ", ".join(str(f) for f in files))


@runs_app.command("delete")
@friendly
def runs_delete(ref: str, yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
                store: StoreOpt = None) -> None:
    """Delete a run (registry entry, then its files)."""
    s = RunStore(store)
    rec = s.get(ref)
    if not yes and not typer.confirm(f"delete run {rec.label}?"):
        raise typer.Exit(1)
    s.delete(rec.id)
    console.print(f"deleted {rec.label}")


@runs_app.command("cleanup")
@friendly
def runs_cleanup(store: StoreOpt = None) -> None:
    """Remove folders left by interrupted saves or deletes."""
    console.print(f"removed {RunStore(store).cleanup()} orphan folder(s)")


@app.command(rich_help_panel="Runs")
@friendly
def compare(
    previous: Annotated[str, typer.Argument(help="Run id, id prefix or name.")],
    current: Annotated[str | None, typer.Argument(
        help="Run to compare with; omit to re-run PREVIOUS's scenario on today's data.")] = None,
    table: Annotated[str, typer.Option(help="Which table to compare.")] = "targets",
    posts: PostsOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the comparison as "
                                             "CSV here.")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write a workbook with the "
                                              "phase impact table.")] = None,
    area: Annotated[str | None, typer.Option("--area", help="Phase impact for one area "
                                             "(default: England).")] = None,
    store: StoreOpt = None,
) -> None:
    """Previous vs current targets, gaps and school totals, and what explains the change."""
    s = RunStore(store)
    if current is None:
        prev = s.get(previous)
        meta = s.metadata(prev.id)
        sc = Scenario.model_validate(meta["scenario"])
        bundle = load_data(posts)
        cmp = compare_results(s.load_table(prev.id, table), compute_targets(bundle, sc),
                              meta, run_metadata(bundle, sc), previous_label=prev.label,
                              current_label="today's data")
    else:
        cmp = compare_runs(s, previous, current, table=table)
    show_table(cmp.by_school, f"{cmp.previous} → {cmp.current}: {cmp.value} by school",
               list(cmp.by_school.columns))
    if cmp.redistribution is not None:
        show_table(cmp.redistribution, "Posts to move (sum of positive gaps), previous vs "
                   "current", list(cmp.redistribution.columns))
    if cmp.explanation:
        console.print("[bold]What changed:[/]")
        for line in cmp.explanation:
            console.print(f"  - {line}")
    else:
        console.print("no differences in scenario, inputs, data or version")
    if out is not None:
        files = [write_csv(df, out / f"{name}.csv") for name, df in cmp.tables().items()]
        console.print("wrote " + ", ".join(str(f) for f in files))
    if xlsx is not None:
        national = cmp.redistribution if area is None else None
        _impact_workbook(s, previous, current, xlsx, area, cmp.explanation, national)


def _impact_workbook(s: RunStore, previous: str, current: str | None, path: Path,
                     area: str | None, explanation: list[str],
                     national: pd.DataFrame | None) -> None:
    """The programme's "previous vs current numbers" workbook for two stored runs.

    For one area the numbers are its targets per specialty; nationally (where each specialty's
    total never changes) they are the posts to redistribute, the sum of positive gaps.
    """
    if current is None:
        raise FairshareError("--xlsx compares two stored runs: give both PREVIOUS and CURRENT")
    prev, cur = s.get(previous), s.get(current)
    before, after = s.load_table(prev.id, "targets"), s.load_table(cur.id, "targets")
    impact = national if national is not None else phase_impact(before, after, area=area)
    about = dict(s.metadata(cur.id)) | {"compared_with": prev.label, "what_changed": explanation}
    plan = s.load_table(cur.id, "plan") if "plan" in cur.tables else None
    written = write_workbook(path, targets=after, plan=plan, about=about, areas=[],
                             impact=impact)
    console.print(f"wrote {written}")
