"""`fairshare posts`: the area plan as recommendations per trust (docs/posts.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from fairshare.cli.common import (
    HorizonOpt,
    OutOpt,
    PlanInputs,
    ScenarioOpt,
    app,
    compute_plan,
    console,
    filter_specialties,
    friendly,
    plan_inputs,
    print_written,
    show_table,
    with_file_digests,
)
from fairshare.inputs.bundle import Bundle
from fairshare.inputs.corrections import corrected_trusts
from fairshare.inputs.trusts import (
    load_catchment,
    load_trusts,
    read_trust_min,
    trust_basis,
    trust_minimums,
)
from fairshare.names import match_name
from fairshare.publish.outputs import write_results

if TYPE_CHECKING:
    from fairshare.scenario import Scenario

posts_app = typer.Typer(help="The area plan as recommendations per trust: which trusts give "
                        "and which receive posts, each round, and why (docs/posts.md).",
                        invoke_without_command=True)
app.add_typer(posts_app, name="posts", rich_help_panel="Targets and plan")

DecisionsOpt = Annotated[Path | None, typer.Option(
    "--decisions", help="A review's decisions (CSV or Excel): recommendation (area|specialty|"
    "year|org_code or post number), decision (accept, reject, propose), reason, proposed. The "
    "run follows them and says what each did (decisions.csv; examples/decisions_template.csv).")]
TrustMinOpt = Annotated[Path | None, typer.Option(
    "--trust-min", help="Minimum viable unit per trust: org_code, min_posts, optional "
    "specialty (empty: every specialty). Default: the scenario's trust_min_posts (2, a "
    "judgement).")]


@posts_app.callback()
@friendly
@plan_inputs
def posts(
    ctx: typer.Context,
    inputs: PlanInputs,
    min_posts: Annotated[Path | None, typer.Option(
        "--min-posts", help="Minimum programme size per area (as in `fairshare plan`).")] = None,
    trust_min: TrustMinOpt = None,
    decisions: DecisionsOpt = None,
    area: Annotated[str | None, typer.Option(help="Show this local office's rows (all are "
                                             "written).")] = None,
    specialty: Annotated[list[str] | None, typer.Option(help="Show these specialties' rows "
                                                        "(all are written).")] = None,
    out: OutOpt = None,
) -> None:
    """Per trust, area x specialty x recruitment round: who gives, who receives, and why."""
    if ctx.invoked_subcommand is not None:
        return
    bundle, sc, res = compute_plan(inputs, min_posts=min_posts)
    trusts = corrected_trusts(load_trusts(), bundle)  # as the area plan's baseline corrections
    given = (read_trust_min(trust_min, trusts, list(bundle.specialties["specialty"]))
             if trust_min else None)
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, given)
    review = (read_review(decisions, bundle, trusts["org_code"]) if decisions else None)
    bundle = with_file_digests(bundle, trust_min=trust_min, decisions=decisions)
    sc = with_decisions(sc, bundle, decisions)
    from fairshare.inputs.bundle import read_cohorts
    from fairshare.model.trust_pipeline import reviewed_trust_plan, run_trust_plan

    cohorts = read_cohorts(inputs.cohorts, bundle) if inputs.cohorts else None
    tables: dict[str, pd.DataFrame] = {}
    with console.status("Sharing the plan over trusts…"):
        if review is None:
            table = run_trust_plan(bundle, sc, res, trusts, load_catchment(),
                                   trust_basis(bundle), cohorts=cohorts)
        else:
            done = reviewed_trust_plan(bundle, sc, res, trusts, load_catchment(),
                                       trust_basis(bundle), review, cohorts=cohorts)
            table, tables["decisions"] = done.trusts, done.outcomes
    _show(table, bundle, area, specialty)
    if "decisions" in tables:
        show_outcomes(tables["decisions"])
    plan = res.plan if decisions is None else res.plan.assign(scenario=sc.name)  # one name
    tables |= {"trust_posts": table, "plan": plan}
    files = write_results(out, tables, bundle, sc, plan_status=res.status, command="posts",
                          decisions_file=str(decisions) if decisions else None)
    print_written(files)


def with_decisions(sc: Scenario, bundle: Bundle, decisions: Path | None) -> Scenario:
    """The scenario as run records the decisions file's digest (in its own digest and name),
    so two runs with other decisions never share a scenario digest."""
    if decisions is None:
        return sc
    from fairshare.cli.common import for_this_run

    return for_this_run(sc, sc, {"decisions": bundle.digests["decisions"]})


def read_review(path: Path, bundle: Bundle, trusts: pd.Series,
                post_numbers: pd.Series | None = None) -> pd.DataFrame:
    """A decisions file checked against the run's offices, specialties, trusts and records."""
    from fairshare.inputs.decisions import read_decisions
    from fairshare.inputs.posts import area_lookup

    offices, _ = area_lookup(bundle.local_offices, bundle.icbs)
    return read_decisions(path, offices=offices,
                          specialties=list(bundle.specialties["specialty"]),
                          trusts=trusts.astype(str),
                          post_numbers=() if post_numbers is None else post_numbers.astype(str))


