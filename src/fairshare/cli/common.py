"""Shared pieces of the command line: the app, options, error handling and table printing.

Errors in a user's input are printed as one clear message (file, row, column, what was
expected) with exit code 2; nothing is written when an input is bad.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fairshare.errors import FairshareError, InputError, Problem, reveal
from fairshare.io import file_digest
from fairshare.names import match_names
from fairshare.training_year import date_in_text, first_year_to_come, next_round, parse_date
from fairshare.vocabulary import Level

if TYPE_CHECKING:  # pandas, the data and the plan load only when a command runs, not for --help
    import pandas as pd

    from fairshare.inputs.bundle import Bundle
    from fairshare.model.pipeline import PlanOutput
    from fairshare.scenario import Scenario

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

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", help="The service's database: sqlite:///PATH or "
                 "postgresql://USER@HOST:PORT/NAME (default: $FAIRSHARE_DATABASE_URL; for runs, "
                 "the run store folder if neither is set). See docs/service.md.",
                 show_default=False),
]
PostsOpt = Annotated[
    Path | None,
    typer.Option("--posts", help="Your establishment file (CSV/Excel): local_office or icb, "
                 "specialty, posts. Default: the embedded public baseline (docs/baseline.md)."),
]
ScenarioOpt = Annotated[
    Path | None, typer.Option("--scenario", "-s", help="Scenario override file (YAML).")
]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Where to write: a file ending .csv, .parquet or .json (the main "
    "table), or a folder (every table, run.json, columns.csv). Default: a new folder "
    "results/<date-time>-<command>-<name>/ (results/latest points at the last one).")]
LevelOpt = Annotated[
    str | None, typer.Option("--level", "-l", help="local_office, region or icb.")
]
SpecialtyOpt = Annotated[
    list[str] | None, typer.Option("--specialty", help="Only this specialty (repeatable).")
]


#: Options that name what a command writes; every other file option names what it reads.
OUTPUT_OPTIONS = ("out", "xlsx", "html", "pdf")


def _paths(value: Any) -> list[Path]:
    if isinstance(value, Path):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, Path)]
    if isinstance(value, PlanInputs):
        return [p for f in fields(value) for p in _paths(getattr(value, f.name))]
    return []


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwriting_inputs(outputs: dict[str, Path], inputs: list[Path]) -> None:
    """An output must never replace one of the command's own inputs: ``targets --posts x.csv
    --out x.csv`` would destroy the establishment it was computed from, and ``--out DIR``
    replacing an earlier output folder would delete an input kept inside it."""
    for option, out in outputs.items():
        for source in inputs:
            if str(source) in ("-", "/dev/stdin"):
                continue
            inside = (out.is_dir() and (out / "run.json").is_file()
                      and source.resolve().is_relative_to(out.resolve()))
            if _same(out, source) or out.resolve() == source.resolve() or inside:
                where = "is" if not inside else "holds"
                raise FairshareError(f"--{option} {out} {where} one of this command's inputs "
                                     f"({source}): writing there would destroy it. Give "
                                     f"another --{option}")


def _check_files(kwargs: dict[str, Any], results_out: bool) -> bool:
    """Refuse outputs that name an input (and, for a results ``--out``, one that can only fail,
    before any work); whether the command writes anything."""
    outputs = {k: v for k, v in kwargs.items() if k in OUTPUT_OPTIONS and isinstance(v, Path)}
    inputs = [p for k, v in kwargs.items() if k not in (*OUTPUT_OPTIONS, "store")
              for p in _paths(v)]
    refuse_overwriting_inputs(outputs, inputs)
    if results_out and isinstance(kwargs.get("out"), Path):
        from fairshare.publish.outputs import check_out  # not for `--help`: imported late

        check_out(kwargs["out"])
    return any(k in OUTPUT_OPTIONS for k in kwargs)


def friendly(func: F) -> F:
    """Turn expected errors into a message and exit code 2 instead of a traceback.

    A command that writes also refuses an output naming one of its inputs, and is stopped
    cleanly by SIGTERM, SIGHUP or Ctrl-C (``cli.signals``): its half-built output is removed.
    """

    out = inspect.signature(func).parameters.get("out")
    results_out = out is not None and out.annotation in ("OutOpt", OutOpt)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            writes = _check_files(kwargs, results_out)
            if writes and threading.current_thread() is threading.main_thread():
                from fairshare.cli.signals import stop_cleanly

                with stop_cleanly("the output"):
                    return func(*args, **kwargs)
            return func(*args, **kwargs)
        except InputError as exc:
            err_console.print(f"[bold red]Error:[/] {escape(summarise(exc.problems))}",
                              highlight=False,
                              soft_wrap=True)
            raise typer.Exit(2) from None
        except FairshareError as exc:
            err_console.print(f"[bold red]Error:[/] {escape(reveal(str(exc)))}",
                              highlight=False, soft_wrap=True)
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


_DETAIL = re.compile(r"'[^']*'|\b\d[\d,.]*\b")
EXAMPLES = 3


def summarise(problems: list[Problem]) -> str:
    """One line per kind of problem with its count and rows, not one line per row.

    Problems are of one kind when they share file, column and message once quoted values and
    numbers are set aside; a kind met on several rows shows its first examples.
    """
    kinds: dict[tuple[str, str | None, str], list[Problem]] = {}
    for p in problems:
        kinds.setdefault((p.file, p.column, _DETAIL.sub("…", p.message)), []).append(p)
    count = len(problems)
    lines = [f"{count} problem{'s' if count != 1 else ''} found"
             + (f", of {len(kinds)} kind{'s' if len(kinds) != 1 else ''}:"
                if len(kinds) < count else ":")]
    for (_file, _column, _kind), group in kinds.items():
        if len(group) == 1:
            lines.append(f"  - {group[0]}")
            continue
        rows = [p.row for p in group if p.row is not None]
        first = group[0]
        where = f"{first.file}, column '{first.column}'" if first.column else first.file
        detail = first.message if len({p.message for p in group}) == 1 else "; ".join(
            f"row {p.row}: {p.message}" for p in group[:EXAMPLES]) + ("; …" if len(group)
                                                                     > EXAMPLES else "")
        lines.append(f"  - {where}: {len(group)} rows{_rows(rows)}: {detail}")
    return "\n".join(lines)


def _rows(rows: list[int]) -> str:
    if not rows:
        return ""
    if rows == list(range(rows[0], rows[0] + len(rows))):
        return f" (rows {rows[0]}-{rows[-1]})"
    shown = ", ".join(str(r) for r in rows[:EXAMPLES])
    return f" (rows {shown}{', …' if len(rows) > EXAMPLES else ''})"


def setup(posts: Path | None, scenario: Path | None, **overrides: Any) -> tuple[Bundle, Scenario]:
    """Scenario and data for a command; every table printed after this carries their label."""
    bundle, sc, base = _setup(posts, scenario, **overrides)
    sc = for_this_run(sc, base, _given(bundle, {"posts": posts}))
    label_tables(bundle, sc)
    return bundle, sc


def _setup(posts: Path | None, scenario: Path | None,
           **overrides: Any) -> tuple[Bundle, Scenario, Scenario]:
    """Data, the scenario with the command's options, and the scenario as its file says."""
    from fairshare.inputs.bundle import load_data
    from fairshare.scenario import load_scenario_and_file

    sc, base = load_scenario_and_file(scenario, **overrides)
    unused = sc.unused_settings()
    if unused:
        warn(f"{', '.join(unused)} given, but convergence policy '{sc.convergence.policy}' "
             "never uses it: it has no effect on this run (set the policy that reads it, or "
             "remove it)")
    # the scenario's baseline corrections, applied once so every label names them
    from fairshare.inputs.corrections import corrected

    bundle = corrected(load_data(posts), sc)
    label_tables(bundle, sc)
    modelled = f": {', '.join(bundle.modelled)}" if bundle.modelled else ""
    console.print(f"[dim]current posts:[/] {bundle.posts_label}{modelled}", highlight=False,
                  soft_wrap=True)
    if posts is not None:
        warn_missing_areas(bundle)
    return bundle, sc, base


