"""Targets, the specialty catalogue, input validation and scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from fairshare.cli.common import (
    LevelOpt,
    OutOpt,
    PostsOpt,
    ScenarioOpt,
    SpecialtyOpt,
    app,
    console,
    filter_specialties,
    friendly,
    print_written,
    setup,
    show_coverage,
    show_table,
    warn_missing_areas,
)
from fairshare.errors import FairshareError
from fairshare.inputs.bundle import KIND_WORDS, file_kind, load_data, read_capacity, read_cohorts
from fairshare.inputs.posts import read_table
from fairshare.io import write_with
from fairshare.model.targets import WATERFALL
from fairshare.model.targets import targets as compute_targets
from fairshare.provenance import run_provenance
from fairshare.publish.outputs import write_csv, write_results
from fairshare.scenario import load_scenario, scenario_schema


@app.command(rich_help_panel="Targets and plan")
@friendly
def targets(
    level: LevelOpt = None,
    specialty: SpecialtyOpt = None,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    out: OutOpt = None,
    method: Annotated[str | None, typer.Option(help="Apportionment method override.")] = None,
    delta: Annotated[float | None, typer.Option(help="Deprivation weight δ override.")] = None,
    waterfall: Annotated[bool, typer.Option("--waterfall", help="Show why each target differs "
                                            "from a plain population share.")] = False,
) -> None:
    """Fair-share targets: current, fair share, target, gap and distance per area and specialty."""
    bundle, sc = setup(posts, scenario, level=level, apportionment=method,
                        deprivation_weight=delta)
    df = filter_specialties(compute_targets(bundle, sc), specialty)
    aims = [] if sc.convergence.policy == "full" else ["aim", "aim_gap"]
    if waterfall:
        steps = [name for name, _ in WATERFALL]
        view = df.groupby("area", as_index=False)[[*steps, "target"]].sum()
        show_table(view, "Why targets differ from a plain population share (posts; "
                   + " → ".join(label for _, label in WATERFALL) + ")", ["area", *steps, "target"])
    elif specialty and len(specialty) == 1:
        view = df.sort_values("gap")
        cols = ["area", "current", "fair_share", "target", "gap", "gap_share_of_target", *aims]
        name = df["specialty"].iloc[0]
        show_table(view, f"{name} — targets by {sc.level.replace('_', ' ')}", cols)
    else:
        view = df.groupby("area", as_index=False)[["current", "fair_share", "target",
                                                   "aim"]].sum()
        view["gap"] = view["target"] - view["current"]
        view["gap_share_of_target"] = (view["target"] - view["current"]) / view["target"]
        view["aim_gap"] = view["aim"] - view["current"]
        show_table(view.sort_values("gap"),
                   f"All {df['specialty'].nunique()} specialties — by "
                   f"{sc.level.replace('_', ' ')}", ["area", "current", "fair_share", "target",
                                                     "gap", "gap_share_of_target", *aims])
    console.print("Gap = target − current posts: + receives, − gives; gap share of target = "
                  "gap / target, with the same sign.", highlight=False)
    files = write_results(out, {"targets": df}, bundle, sc, command="targets")
    console.print(f"method: {sc.apportionment}; scenario: {sc.name} ({sc.digest()}); "
                  f"convergence: {sc.convergence.label()}; establishment: {bundle.posts_label}")
    eff = df["effective_deprivation_weight"]
    console.print(f"deprivation: δ {sc.deprivation_weight:g}, effective {eff.min():.3g}"
                  + (f"–{eff.max():.3g}" if eff.max() > eff.min() else "")
                  + " with what NHS England's core need already carries (docs/method.md)")
    if sc.rural_weight or sc.coastal_weight:
        console.print(f"rural and coastal need: rural_weight {sc.rural_weight:g}, coastal_weight "
                      f"{sc.coastal_weight:g} (a judgement; 0 by default; docs/method.md)",
                      highlight=False)
    console.print(f"core need: ICB cost factor {df['core_cost_factor'].iloc[0]} "
                  "(scenario core_cost_factor; docs/method.md)")
    if df["specialty"].nunique() == 1:
        console.print(f"demand driver: {df['demand_driver'].iloc[0]}", highlight=False)
    print_written(files)


@app.command(rich_help_panel="Data and scenarios")
@friendly
def specialties(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The specialty catalogue: school, programme length, phase, demand driver, weights, σ."""
    specs = load_data().specialties
    if as_json:
        typer.echo(specs.to_json(orient="records", indent=1))
        return
    cols = ["specialty", "school", "programme_years", "entry_level", "phase", "phase_start",
            "driver", "w_core", "w_specialty", "w_future", "specialised_share"]
    view = specs[cols].copy()
    view["phase_start"] = view["phase_start"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    show_table(view, f"Specialty catalogue ({len(view)} specialties)", cols)


@app.command(rich_help_panel="Data and scenarios")
@friendly
def validate(
    path: Annotated[Path, typer.Argument(help="File to check.")],
    kind: Annotated[str | None, typer.Option(
        help="posts (establishment), capacity, cohorts, min_posts or fill_rates; default: "
        "recognised by the file's columns.")] = None,
) -> None:
    """Check an input file (establishment, capacity, cohorts, minimum sizes or fill rates) and
    explain every problem; the kind of file is recognised by its columns."""
    if kind is not None and kind not in KIND_WORDS:
        raise FairshareError(f"--kind must be {', '.join(KIND_WORDS)}, not {kind!r}")
    found = _recognised(path, kind)
    kind = kind or found or "posts"
    console.print(f"{path}: {'checked as' if found is None else 'recognised as'} "
                  f"{'an' if KIND_WORDS[kind][0] in 'aeiou' else 'a'} {KIND_WORDS[kind]} file"
                  + (" by its columns" if found is not None else ""), highlight=False)
    if kind == "posts":
        _validate_posts(path)
        return
    bundle = load_data()
    if kind == "min_posts":
        from fairshare.inputs.minimums import read_min_posts

        table = read_min_posts(path, bundle, "local_office")
    elif kind == "fill_rates":
        from fairshare.inputs.fill import read_fill_rates

        table = read_fill_rates(path, bundle)
    else:
        table = {"capacity": read_capacity, "cohorts": read_cohorts}[kind](path, bundle)
    areas = table["local_office"].nunique() if "local_office" in table.columns else \
        table.iloc[:, 0].nunique()
    plural = "s" if areas != 1 else ""
    console.print(f"[green]OK[/]: {path} — {len(table):,} rows of {kind.replace('_', ' ')}, "
                  f"{table['specialty'].nunique()} specialties, {areas} area{plural}")
    if kind == "cohorts":
        show_coverage(table, bundle, load_scenario().plan_start)


def _recognised(path: Path, kind: str | None) -> str | None:
    """The kind the file's columns make; an error when ``--kind`` says otherwise."""
    if str(path) == "-":
        return None
    table = read_table(path)
    if table.attrs.get("sheet"):
        console.print(f"{path}: reading sheet '{table.attrs['sheet']}', the first sheet whose "
                      "first row names the columns", highlight=False)
    found = file_kind(list(table.columns))
    if found is None:
        raise FairshareError(
            f"{path}: cannot tell what kind of file this is from its columns: an establishment "
            "has 'posts', a capacity file 'capacity', a cohorts file 'completion_year' and "
            "'trainees', a minimum sizes file 'min_posts' (see `fairshare template`)")
    if kind is not None and kind != found:
        raise FairshareError(f"{path}: --kind {kind}, but its columns are those of a "
                             f"{KIND_WORDS[found]} file (use --kind {found}, or leave --kind "
                             "out)")
    return found


def _validate_posts(path: Path) -> None:
    bundle = load_data(path)
    posts = bundle.posts
    console.print(
        f"[green]OK[/]: {path} — {int(posts['posts'].sum()):,} centrally funded posts, "
        f"{posts['specialty'].nunique()} specialties, {posts['local_office'].nunique()} "
        "local offices" + (f"; {len(bundle.other_funded)} rows of other-funded posts "
                           "shown, never moved" if len(bundle.other_funded) else ""))
    warn_missing_areas(bundle)


@app.command(rich_help_panel="Data and scenarios")
@friendly
def template(
    kind: Annotated[str, typer.Argument(help="posts, capacity, cohorts or fill-rates.")]
    = "posts",
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.csv or .xlsx), or "
                                      "a folder to write <kind>_template.xlsx into.")]
    = Path("establishment_template.xlsx"),
    prefill: Annotated[bool, typer.Option("--prefill/--blank", help="Prefill posts with the "
                                          "current establishment (fill-rates: the modelled "
                                          "default) to edit.")] = False,
) -> None:
    """A file to fill in: every local office x specialty, in the columns fairshare reads."""
    bundle = load_data()
    grid = pd.MultiIndex.from_product(
        [sorted(bundle.local_offices["local_office"]), list(bundle.specialties["specialty"])],
        names=["local_office", "specialty"]).to_frame(index=False)
    if kind == "posts":
        current = bundle.posts.set_index(["local_office", "specialty"])["posts"]
        if prefill:  # specialties the establishment does not cover are left out, not zeroed
            grid = grid[grid["specialty"].isin(set(bundle.posts["specialty"]))]
        keys = pd.MultiIndex.from_frame(grid)
        grid["posts"] = current.reindex(keys).fillna(0).astype("int64").to_numpy() if prefill \
            else None
        grid["funding"] = "tariff"
    elif kind == "capacity":
        grid["year"], grid["capacity"] = None, None
    elif kind == "cohorts":
        grid["completion_year"], grid["trainees"] = None, None
    elif kind == "fill-rates":
        grid = _fill_grid(prefill)
    else:
        raise FairshareError(f"kind must be posts, capacity, cohorts or fill-rates, not "
                             f"{kind!r}")
    if out.suffix.lower() not in (".csv", ".xlsx"):  # a folder: the file goes inside it
        out = out / f"{kind}_template.xlsx"
    if out.suffix.lower() == ".xlsx":
        write_with(out, lambda tmp: grid.to_excel(tmp, index=False, engine="xlsxwriter"))
    else:
        write_csv(grid, out)
    note = (f" (prefilled: {bundle.posts_label})" if prefill and kind == "posts" else
            " (prefilled: modelled default, docs/fill.md)" if prefill and kind == "fill-rates"
            else "")
    if kind == "fill-rates":
        console.print(f"wrote {out}: {len(grid):,} rows{note} (delete rows you do not use: an area "
                      "without a row takes the England row); fill_rate is a share (0.92) or "
                      f"a percentage (92%); check it with `fairshare validate {out}`, use it "
                      f"with `fairshare plan --fill-rates {out}`")
        return
    console.print(f"wrote {out}: {len(grid):,} rows to fill in{note} (delete rows you do "
                  "not use); check it with "
                  f"`fairshare validate {out}" + (f" --kind {kind}`" if kind != "posts" else "`"))