def show_outcomes(outcomes: pd.DataFrame) -> None:
    """What each review decision did: a count per outcome, then those not fully honoured."""
    counts = outcomes["outcome"].value_counts()
    console.print("Review decisions: " + ", ".join(f"{int(n)} {k}" for k, n in counts.items())
                  + " (every decision and its outcome: decisions.csv).", highlight=False)
    short = outcomes[outcomes["outcome"] != "honoured"]
    for rec in short.head(20).to_dict("records"):
        proposal = f" {rec['proposed']}" if rec["proposed"] else ""
        console.print(f"  {rec['recommendation']}: {rec['decision']}{proposal}: "
                      f"{rec['outcome']}: {rec['finding']}", highlight=False)
    if len(short) > 20:
        console.print(f"  … and {len(short) - 20} more in decisions.csv", highlight=False)


def _show(table: pd.DataFrame, bundle: Bundle, area: str | None,
          specialty: list[str] | None) -> None:
    """A summary per area, then the rows of one area (and specialties) if asked."""
    if table.empty:
        console.print("The plan moves no posts, so no trust gives or receives any.")
        return
    placed = table[table["org_code"] != ""]
    summary = table.groupby("area", as_index=False).agg(
        gives=("change", lambda s: int(-s[s < 0].sum())),
        receives=("change", lambda s: int(s[s > 0].sum())))
    summary["trusts_giving"] = summary["area"].map(
        placed[placed["change"] < 0].groupby("area")["org_code"].nunique()).fillna(0)
    summary["trusts_receiving"] = summary["area"].map(
        placed[placed["change"] > 0].groupby("area")["org_code"].nunique()).fillna(0)
    not_placed = table[table["org_code"] == ""].groupby("area")["change"].apply(
        lambda s: int(s.abs().sum()))
    summary["not_placed"] = summary["area"].map(not_placed).fillna(0).astype(int)
    for col in ("trusts_giving", "trusts_receiving"):
        summary[col] = summary[col].astype(int)
    show_table(summary, "Posts moved per local office, over the whole plan, and by how many "
               "trusts", ["area", "gives", "trusts_giving", "receives", "trusts_receiving",
                          "not_placed"])
    gp = int(table.loc[table["org_code"] == "", "change"].abs().sum())
    console.print(f"{len(table):,} rows; {gp:,} posts not placed at a trust (each row says "
                  "why: modelled specialties such as General Practice have no trust figure). "
                  "Trust split modelled from the public 2017 staff in post (docs/posts.md).",
                  highlight=False)
    if area is None and not specialty:
        return
    view = table
    if area is not None:
        view = view[view["area"] == match_name(area, bundle.local_offices["local_office"],
                                               what="local office")]
    view = filter_specialties(view, specialty)
    show_table(view.head(60), "Trust recommendations (first 60 rows; every row's reason is in "
               "trust_posts.csv)", ["specialty", "year", "org_code", "org_name", "change",
                                    "posts_before", "posts_after", "vacancies",
                                    "catchment_distance"])
    if len(view):
        console.print(f"e.g. {view['org_name'].iat[0]}, {view['year'].iat[0]}: "
                      f"{view['reason'].iat[0]}", highlight=False)