def warn_missing_areas(bundle: Bundle) -> None:
    """Say which areas an establishment file has no row for: they get 0 posts of everything."""
    from fairshare.inputs.bundle import missing_areas

    missing = missing_areas(bundle)
    if missing:
        what = "ICBs" if not bundle.piece_posts.empty else "local offices"
        console.print(f"[yellow]Warning[/]: the establishment has no row for {len(missing)} "
                      f"{what}, which are planned with 0 posts of every specialty: "
                      f"{escape(', '.join(missing))}. Add their rows (0 where an area truly "
                      "has none) if the file is meant to be complete.", highlight=False,
                      soft_wrap=True)


def show_coverage(cohorts: pd.DataFrame, bundle: Bundle, start: int) -> None:
    """How many posts a cohort file accounts for; the rest fall vacant on the default rule."""
    from fairshare.inputs.bundle import cohort_coverage

    table = cohort_coverage(cohorts, bundle, start)
    posts, listed = int(table["posts"].sum()), int(table["trainees_listed"].sum())
    rest = int(table["not_covered"].sum())
    console.print(f"The cohort file covers {listed:,} trainees in {len(table)} local office × "
                  f"specialty programmes holding {posts:,} posts; the other {rest:,} posts "
                  "fall vacant on the default rule (posts ÷ programme length a year).",
                  highlight=False, soft_wrap=True)
    partial = table[table["not_covered"] > 0].sort_values("not_covered", ascending=False)
    if len(partial):
        show_table(partial.head(10), "Programmes the cohort file covers only in part",
                   ["local_office", "specialty", "posts", "trainees_listed", "not_covered"])