def _fill_grid(prefill: bool) -> pd.DataFrame:
    """Every local office (and England) x specialty at the level the default models, with
    the default's rate and basis when prefilled, else blank to fill in."""
    from fairshare.inputs.fill import TEMPLATE_COLUMNS, default_fill_rates

    grid = default_fill_rates().rename(columns={"area": "local_office"})[TEMPLATE_COLUMNS]
    if not prefill:
        grid = grid.assign(fill_rate=None, basis=None)
    return grid.reset_index(drop=True)


@app.command("scenario", rich_help_panel="Data and scenarios")
@friendly
def scenario_cmd(
    path: Annotated[Path | None, typer.Argument(help="Scenario file to resolve.")] = None,
    schema: Annotated[bool, typer.Option("--schema", help="Print the JSON schema.")] = False,
    judgements: Annotated[bool, typer.Option(
        "--judgements", help="Say what every input is (judgement, public data, modelled or "
        "run option) and what it rests on.")] = False,
) -> None:
    """Show a scenario with every default resolved, or the scenario JSON schema."""
    if schema:
        typer.echo(json.dumps(scenario_schema(), indent=2))
        return
    if judgements:
        _show_provenance(load_scenario(path).resolved())
        return
    typer.echo(json.dumps(load_scenario(path).resolved(), indent=2))


def _show_provenance(resolved: dict[str, object]) -> None:
    """Every parameter's value, kind and basis, judgements first, then the data files that are
    judgements or modelled (the labels run.json, the workbook and the report carry)."""
    prov = run_provenance(resolved)
    rows = [(k, json.dumps(v["value"], ensure_ascii=False), v["kind"], v["basis"])
            for k, v in prov["scenario"].items()]
    rows += [(f"data/{k}", "", v["kind"], v["basis"]) for k, v in prov["data_files"].items()]
    rows.sort(key=lambda r: r[2] != "judgement")
    table = Table(title="What each input is (fairshare.provenance)", header_style="bold",
                  show_lines=False)
    table.add_column("input", no_wrap=True)
    table.add_column("value", max_width=24, overflow="ellipsis", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("basis", ratio=1)
    for name, value, kind, basis in rows:
        shown = f"[bold yellow]{kind}[/]" if kind == "judgement" else escape(kind)
        table.add_row(escape(name), escape(value), shown, escape(basis))
    console.print(table)
    for kind, meaning in prov["kinds"].items():
        console.print(f"[bold]{kind}[/]: {meaning}")


