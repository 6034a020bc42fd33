"""Stored runs: the main job, the run registry, and comparing two runs."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from fairshare.cli.common import (
    DatabaseOpt,
    OutOpt,
    PlanInputs,
    PostsOpt,
    app,
    compute_plan,
    console,
    findings_table,
    friendly,
    plan_inputs,
    print_written,
    show_table,
)
from fairshare.errors import FairshareError, reveal
from fairshare.inputs.bundle import load_data
from fairshare.model.targets import targets as compute_targets
from fairshare.names import match_name
from fairshare.publish.excel import write_workbook
from fairshare.publish.outputs import check_writable, run_metadata, write_output
from fairshare.publish.tables import phase_impact
from fairshare.scenario import Scenario
from fairshare.store.compare import (
    COMPARABLE,
    Comparison,
    area_changes,
    compare_results,
    compare_runs,
    school_table,
    table_spec,
)
from fairshare.store.runs import RunStore

if TYPE_CHECKING:
    from fairshare.store.sql_runs import SqlRunStore

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Run store folder (default: $FAIRSHARE_HOME or "
                 "~/.local/share/fairshare)."),
]


def open_store(store: Path | None, database: str | None) -> RunStore | SqlRunStore:
    """The file store as always, or the database one when ``--database`` or the env names it."""
    from fairshare.store.sql_runs import open_run_store  # SQLAlchemy loads only for runs

    return open_run_store(database, store)

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
    out: OutOpt = None,
    store: StoreOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """The main job: targets + plan + tables, stored as a run you can list and compare."""
    runs_store = open_store(store, database)  # a database is reached before minutes of work
    if isinstance(runs_store, RunStore):
        check_writable(runs_store.runs_dir / "new-run")  # before minutes of work, not after
    if name is not None and any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise FairshareError(f"--name {reveal(name)!r}: a run name cannot hold control or "
                             "invisible characters")
    bundle, sc, res = compute_plan(inputs)
    tables = {"targets": res.targets, "plan": res.plan, "findings": findings_table(res),
              "fill": res.fill}
    tables |= _equity_tables(res.targets, res.plan)
    meta = run_metadata(bundle, sc, plan_status=res.status)
    record = runs_store.save(name or sc.name, meta, tables)
    summary = res.targets.groupby("area", as_index=False)[["current", "target"]].sum()
    horizon_posts = res.plan[res.plan["year"] == res.plan["year"].max()]
    summary["posts_at_horizon"] = summary["area"].map(horizon_posts.groupby("area")["posts"].sum())
    summary["gap"] = summary["target"] - summary["current"]
    summary["remaining_gap"] = summary["target"] - summary["posts_at_horizon"]
    show_table(summary.sort_values("gap"), f"Run {record.label}: targets and the plan to "
               f"{sc.horizon}", ["area", "current", "target", "gap", "posts_at_horizon",
                                 "remaining_gap"])
    console.print(f"saved run [bold]{record.label}[/] (scenario {sc.digest()}, plan "
                  f"{res.status}, {len(res.findings)} findings) in {runs_store.root}")
    files = write_output(out, tables, meta | {"run_id": record.id}, command="run",
                         name=record.name)
    print_written(files)


def _equity_tables(targets: pd.DataFrame, plan: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Equity before and after the plan, stored with the run."""
    from fairshare.analysis.equity import equity_before_after

    return {"equity": equity_before_after(targets, plan)}


@runs_app.callback()
@friendly
def runs_list(ctx: typer.Context, store: StoreOpt = None, database: DatabaseOpt = None) -> None:
    """Every saved run, newest first (subcommands: show, export, delete, cleanup)."""
    if ctx.invoked_subcommand is not None:
        return
    s = open_store(store, database)
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
def runs_show(ref: str, store: StoreOpt = None, database: DatabaseOpt = None) -> None:
    """One run: what it was made from, and its tables."""
    s = open_store(store, database)
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
    console.print("input files (SHA-256):")
    for key, digest in sorted(meta.get("input_digests", {}).items()):
        console.print(f"  {key}: {str(digest)[:16]}")
    console.print("tables: " + ", ".join(rec.tables))


@runs_app.command("export")
@friendly
def runs_export(ref: str, out: OutOpt = None, store: StoreOpt = None,
                database: DatabaseOpt = None) -> None:
    """Write a run's tables as CSV with run.json and columns.csv (or one table: --out x.csv)."""
    print_written(open_store(store, database).export(ref, out))


@runs_app.command("delete")
@friendly
def runs_delete(ref: str, yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
                store: StoreOpt = None, database: DatabaseOpt = None) -> None:
    """Delete a run (registry entry, then its files)."""
    s = open_store(store, database)
    rec = s.get(ref)
    if not yes and not typer.confirm(f"delete run {rec.label}?"):
        raise typer.Exit(1)
    s.delete(rec.id)
    console.print(f"deleted {rec.label}")


@runs_app.command("cleanup")
@friendly
def runs_cleanup(store: StoreOpt = None, database: DatabaseOpt = None) -> None:
    """Remove folders left by interrupted saves or deletes."""
    console.print(f"removed {open_store(store, database).cleanup()} orphan folder(s)")