def _given(bundle: Bundle, files: dict[str, Path | None]) -> dict[str, str]:
    """Digests of the input files the user gave (not the embedded data)."""
    return {name: bundle.digests[name] for name, path in files.items()
            if path is not None and name in bundle.digests}


#: Scenario fields that say what a run is called or was given, not a parameter of the model.
_NOT_PARAMETERS = ("name", "description", "inputs")
_NAME_CHARS = 60


def for_this_run(sc: Scenario, base: Scenario, files: dict[str, str]) -> Scenario:
    """The scenario as run: the input files given recorded in it (so in its digest), and a
    name that says what the command's options changed from the scenario file (or from the
    defaults), so that no run made with other options or files is called "default".

    ``base`` is the scenario before the command's options; ``files`` the digest of every input
    file given (posts, capacity, cohorts, min_posts).
    """
    if files:
        sc = sc.with_overrides(inputs={**sc.inputs, **files})
    was, now = base.resolved(), sc.resolved()
    changed = [k for k in now if k not in _NOT_PARAMETERS and now[k] != was[k]]
    parts = [f"{k.replace('_', ' ')} {_word(now[k])}" for k in changed]
    parts += [f"own {k.replace('_', ' ')} file" for k in files if k not in base.inputs]
    if not parts:
        return sc
    stem = "" if base.name == "default" else f"{base.name}, "
    name = stem + ", ".join(parts)
    if len(name) > _NAME_CHARS or any(isinstance(now[k], dict | list) for k in changed):
        name = stem + f"custom ({len(parts)} changes from "
        name += ("the defaults)" if not stem else "the file)")
    return sc.with_overrides(name=name)


