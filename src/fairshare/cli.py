"""The fairshare command line: a thin layer over the core functions.

Errors in a user's input are printed as one clear message (file, row, column, what was
expected) with exit code 2; nothing is written when an input is bad.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from fairshare.bundle import Bundle, load_england, read_capacity, read_cohorts
from fairshare.errors import FairshareError
from fairshare.excel import default_year, write_workbook
from fairshare.outputs import run_metadata, write_csv, write_results
from fairshare.pipeline import PlanOutput, run_plan
from fairshare.scenario import Scenario, load_scenario, scenario_schema
from fairshare.tables import by_level, one_year, pace_of_change
from fairshare.targets import targets as compute_targets

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Plan a fair, needs-based distribution of medical specialty training posts.",
)
# A pipe or CI log is not 80 columns wide: give tables room instead of folding every cell.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

F = TypeVar("F", bound=Callable[..., Any])

PostsOpt = Annotated[
    Path | None,
    typer.Option("--posts", help="Your establishment file (CSV/Excel): local_office or icb, "
                 "specialty, posts. Default: the embedded DEMONSTRATION baseline."),
]
ScenarioOpt = Annotated[
    Path | None, typer.Option("--scenario", "-s", help="Scenario override file (YAML).")
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder for the result files.")]
LevelOpt = Annotated[
    str | None, typer.Option("--level", "-l", help="local_office, region or icb.")
]
SpecialtyOpt = Annotated[
    list[str] | None, typer.Option("--specialty", help="Only this specialty (repeatable).")
]


def friendly(func: F) -> F:
    """Turn expected errors into a message and exit code 2 instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FairshareError as exc:
            err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except ValueError as exc:
            err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _setup(posts: Path | None, scenario: Path | None, **overrides: Any) -> tuple[Bundle, Scenario]:
    sc = load_scenario(scenario, **overrides)
    bundle = load_england(posts)
    if bundle.demonstration:
        err_console.print(
            Panel(
                "Current posts are the embedded [bold]DEMONSTRATION baseline[/]: modelled from "
                "public fragments, not real establishment data.\nUse --posts FILE for real "
                "figures (see README: 'Bring your own data').",
                title="demonstration baseline",
                border_style="yellow",
            )
        )
    return bundle, sc


