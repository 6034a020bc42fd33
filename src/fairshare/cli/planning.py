"""The pace-of-change plan, the deanery tables and the Excel workbook."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import pandas as pd
import typer

from fairshare.cli.common import (
    REPORT_DRAWS,
    DrawsOpt,
    OutOpt,
    PlanInputs,
    app,
    compute_plan,
    console,
    findings_table,
    friendly,
    plan_inputs,
    print_written,
    quick_intervals,
    show_fill,
    show_findings,
    show_table,
)
from fairshare.errors import FairshareError
from fairshare.inputs.bundle import Bundle
from fairshare.io import safe_filename
from fairshare.model.pipeline import findings_groups
from fairshare.model.targets import pieces
from fairshare.model.targets import targets as compute_targets
from fairshare.names import match_name
from fairshare.publish.excel import write_workbook
from fairshare.publish.outputs import run_metadata, write_output, write_results
from fairshare.publish.tables import by_icb, by_level, one_year, pace_of_change, year_to_show
from fairshare.scenario import Scenario
from fairshare.training_year import RECONSTRUCTION, first_year_to_come, year_status
from fairshare.vocabulary import Level

if TYPE_CHECKING:
    from fairshare.model.pipeline import PlanOutput

@app.command("plan", rich_help_panel="Targets and plan")
@friendly
@plan_inputs
def plan_cmd(
    inputs: PlanInputs,
    elastic: Annotated[bool, typer.Option("--elastic", help="Always return a plan, "
                                          "reporting every relaxed constraint.")] = False,
    require_target_by: Annotated[int | None, typer.Option(
        "--require-target-by", help="Every phased area must be at target by this year; "
        "infeasible plans say why.")] = None,
    pace: Annotated[str | None, typer.Option(
        "--pace", help="glide (default: each gap spread evenly from its phase start to "
        "--glide-until, 2037 by default) or fastest (as fast as vacancies and capacity "
        "allow).")] = None,
    min_posts: Annotated[Path | None, typer.Option(
        "--min-posts", help="Minimum programme size file: local_office (or icb), specialty, "
        "min_posts. Default: one trainee per programme year (docs/plan.md).")] = None,
    level: Annotated[str, typer.Option(help="local_office, region (sums of local offices) or "
                                       "icb (planned directly over ICBs).")] = "local_office",
    out: OutOpt = None,
) -> None:
    """The multi-year pace-of-change plan: every specialty from its phase start to the horizon."""
    if pace not in (None, "glide", "fastest"):
        raise FairshareError(f"--pace must be glide or fastest, not {pace!r}")
    if level not in ("local_office", "region", "icb"):
        raise FairshareError(f"--level must be local_office, region or icb, not {level!r}")
    plan_level = cast(Level, "icb" if level == "icb" else "local_office")
    bundle, sc, res = compute_plan(inputs, min_posts=min_posts, level=plan_level,
                                   report_level=cast(Level, level),
                                   elastic=elastic or None,
                                   require_target_by=require_target_by, pace=pace)
    if level == "icb" and bundle.piece_posts.empty:
        console.print("[yellow]Current posts per ICB are estimated[/] (local office posts split "
                      "by population): give --posts per ICB for a plan on real ICB posts.")
    table = plan_at_level(bundle, sc, res, level)
    yearly = table.groupby("year", as_index=False).agg(
        moved=("redistribution", lambda s: int(s.clip(lower=0).sum())),
        expansion=("expansion", "sum"))
    yearly["year_status"] = yearly["year"].map(lambda y: year_status(int(y), date.today()))
    show_table(yearly, "Posts moved per year (all specialties)",
               ["year", "year_status", "moved", "expansion"])
    last = table[table["year"] == table["year"].max()]
    by_area = last.groupby("area", as_index=False)[["target", "posts"]].sum()
    start = res.targets.groupby("area")["current"].sum()
    first = table[table["year"] == table["year"].min()]
    start = (first["posts"] - first["redistribution"]).groupby(first["area"]).sum()
    by_area["current"] = by_area["area"].map(start)
    by_area["moved"] = by_area["posts"] - by_area["current"]
    by_area["gap"] = by_area["target"] - by_area["posts"]
    show_table(by_area.sort_values("gap"), f"By {int(last['year'].max())}: posts after the "
               "plan and remaining gap", ["area", "current", "moved", "posts", "target", "gap"])
    findings = findings_table(res)
    groups = findings_groups(findings)
    if len(findings):
        show_findings(findings, groups)
    stats = res.stats
    console.print(f"status: {res.status}; solver: {stats.get('solve_seconds', 0):.2f} s, "
                  f"{stats.get('n_vars', '?')} variables, {stats.get('n_constraints', '?')} "
                  "constraints")
    outputs = {"targets": res.targets, "plan": table, "findings": findings,
               "findings_groups": groups, "fill": res.fill}
    show_fill(res.fill, sc.fill_warning_below)
    if not res.unplaced.empty:
        funded = sum(t.posts for t in sc.expansion)
        console.print(f"[yellow]{int(res.unplaced['posts'].sum()):,} of {funded:,} expansion "
                      "posts could not be placed[/] (no area below target with spare "
                      "supervision capacity); see unplaced_expansion.csv")
        outputs["unplaced_expansion"] = res.unplaced
    files = write_results(out, outputs, bundle, sc, plan_status=res.status,
                          command="plan")
    print_written(files)


@app.command(rich_help_panel="Targets and plan")
@friendly
@plan_inputs
def tables(
    inputs: PlanInputs,
    area: Annotated[str, typer.Option("--area", help="Local office, region or ICB (name, code "
                                      "or a unique part of the name).")],
    level: Annotated[str, typer.Option(help="local_office, region (sums of local offices) or "
                                       "icb (planned directly over ICBs).")] = "local_office",
    year: Annotated[int | None, typer.Option("--year", help="The one-year table for this "
                                             "year.")] = None,
    pace: Annotated[bool, typer.Option("--pace", help="The pace-of-change table.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also write the table: a file (.csv, .parquet, .json) or a "
        "folder (with run.json and columns.csv).")] = None,
) -> None:
    """The deanery tables: one year for an area, or the pace of change across the plan."""
    if level not in ("local_office", "region", "icb"):
        raise FairshareError(f"--level must be local_office, region or icb, not {level!r}")
    bundle, sc, res = compute_plan(inputs, level="icb" if level == "icb" else "local_office",
                                   report_level=cast(Level, level))
    plan = plan_at_level(bundle, sc, res, level)
    match = match_area(plan, area, area_codes(bundle, level))
    if pace:
        tgt = (res.targets if level in ("local_office", "icb")
               else compute_targets(bundle, sc, cast(Level, level)))
        df = pace_of_change(plan, tgt, match)
        title = f"{match}: pace of change ({sc.name})"
    else:
        yr = year if year is not None else year_to_show(plan, first_year_to_come(date.today()))
        df = one_year(plan, match, yr)
        past = year_status(yr, date.today()) == RECONSTRUCTION
        title = (f"{match}: redistribution and expansion in {yr} ({sc.name})"
                 + (f" — a RECONSTRUCTION: recruitment for {yr} is past, these are not moves "
                    "still to make" if past else ""))
    show_table(df, title, list(df.columns))
    if out is not None:
        kind = "pace" if pace else str(yr)
        name = f"{safe_filename(match)}_{kind}"
        meta = run_metadata(bundle, sc, plan_status=res.status, area=match)
        print_written(write_output(out, {name: df}, meta, command="tables", name=name))


@app.command(rich_help_panel="Targets and plan")
@friendly
@plan_inputs
def export(
    inputs: PlanInputs,
    xlsx: Annotated[Path, typer.Option("--xlsx", help="Workbook to write.")] = Path("plan.xlsx"),
    area: Annotated[list[str] | None, typer.Option("--area", help="Area sheets to include "
                                                   "(default: all).")] = None,
    year: Annotated[int | None, typer.Option(help="Year of the one-year sheets.")] = None,
    draws: DrawsOpt = REPORT_DRAWS,
) -> None:
    """Every table in one formatted Excel workbook, with an "About this run" sheet.

    The workbook also holds the intervals on the targets and gaps, and what they cover."""
    # Every sheet gives the basis of its numbers and the scenario; the file appears whole or
    # not at all, even when the command is stopped (Ctrl-C, kill) while it writes.
    from fairshare.cli.signals import stop_cleanly

    with stop_cleanly(str(xlsx)):
        bundle, sc, res = compute_plan(inputs)
        about = run_metadata(bundle, sc, plan_status=res.status)
        intervals = quick_intervals(bundle, sc, draws)
        path = write_workbook(xlsx, targets=res.targets, plan=res.plan, about=about,
                              areas=area or None, year=year, fill=res.fill,
                              intervals=intervals)
    console.print(f"wrote {path}")




def plan_at_level(bundle: Bundle, sc: Scenario, res: PlanOutput, level: str) -> pd.DataFrame:
    """The plan by local office, by region (sums) or by ICB (estimated shares)."""
    if level == "local_office" or (res.targets["level"] == level).all():
        return res.plan
    if level == "region":
        return by_level(res.plan, "region", bundle.local_offices)
    if level == "icb":
        return by_icb(res.plan, pieces(bundle, sc))
    raise FairshareError(f"--level must be local_office, region or icb, not {level!r}")


def match_area(plan: pd.DataFrame, text: str, codes: dict[str, str] | None = None) -> str:
    """An area by exact name or code (any case), or by a part of its name that is unique."""
    codes = dict(codes or {})
    if "area_code" in plan.columns:
        codes |= dict(zip(plan["area_code"].astype(str), plan["area"], strict=False))
    return match_name(text, plan["area"].unique(), codes=codes, what="area", partial=True)


def area_codes(bundle: Bundle, level: str) -> dict[str, str]:
    """Code -> area name at a level, so `--area LDN` works like `--area London`."""
    if level == "icb":
        icbs = bundle.icbs
        return {**dict(zip(icbs["icb_code"].astype(str), icbs["icb_name"], strict=False)),
                **dict(zip(icbs["icb_ods"].astype(str), icbs["icb_name"], strict=False))}
    lo = bundle.local_offices
    if level == "region":
        return dict(zip(lo["region_code"].astype(str), lo["region_name"], strict=False))
    return dict(zip(lo["lo_code"].astype(str), lo["local_office"], strict=False))