@app.command(rich_help_panel="Runs")
@friendly
def compare(
    previous: Annotated[str, typer.Argument(help="Run id, id prefix or name.")],
    current: Annotated[str | None, typer.Argument(
        help="Run to compare with; omit to re-run PREVIOUS's scenario on today's data.")] = None,
    table: Annotated[str, typer.Option(help="Which table to compare: "
                                       + ", ".join(COMPARABLE) + ".")] = "targets",
    posts: PostsOpt = None,
    out: OutOpt = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write a workbook with the "
                                              "phase impact table.")] = None,
    area: Annotated[str | None, typer.Option("--area", help="Only this area (name or code, "
                                             "any case; default: every area).")] = None,
    store: StoreOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Previous vs current per area and by school, and what explains the change."""
    s = open_store(store, database)
    spec = table_spec(table)
    if current is None:
        if table != "targets":
            raise FairshareError(f"--table {table} compares two stored runs: give both "
                                 "PREVIOUS and CURRENT (re-running compares targets)")
        prev = s.get(previous)
        meta = s.metadata(prev.id)
        sc = Scenario.model_validate(meta["scenario"])
        bundle = load_data(posts)
        cur_meta = run_metadata(bundle, sc)
        cmp = compare_results(s.load_table(prev.id, table), compute_targets(bundle, sc),
                              meta, cur_meta, previous_label=prev.label,
                              current_label="today's data")
        metas = (meta, cur_meta)
    else:
        cmp = compare_runs(s, previous, current, table=table)
        metas = (s.metadata(s.get(previous).id), s.metadata(s.get(current).id))
    if area is not None and "area" in cmp.table.columns:
        codes = _area_codes(s, previous)
        area = match_name(area, cmp.table["area"].unique(), codes=codes, what="area",
                          partial=True)
        cmp = _only_area(cmp, area)
    _show_comparison(cmp, area, spec.summary)
    if out is not None or xlsx is None:
        files = write_output(out, cmp.tables(), _comparison_meta(cmp, *metas),
                             command="compare", name=f"{table}")
        print_written(files)
    if xlsx is not None:
        national = cmp.redistribution if area is None else None
        _impact_workbook(s, previous, current, xlsx, area, cmp.explanation, national)


def _area_codes(s: RunStore | SqlRunStore, ref: str) -> dict[str, str]:
    """Area code -> name from a stored run's targets, so `--area LDN` works."""
    rec = s.get(ref)
    if "targets" not in rec.tables:
        return {}
    t = s.load_table(rec.id, "targets")
    if "area_code" not in t.columns:
        return {}
    return dict(zip(t["area_code"].astype(str), t["area"].astype(str), strict=False))


def _only_area(cmp: Comparison, area: str) -> Comparison:
    """The comparison restricted to one area (school tables recomputed from its rows)."""
    rows = cmp.table[cmp.table["area"] == area].reset_index(drop=True)
    by_school = school_table(rows, cmp.value) if cmp.value else cmp.by_school.iloc[0:0]
    moves = (school_table(rows, "gap", positive_only=True)
             if cmp.redistribution is not None else None)
    return replace(cmp, table=rows, by_school=by_school, redistribution=moves)


def _show_comparison(cmp: Comparison, area: str | None, summary: str | None) -> None:
    """Per-area (or one area's per-specialty) changes first, then school totals."""
    where = area or "every area"
    changes = area_changes(cmp.table, area)
    if changes.empty:
        console.print(f"No value changed {'for ' + area if area else 'in any area'} between "
                      f"{cmp.previous} and {cmp.current}.", highlight=False)
    else:
        show_table(changes, f"{cmp.previous} → {cmp.current}: what changed for {where} "
                   f"({len(changes)} rows with a change, largest first)",
                   list(changes.columns))
    moves = cmp.redistribution
    if moves is not None and len(moves):
        total = moves.iloc[-1]
        if moves["Change"].any():
            shown = moves[(moves["Change"] != 0) | (moves["School"] == total["School"])]
            show_table(shown, f"Posts to move (sum of positive gaps) for {where}: the "
                       "specialties that changed", list(moves.columns))
        else:
            console.print(f"Posts to move (sum of positive gaps) for {where}: "
                          f"{total['Current']:,}, unchanged.")
    if summary and not cmp.by_school.empty:
        if cmp.by_school["Change"].any():
            show_table(cmp.by_school, f"{summary} by school for {where}",
                       list(cmp.by_school.columns))
        else:
            console.print(f"{summary.capitalize()}s by school for {where}: unchanged (posts "
                          "moved between areas, national totals the same).")
    if cmp.explanation:
        console.print("[bold]What changed:[/]")
        for line in cmp.explanation:
            console.print(f"  - {line}")
    else:
        console.print("no differences in scenario, inputs, data or version")


def _comparison_meta(cmp: Comparison, previous: dict[str, Any],
                     current: dict[str, Any]) -> dict[str, Any]:
    """run.json of a comparison: both runs' metadata and what explains the difference."""
    def name(meta: dict[str, Any]) -> str:
        sc = meta.get("scenario")
        return str(sc.get("name", "")) if isinstance(sc, dict) else ""

    basis = {str(previous.get("establishment")), str(current.get("establishment"))}
    return {"created": datetime.now(UTC).isoformat(timespec="seconds"),
            "compared": {"previous": cmp.previous, "current": cmp.current},
            "establishment": " | ".join(sorted(basis)),
            "scenario": {"name": f"{name(previous)} -> {name(current)}"},
            "scenario_digest": f"{previous.get('scenario_digest')} -> "
                               f"{current.get('scenario_digest')}",
            "what_changed": cmp.explanation,
            "previous_run": previous, "current_run": current}


def _impact_workbook(s: RunStore | SqlRunStore, previous: str, current: str | None, path: Path,
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
