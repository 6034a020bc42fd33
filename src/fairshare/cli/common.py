"""Shared pieces of the command line: the app, options, error handling and table printing.

Errors in a user's input are printed as one clear message (file, row, column, what was
expected) with exit code 2; nothing is written when an input is bad.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fairshare.errors import FairshareError
from fairshare.inputs.bundle import Bundle, load_data, read_capacity, read_cohorts
from fairshare.scenario import Scenario, load_scenario
from fairshare.vocabulary import Level

if TYPE_CHECKING:  # the plan (and scipy's optimiser) loads only for commands that plan
    from fairshare.model.pipeline import PlanOutput

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Plan a fair, needs-based distribution of medical specialty training posts.",
)


@app.callback()
def _data_option(
    data: Annotated[Path | None, typer.Option(
        "--data", envvar="FAIRSHARE_DATA",
        help="A data folder for another country or geography (docs/own_data.md); files it "
             "lacks come from the embedded England data.")] = None,
) -> None:
    """Plan a fair, needs-based distribution of medical specialty training posts."""
    if data is not None:
        os.environ["FAIRSHARE_DATA"] = str(data)


# A pipe or CI log is not 80 columns wide: give tables room instead of folding every cell.
console = Console(width=None if sys.stdout.isatty() else 200, emoji=False)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200,
                      emoji=False)

F = TypeVar("F", bound=Callable[..., Any])

PostsOpt = Annotated[
    Path | None,
    typer.Option("--posts", help="Your establishment file (CSV/Excel): local_office or icb, "
                 "specialty, posts. Default: the embedded public baseline (docs/baseline.md)."),
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
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(2) from None
        except ValueError as exc:
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # a folder given for a file, no permission, disk full, ...
            where = f" ({escape(str(exc.filename))})" if exc.filename else ""
            err_console.print(f"[bold red]Error:[/] cannot read or write{where}: "
                              f"{exc.strerror or exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def setup(posts: Path | None, scenario: Path | None, **overrides: Any) -> tuple[Bundle, Scenario]:
    sc = load_scenario(scenario, **overrides)
    bundle = load_data(posts)
    modelled = f": {', '.join(bundle.modelled)}" if bundle.modelled else ""
    err_console.print(f"[dim]current posts:[/] {bundle.posts_label}{modelled}", highlight=False,
                      soft_wrap=True)
    return bundle, sc


def filter_specialties(df: pd.DataFrame, specialty: list[str] | None) -> pd.DataFrame:
    if not specialty:
        return df
    known = set(df["specialty"])
    unknown = [s for s in specialty if s not in known]
    if unknown:
        raise FairshareError(f"unknown specialty {unknown}; see `fairshare specialties`")
    return df[df["specialty"].isin(specialty)]


def _fmt(value: Any, column: str = "") -> str:
    """Posts with thousands separators; shares as percentages; small ratios to 3 decimals."""
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        if any(k in column for k in ("distance", "share_within", "p_gives", "p_receives")):
            return f"{value:+.1%}" if "distance" in column else f"{value:.0%}"
        if column.startswith("effect"):
            return f"{value:+,.1f}"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
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
            text = escape(str(v) if col.lower() == "year" else _fmt(v, col))  # data, not markup
            if col == "gap" and isinstance(v, int | float) and v:
                text = f"[green]+{text}[/]" if v > 0 else f"[red]{text}[/]"
            cells.append(text)
        table.add_row(*cells)
    console.print(table)


CapacityOpt = Annotated[
    Path | None, typer.Option("--capacity", help="Supervision capacity file: local_office (or "
                              "icb), specialty, optional year, capacity.")]
CohortsOpt = Annotated[
    Path | None, typer.Option("--cohorts", help="Trainee cohort file: local_office (or icb), "
                              "specialty, completion_year, trainees.")]
HorizonOpt = Annotated[int | None, typer.Option("--horizon", help="Last plan year.")]
PaceOpt = Annotated[float | None, typer.Option("--pace-cap", help="Max share of a gap moved "
                                               "in one year (0-1).")]


@dataclass(frozen=True)
class PlanInputs:
    """The inputs every plan-making command shares: files, scenario, horizon, pace cap."""

    posts: Path | None = None
    scenario: Path | None = None
    horizon: int | None = None
    pace_cap: float | None = None
    capacity: Path | None = None
    cohorts: Path | None = None


_KW = inspect.Parameter.KEYWORD_ONLY
_PLAN_OPTIONS = [
    inspect.Parameter("posts", _KW, default=None, annotation=PostsOpt),
    inspect.Parameter("scenario", _KW, default=None, annotation=ScenarioOpt),
    inspect.Parameter("horizon", _KW, default=None, annotation=HorizonOpt),
    inspect.Parameter("pace_cap", _KW, default=None, annotation=PaceOpt),
    inspect.Parameter("capacity", _KW, default=None, annotation=CapacityOpt),
    inspect.Parameter("cohorts", _KW, default=None, annotation=CohortsOpt),
]


def plan_inputs(func: F) -> F:
    """Give a command the shared plan options; it receives them as one ``inputs`` argument.

    Typer reads a command's options from its signature, so the wrapper publishes the command's
    own parameters plus the shared ones, and packs the shared ones into a ``PlanInputs``.
    """
    sig = inspect.signature(func, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "inputs"]

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        shared = {p.name: kwargs.pop(p.name, None) for p in _PLAN_OPTIONS}
        return func(*args, inputs=PlanInputs(**shared), **kwargs)

    wrapper.__signature__ = sig.replace(parameters=own + _PLAN_OPTIONS)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {k: v for k, v in func.__annotations__.items() if k != "inputs"}
    return wrapper  # type: ignore[return-value]


def compute_plan(inputs: PlanInputs, *, min_posts: Path | None = None,
                 level: Level = "local_office",
                 **overrides: Any) -> tuple[Bundle, Scenario, PlanOutput]:
    """Bundle, scenario and plan from the shared inputs (``overrides`` win over the file);
    ``min_posts`` is a minimum programme size file, ``level`` local_office or icb."""
    merged = {"horizon": inputs.horizon, "pace_cap": inputs.pace_cap} | overrides
    bundle, sc = setup(inputs.posts, inputs.scenario, **merged)
    cap = read_capacity(inputs.capacity, bundle) if inputs.capacity else None
    coh = read_cohorts(inputs.cohorts, bundle) if inputs.cohorts else None
    from fairshare.inputs.minimums import read_min_posts
    from fairshare.model.pipeline import run_plan

    mins = read_min_posts(min_posts, bundle, level) if min_posts else None
    with console.status("Optimising the pace-of-change plan…"):
        out = run_plan(bundle, sc, capacity=cap, cohorts=coh, min_posts=mins, level=level)
    return bundle, sc, out


def findings_table(out: PlanOutput) -> pd.DataFrame:
    return pd.DataFrame([{"kind": f.kind, "area": f.area, "specialty": f.specialty,
                          "year": f.year, "size": f.size, "message": f.message}
                         for f in out.findings],
                        columns=["kind", "area", "specialty", "year", "size", "message"])