def _filter(df: pd.DataFrame, specialty: list[str] | None) -> pd.DataFrame:
    if not specialty:
        return df
    known = set(df["specialty"])
    unknown = [s for s in specialty if s not in known]
    if unknown:
        raise FairshareError(f"unknown specialty {unknown}; see `fairshare specialties`")
    return df[df["specialty"].isin(specialty)]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def show_table(df: pd.DataFrame, title: str, columns: list[str]) -> None:
    """Print a DataFrame as a rich table (gains green, losses red)."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(col.replace("_", " "), justify="right" if numeric else "left",
                         no_wrap=not numeric, min_width=None if numeric else 8)
    for rec in df[columns].itertuples(index=False):
        cells = []
        for col, value in zip(columns, rec, strict=True):
            v = value.item() if hasattr(value, "item") else value
            text = str(v) if col.lower() == "year" else _fmt(v)
            if col == "gap" and isinstance(v, int | float) and v:
                text = f"[green]+{text}[/]" if v > 0 else f"[red]{text}[/]"
            if col == "distance" and isinstance(v, float) and not pd.isna(v):
                text = f"{v:+.1%}"
            cells.append(text)
        table.add_row(*cells)
    console.print(table)


@app.command()
@friendly
def targets(
    level: LevelOpt = None,
    specialty: SpecialtyOpt = None,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    out: OutOpt = Path("results"),
    method: Annotated[str | None, typer.Option(help="Apportionment method override.")] = None,
    delta: Annotated[float | None, typer.Option(help="Deprivation weight δ override.")] = None,
) -> None:
    """Fair-share targets: current, fair share, target, gap and distance per area and specialty."""
    bundle, sc = _setup(posts, scenario, level=level, apportionment=method,
                        deprivation_weight=delta)
    df = _filter(compute_targets(bundle, sc), specialty)
    if specialty and len(specialty) == 1:
        view = df.sort_values("gap")
        cols = ["area", "current", "fair_share", "target", "gap", "distance"]
        show_table(view, f"{specialty[0]} — targets by {sc.level.replace('_', ' ')}", cols)
    else:
        view = df.groupby("area", as_index=False)[["current", "fair_share", "target"]].sum()
        view["gap"] = view["target"] - view["current"]
        view["distance"] = (view["current"] - view["target"]) / view["target"]
        show_table(view.sort_values("gap"),
                   f"All {df['specialty'].nunique()} specialties — by "
                   f"{sc.level.replace('_', ' ')}", ["area", "current", "fair_share", "target",
                                                     "gap", "distance"])
    files = write_results(out, {"targets": df}, bundle, sc)
    console.print(f"method: {sc.apportionment}; scenario: {sc.name} ({sc.digest()}); "
                  f"establishment: {bundle.posts_label}")
    console.print("wrote " + ", ".join(str(f) for f in files))


CapacityOpt = Annotated[
    Path | None, typer.Option("--capacity", help="Supervision capacity file: local_office (or "
                              "icb), specialty, [year], capacity.")]
CohortsOpt = Annotated[
    Path | None, typer.Option("--cohorts", help="Trainee cohort file: local_office (or icb), "
                              "specialty, completion_year, trainees.")]
HorizonOpt = Annotated[int | None, typer.Option("--horizon", help="Last plan year.")]
PaceOpt = Annotated[float | None, typer.Option("--pace-cap", help="Max share of a gap moved "
                                               "in one year (0-1).")]


def _plan(posts: Path | None, scenario: Path | None, capacity: Path | None,
          cohorts: Path | None, **overrides: Any) -> tuple[Bundle, Scenario, PlanOutput]:
    bundle, sc = _setup(posts, scenario, **overrides)
    cap = read_capacity(capacity, bundle) if capacity else None
    coh = read_cohorts(cohorts, bundle) if cohorts else None
    with console.status("Optimising the pace-of-change plan…"):
        out = run_plan(bundle, sc, capacity=cap, cohorts=coh)
    return bundle, sc, out


def _findings_table(out: PlanOutput) -> pd.DataFrame:
    return pd.DataFrame([{"kind": f.kind, "area": f.area, "specialty": f.specialty,
                          "year": f.year, "size": f.size, "message": f.message}
                         for f in out.findings],
                        columns=["kind", "area", "specialty", "year", "size", "message"])


@app.command("plan")
@friendly
def plan_cmd(
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    horizon: HorizonOpt = None,
    pace_cap: PaceOpt = None,
    capacity: CapacityOpt = None,
    cohorts: CohortsOpt = None,
    elastic: Annotated[bool, typer.Option("--elastic", help="Always return a plan, "
                                          "reporting every relaxed constraint.")] = False,
    level: Annotated[str, typer.Option(help="local_office or region.")] = "local_office",
    out: OutOpt = Path("results"),
) -> None:
    """The multi-year pace-of-change plan: every specialty from its phase start to the horizon."""
    bundle, sc, res = _plan(posts, scenario, capacity, cohorts, horizon=horizon,
                            pace_cap=pace_cap, elastic=elastic or None)
    table = res.plan if level == "local_office" else by_level(res.plan, level)
    yearly = table.groupby("year", as_index=False).agg(
        moved=("redistribution", lambda s: int(s.clip(lower=0).sum())),
        expansion=("expansion", "sum"))
    show_table(yearly, "Posts moved per year (all specialties)", ["year", "moved", "expansion"])
    last = table[table["year"] == table["year"].max()]
    by_area = last.groupby("area", as_index=False)[["target", "posts"]].sum()
    start = res.targets.groupby("area")["current"].sum()
    if level == "local_office":
        by_area["current"] = by_area["area"].map(start)
    else:
        by_area["current"] = by_area["area"].map(
            res.targets.groupby("region")["current"].sum())
    by_area["moved"] = by_area["posts"] - by_area["current"]
    by_area["gap"] = by_area["target"] - by_area["posts"]
    show_table(by_area.sort_values("gap"), f"By {int(last['year'].max())}: posts after the "
               "plan and remaining gap", ["area", "current", "moved", "posts", "target", "gap"])
    findings = _findings_table(res)
    if len(findings):
        console.print(f"[bold]{len(findings)} findings[/] (binding constraints; all in "
                      f"findings.csv). First ones:")
        for msg in findings["message"].head(8):
            console.print(f"  • {msg}")
    stats = res.stats
    console.print(f"status: {res.status}; solver: {stats.get('solve_seconds', 0):.2f} s, "
                  f"{stats.get('n_vars', '?')} variables, {stats.get('n_constraints', '?')} "
                  "constraints")
    files = write_results(out, {"targets": res.targets, "plan": table, "findings": findings},
                          bundle, sc, plan_status=res.status)
    console.print("wrote " + ", ".join(str(f) for f in files))


@app.command()
@friendly
def tables(
    area: Annotated[str, typer.Option("--area", help="Local office (or region with --level).")],
    year: Annotated[int | None, typer.Option("--year", help="The one-year table for this "
                                             "year.")] = None,
    pace: Annotated[bool, typer.Option("--pace", help="The pace-of-change table.")] = False,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    horizon: HorizonOpt = None,
    pace_cap: PaceOpt = None,
    capacity: CapacityOpt = None,
    cohorts: CohortsOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the table as "
                                             "CSV here.")] = None,
) -> None:
    """The deanery tables: one year for an area, or the pace of change across the plan."""
    _, sc, res = _plan(posts, scenario, capacity, cohorts, horizon=horizon, pace_cap=pace_cap)
    known = sorted(res.plan["area"].unique())
    match = {a.lower(): a for a in known}.get(area.lower())
    if match is None:
        raise FairshareError(f"unknown area '{area}'; choose one of: {', '.join(known)}")
    if pace:
        df = pace_of_change(res.plan, res.targets, match)
        title = f"{match}: pace of change ({sc.name})"
    else:
        yr = year if year is not None else default_year(res.plan)
        df = one_year(res.plan, match, yr)
        title = f"{match}: redistribution and expansion in {yr} ({sc.name})"
    show_table(df, title, list(df.columns))
    if out is not None:
        console.print(f"wrote {write_csv(df, out)}")


@app.command()
@friendly
def export(
    xlsx: Annotated[Path, typer.Option("--xlsx", help="Workbook to write.")] = Path("plan.xlsx"),
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    horizon: HorizonOpt = None,
    pace_cap: PaceOpt = None,
    capacity: CapacityOpt = None,
    cohorts: CohortsOpt = None,
    area: Annotated[list[str] | None, typer.Option("--area", help="Area sheets to include "
                                                   "(default: all).")] = None,
    year: Annotated[int | None, typer.Option(help="Year of the one-year sheets.")] = None,
) -> None:
    """Every table in one formatted Excel workbook, with an "About this run" sheet."""
    bundle, sc, res = _plan(posts, scenario, capacity, cohorts, horizon=horizon,
                            pace_cap=pace_cap)
    about = run_metadata(bundle, sc, plan_status=res.status)
    path = write_workbook(xlsx, targets=res.targets, plan=res.plan, about=about,
                          areas=area or None, year=year)
    console.print(f"wrote {path}")


@app.command()
@friendly
def specialties(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The specialty catalogue: school, programme length, phase, demand driver, weights, σ."""
    specs = load_england().specialties
    if as_json:
        typer.echo(specs.to_json(orient="records", indent=1))
        return
    cols = ["specialty", "school", "programme_years", "entry_level", "phase", "phase_start",
            "driver", "w_core", "w_specialty", "w_future", "specialised_share"]
    view = specs[cols].copy()
    view["phase_start"] = view["phase_start"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    show_table(view, f"Specialty catalogue ({len(view)} specialties)", cols)


@app.command()
@friendly
def validate(path: Annotated[Path, typer.Argument(help="Establishment file to check.")]) -> None:
    """Check an establishment (posts) file and explain every problem."""
    bundle = load_england(path)
    posts = bundle.posts
    console.print(
        f"[green]OK[/]: {path} — {int(posts['posts'].sum()):,} centrally funded posts, "
        f"{posts['specialty'].nunique()} specialties, {posts['local_office'].nunique()} local "
        f"offices" + (f"; {len(bundle.other_funded)} rows of other-funded posts shown, "
                      "never moved" if len(bundle.other_funded) else "")
    )


@app.command("scenario")
@friendly
def scenario_cmd(
    path: Annotated[Path | None, typer.Argument(help="Scenario file to resolve.")] = None,
    schema: Annotated[bool, typer.Option("--schema", help="Print the JSON schema.")] = False,
) -> None:
    """Show a scenario with every default resolved, or the scenario JSON schema."""
    if schema:
        typer.echo(json.dumps(scenario_schema(), indent=2))
        return
    typer.echo(json.dumps(load_scenario(path).resolved(), indent=2))


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