def _word(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else "none"


def warn(message: str, lines: list[str] | None = None, shown: int = 10) -> None:
    """A warning, with at most ``shown`` detail lines and a count of the rest (30,000 unknown
    codes are a sentence and ten examples, not 30,000 lines)."""
    err_console.print(f"[bold yellow]Warning:[/] {escape(reveal(message))}", highlight=False,
                      soft_wrap=True)
    for line in (lines or [])[:shown]:
        err_console.print(f"  {escape(reveal(line))}", highlight=False, soft_wrap=True)
    if lines and len(lines) > shown:
        err_console.print(f"  … and {len(lines) - shown:,} more", highlight=False)


def warn_before_plan(table: pd.DataFrame, column: str, start: int, source: Path,
                     what: str) -> None:
    """Rows of a capacity or cohort file for years before the plan's first year are never
    used: say how many, rather than drop them without a word."""
    import pandas as pd

    if column not in table.columns:
        return
    years = pd.to_numeric(table[column], errors="coerce")
    early = table[years < start]
    if not early.empty:
        lines = [f"{r.local_office}, {r.specialty}, {int(getattr(r, column))}"
                 for r in early.itertuples(index=False)]
        warn(f"{source}: {len(early):,} row(s) of {what} are for years before the plan's first "
             f"year {start} and have no effect on it", lines)


def filter_specialties(df: pd.DataFrame, specialty: list[str] | None) -> pd.DataFrame:
    """Rows of the named specialties, matched as files match them (any case, did you mean)."""
    if not specialty:
        return df
    wanted = match_names(specialty, df["specialty"].unique(), what="specialty",
                         listing="see `fairshare specialties`")
    return df[df["specialty"].isin(wanted)]


_caption: list[str] = []


def label_tables(bundle: Bundle, sc: Scenario) -> None:
    """Remember the run's label so every printed table carries it (a copied table stays
    labelled): the basis of the numbers and the scenario."""
    pace = (f"glide to {sc.glide_until}" if sc.pace == "glide" else "fastest") + (
        f", {sc.convergence.label()}")
    _caption[:] = [f"Basis: {bundle.posts_label}. Scenario: {sc.name} ({sc.digest()}): pace "
                   f"{pace}; core need's ICB cost factor {sc.core_cost_factor}."]


def print_written(files: list[Path]) -> None:
    """Say where the results went (one line: the folder, then its files)."""
    folders = {f.parent for f in files}
    if len(files) > 1 and len(folders) == 1:
        console.print(f"wrote {folders.pop()}/: " + ", ".join(f.name for f in files))
    else:
        console.print("wrote " + ", ".join(str(f) for f in files))


def _fmt(value: Any, column: str = "") -> str:
    """Posts with thousands separators; shares as percentages; small ratios to 3 decimals."""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if any(k in column for k in ("distance", "gap_share", "share_within", "p_gives",
                                     "p_receives")):
            return f"{value:+.1%}" if "distance" in column or "gap_share" in column \
                else f"{value:.0%}"
        if column.startswith("effect"):
            return f"{value:+,.1f}"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _year(value: object) -> str:
    """A year as a whole number ("2030", never "2030.0" from a nullable column); blank if none."""
    if value is None or str(value) == "<NA>" or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def show_table(df: pd.DataFrame, title: str, columns: list[str]) -> None:
    """Print a DataFrame as a rich table (gains green, losses red)."""
    import pandas as pd

    table = Table(title=title, show_lines=False, header_style="bold",
                  caption=_caption[0] if _caption else None, caption_justify="left")
    for col in columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(col.replace("_", " "), justify="right" if numeric else "left",
                         no_wrap=not numeric, min_width=None if numeric else 8)
    for rec in df[columns].itertuples(index=False):
        cells = []
        for col, value in zip(columns, rec, strict=True):
            v = value.item() if hasattr(value, "item") else value
            text = escape(_year(v) if col.lower() == "year" else _fmt(v, col))  # data, not markup
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
GlideOpt = Annotated[int | None, typer.Option(
    "--glide-until", help="Last year of the glide window (default 2037, the programme's 15+ "
    "year lifespan; 2030 closes every gap by 2030, as scenarios/full-convergence.yaml).")]
ConvergenceOpt = Annotated[float | None, typer.Option(
    "--convergence-share", min=0.0, max=1.0, help="Share of each gap the plan closes (1: the "
    "full target, the default; 0.5: half of each gap, scenarios/programme-pace.yaml).")]


@dataclass(frozen=True)
class PlanInputs:
    """The inputs every plan-making command shares: files, scenario, horizon, pace cap."""

    posts: Path | None = None
    scenario: Path | None = None
    horizon: int | None = None
    pace_cap: float | None = None
    capacity: Path | None = None
    cohorts: Path | None = None
    posts_date: str | None = None
    glide_until: int | None = None
    convergence_share: float | None = None
    fill_rates: Path | None = None


FillRatesOpt = Annotated[Path | None, typer.Option(
    "--fill-rates", help="Fill rates file: local_office (or England), specialty, level, "
    "fill_rate (0.92 or 92%), optional basis. Default: the modelled public figures "
    "(docs/fill.md; `fairshare template fill-rates`).")]
PostsDateOpt = Annotated[str | None, typer.Option(
    "--posts-date", help="Date your --posts file counts the establishment (YYYY-MM or "
    "YYYY-MM-DD); the plan starts at the next August recruitment round after it.")]

_KW = inspect.Parameter.KEYWORD_ONLY
_PLAN_OPTIONS = [
    inspect.Parameter("posts", _KW, default=None, annotation=PostsOpt),
    inspect.Parameter("scenario", _KW, default=None, annotation=ScenarioOpt),
    inspect.Parameter("horizon", _KW, default=None, annotation=HorizonOpt),
    inspect.Parameter("pace_cap", _KW, default=None, annotation=PaceOpt),
    inspect.Parameter("capacity", _KW, default=None, annotation=CapacityOpt),
    inspect.Parameter("cohorts", _KW, default=None, annotation=CohortsOpt),
    inspect.Parameter("posts_date", _KW, default=None, annotation=PostsDateOpt),
    inspect.Parameter("glide_until", _KW, default=None, annotation=GlideOpt),
    inspect.Parameter("convergence_share", _KW, default=None, annotation=ConvergenceOpt),
    inspect.Parameter("fill_rates", _KW, default=None, annotation=FillRatesOpt),
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
                 level: Level = "local_office", report_level: Level | None = None,
                 **overrides: Any) -> tuple[Bundle, Scenario, PlanOutput]:
    """Bundle, scenario and plan from the shared inputs (``overrides`` win over the file);
    ``min_posts`` is a minimum programme size file, ``level`` local_office or icb (planned
    over), ``report_level`` the level the results are shown at (default: ``level``). Both the
    level and every input file go into the scenario as run (its digest and name)."""
    from fairshare.inputs.bundle import read_capacity, read_cohorts

    merged = {"horizon": inputs.horizon, "pace_cap": inputs.pace_cap,
              "glide_until": inputs.glide_until,
              "convergence": convergence_override(inputs.convergence_share),
              "level": report_level or level} | overrides
    bundle, sc, base = _setup(inputs.posts, inputs.scenario, **merged)
    bundle, sc = dated(bundle, sc, inputs)
    cap = read_capacity(inputs.capacity, bundle, level) if inputs.capacity else None
    coh = read_cohorts(inputs.cohorts, bundle) if inputs.cohorts else None
    if cap is not None and inputs.capacity is not None:
        warn_before_plan(cap, "year", sc.plan_start, inputs.capacity, "capacity")
    if coh is not None and inputs.cohorts is not None:
        warn_before_plan(coh, "completion_year", sc.plan_start, inputs.cohorts, "cohorts")
    if inputs.fill_rates is not None:
        from fairshare.inputs.fill import read_fill_rates

        bundle = replace(bundle, fill_rates=read_fill_rates(inputs.fill_rates, bundle))
    bundle = with_file_digests(bundle, inputs, min_posts=min_posts)
    given = {"posts": inputs.posts, "capacity": inputs.capacity, "cohorts": inputs.cohorts,
             "min_posts": min_posts, "fill_rates": inputs.fill_rates}
    sc = for_this_run(sc, base, _given(bundle, given))
    label_tables(bundle, sc)
    if coh is not None:
        show_coverage(coh, bundle, sc.plan_start)
    from fairshare.inputs.minimums import read_min_posts
    from fairshare.model.pipeline import run_plan

    mins = read_min_posts(min_posts, bundle, level) if min_posts else None
    with console.status("Optimising the pace-of-change plan…"):
        out = run_plan(bundle, sc, capacity=cap, cohorts=coh, min_posts=mins, level=level)
    return bundle, sc, out


def convergence_override(share: float | None) -> dict[str, Any] | None:
    """The scenario's convergence from ``--convergence-share`` (None: the scenario's own)."""
    if share is None:
        return None
    return {"policy": "full"} if share == 1 else {"policy": "share", "share": share}


def dated(bundle: Bundle, sc: Scenario, inputs: PlanInputs) -> tuple[Bundle, Scenario]:
    """Date the establishment and start the plan at a stated first year.

    The establishment's date comes from ``--posts-date`` (then written into its label, so
    every output says it) or from the label of the embedded data. Unless the scenario sets
    ``plan_start``, the plan starts at the later of the programme's start and the next
    recruitment round after that date. Years whose round is past today are reconstructions.
    """
    if inputs.posts_date is not None:
        if inputs.posts is None:
            raise FairshareError("--posts-date dates your --posts file; give the file too")
        counted = parse_date(inputs.posts_date).isoformat()
        note = f", dated {counted}"
        bundle = replace(bundle, posts_label=bundle.posts_label + note, posts_date=counted,
                         basis={s: b + note for s, b in bundle.basis.items()})
    when = (parse_date(bundle.posts_date) if bundle.posts_date
            else date_in_text(bundle.posts_label))
    if when is not None and "plan_start" not in sc.model_fields_set:
        sc = sc.with_overrides(plan_start=max(sc.plan_start, next_round(when)))
        label_tables(bundle, sc)
    today = date.today()
    start, end, now = sc.plan_start, sc.horizon, first_year_to_come(today)
    dated_as = (f"counted {when:%B %Y}" if when is not None else "undated" + (
        " (give --posts-date)" if inputs.posts is not None else ""))
    past = (f"; {start}-{min(end, now - 1)} are a reconstruction (their recruitment is past "
            f"on {today.isoformat()}), not moves still to make" if start < now else "")
    console.print(f"Plan years {start}-{end}: establishment {dated_as}; first year {start}"
                  f"{past}.", highlight=False)
    return bundle, sc


def with_file_digests(bundle: Bundle, inputs: PlanInputs | None = None,
                      **more: Path | None) -> Bundle:
    """The bundle with a digest of every extra input file (capacity, cohorts, minimum sizes,
    published figures, ...), so run.json, the run store and `compare` see every input that
    changes a number. ``more`` names files given outside ``inputs`` (e.g. ``min_posts=``)."""
    files = {f.name: getattr(inputs, f.name) for f in fields(inputs)
             if f.name not in ("posts", "scenario")} if inputs is not None else {}
    files |= more
    extra = {name: file_digest(path) for name, path in files.items() if isinstance(path, Path)}
    return replace(bundle, digests={**bundle.digests, **extra}) if extra else bundle


def findings_table(out: PlanOutput) -> pd.DataFrame:
    """The plan's findings as a tidy table (one row per finding)."""
    return out.findings


def show_findings(findings: pd.DataFrame, groups: pd.DataFrame, shown: int = 10) -> None:
    """The findings grouped by kind and cause, largest first, each with its largest example."""
    from fairshare.publish.report_tables import kind_label

    console.print(f"[bold]{len(findings)} findings[/] in {len(groups)} groups (kind and cause), "
                  "ranked by the posts involved; every finding is in findings.csv, the groups in "
                  "findings_groups.csv.")
    view = groups.head(shown).assign(kind=groups["kind"].map(kind_label))
    show_table(view, "What holds the plan back", ["rank", "kind", "cause", "findings", "posts",
                                                   "areas", "specialties"])
    for rec in groups.head(min(shown, 5)).itertuples(index=False):
        console.print(f"  {rec.rank}. largest: {escape(str(rec.largest))}")
    if len(groups) > shown:
        console.print(f"  … and {len(groups) - shown} smaller groups in findings_groups.csv.")




def show_fill(fill: pd.DataFrame, below: float) -> None:
    """Expected fill of the posts each area receives, worst first (docs/fill.md)."""
    if fill.empty:
        return
    by_area = fill.groupby("area", as_index=False)[
        ["received", "expected_filled", "expected_unfilled"]].sum()
    by_area["expected_fill"] = by_area["expected_filled"] / by_area["received"]
    show_table(by_area.sort_values("expected_fill").round(2),
               "Posts received over the plan and how many are expected to be filled "
               "(modelled fill rates, docs/fill.md; fill.csv per year)",
               ["area", "received", "expected_filled", "expected_unfilled", "expected_fill"])
    expansion = int(fill["received_expansion"].sum())
    if expansion:
        console.print(f"Expansion: {expansion:,} posts placed; about "
                      f"{fill['expected_unfilled_expansion'].sum():.1f} expected to stay empty "
                      "(modelled; expected_unfilled_expansion in fill.csv).")
    low = fill["expected_fill"] < below
    if low.any():
        console.print(f"[yellow]{int(low.sum())} area-years[/] receive posts expected to fill "
                      f"below {below:.0%} (judgement: fill_warning_below); see the 'likely "
                      "unfilled' findings.")


#: Draws of the intervals the report and the workbook carry: enough for stable 5th and 95th
#: percentiles of an area's net gap, a few seconds on a laptop.
REPORT_DRAWS = 1000
DrawsOpt = Annotated[int, typer.Option(
    "--draws", min=0, max=100_000, help="Monte Carlo draws for the intervals shown (seed 0; "
    "0: no intervals).")]


def quick_intervals(bundle: Bundle, sc: Scenario, draws: int) -> Any:
    """``monte_carlo_intervals`` with the scenario's ranges and seed 0, or None for 0 draws."""
    if draws <= 0:
        return None
    from fairshare.analysis.uncertainty import monte_carlo_intervals

    with console.status(f"Monte Carlo intervals ({draws:,} draws)…"):
        return monte_carlo_intervals(bundle, sc, sc.uncertainty, draws=draws, seed=0)