@posts_app.command("import")
@friendly
def import_records(
    posts_file: Annotated[Path, typer.Option("--posts-file", help="Posts in the TIS 'posts "
                                             "(create)' bulk-upload layout (.xlsx or .csv).")],
    placements: Annotated[Path, typer.Option("--placements", help="Placements in the TIS "
                                             "'placements' bulk-upload layout.")],
    out: OutOpt = None,
) -> None:
    """Establishment, cohorts and time-limited posts from the programme's own post records."""
    from dataclasses import replace

    from fairshare.inputs.bundle import load_data
    from fairshare.inputs.tis import read_post_records
    from fairshare.scenario import load_scenario

    sc, bundle = load_scenario(None), load_data(None)
    records = read_post_records(posts_file, placements, list(bundle.specialties["specialty"]))
    basis = f"TIS post records {posts_file.name} + {placements.name}"
    bundle = replace(with_file_digests(bundle, posts_file=posts_file, placements=placements),
                     posts_label=basis, posts_date=None, basis={})
    tables = {name: table.assign(basis=basis) for name, table in (
        ("establishment", records.establishment), ("cohorts", records.cohorts),
        ("establishment_by_grade", records.by_grade), ("time_limited", records.time_limited),
        ("post_records", records.posts))}
    est = records.establishment
    for office, n in est.groupby("local_office")["posts"].sum().items():
        console.print(f"  {office}: {int(n):,} posts", highlight=False)
    held = int(records.cohorts["trainees"].sum())
    console.print(f"{int(est['posts'].sum()):,} posts in {est['specialty'].nunique()} "
                  f"specialties; {held:,} tariff posts held by a placement (their last Date To "
                  f"gives the round they fall vacant); {len(records.time_limited):,} "
                  "time-limited (a Funding End Date).", highlight=False)
    files = write_results(out, tables, bundle, sc, command="posts-import",
                          posts_file=str(posts_file), placements=str(placements))
    print_written(files)
    folder = files[0].parent
    console.print(f"Plan from them: fairshare posts --posts {folder / 'establishment.csv'} "
                  f"--cohorts {folder / 'cohorts.csv'}", highlight=False)


@posts_app.command("plan")
@friendly
def named_posts_plan(
    posts_file: Annotated[Path, typer.Option("--posts-file", help="Posts in the TIS 'posts "
                                             "(create)' bulk-upload layout (.xlsx or .csv); "
                                             "Employing body names each post's trust.")],
    placements: Annotated[Path, typer.Option("--placements", help="Placements in the TIS "
                                             "'placements' bulk-upload layout.")],
    records_date: Annotated[str | None, typer.Option(
        "--records-date", help="The date the records were exported (YYYY-MM-DD); the plan "
        "starts at the next August round after it. Default: today.")] = None,
    scenario: ScenarioOpt = None,
    horizon: HorizonOpt = None,
    min_posts: Annotated[Path | None, typer.Option(
        "--min-posts", help="Minimum programme size per area (as in `fairshare plan`).")] = None,
    trust_min: TrustMinOpt = None,
    decisions: DecisionsOpt = None,
    area: Annotated[str | None, typer.Option(help="Show this local office's moves (all are "
                                             "written).")] = None,
    out: OutOpt = None,
) -> None:
    """Named posts per round from the office's own records: re-advertise, do not re-advertise
    (moves to which trust), new posts with DRAFT numbers, expansion posts; CSV, Excel per local
    office, and the TIS templates' layouts (docs/posts.md)."""
    from fairshare.cli.posts_plan import run_named_command

    run_named_command(posts_file, placements, records_date, scenario, horizon, min_posts,
                      trust_min, area, out, decisions)
