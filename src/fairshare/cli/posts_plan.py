"""`fairshare posts plan`: the named-post plan from a local office's own records (docs/posts.md).

Reads the post and placement records (TIS layouts), makes the area plan over them, shares it
over the records' trusts and names the posts; writes a dated folder with the named-post plan
(all offices, and one CSV and one workbook per local office), the new posts and funding changes
in the templates' own layouts, the trust and area plans they add up to, columns.csv and
run.json. Bad records are reported by file, row and column, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fairshare.cli.common import (
    console,
    label_tables,
    show_table,
    with_file_digests,
)
from fairshare.io import safe_filename
from fairshare.training_year import next_round, parse_date

if TYPE_CHECKING:
    from fairshare.model.named_pipeline import NamedPlan

SYNTHETIC_NOTE = ("SYNTHETIC records (made by scripts/make_synthetic_tis.py from the public "
                  "baseline): not real posts, trainees or decisions")


def run_named_command(posts_file: Path, placements: Path, records_date: str | None,
                      scenario: Path | None, horizon: int | None, min_posts: Path | None,
                      trust_min: Path | None, area: str | None, out: Path | None,
                      decisions: Path | None = None) -> None:
    """The command's work (see the module docstring)."""
    from fairshare.inputs.bundle import load_data
    from fairshare.inputs.minimums import read_min_posts
    from fairshare.inputs.tis import OFFICE_OWNER, read_post_records
    from fairshare.inputs.trusts import (
        catchment_codes,
        load_catchment,
        load_orgs,
        load_trusts,
        read_trust_min,
        trust_minimums,
    )
    from fairshare.model.named_pipeline import records_bundle, records_trusts, run_named_plan
    from fairshare.publish.outputs import write_results
    from fairshare.scenario import load_scenario

    sc = load_scenario(scenario, horizon=horizon)
    when = parse_date(records_date) if records_date else date.today()
    if "plan_start" not in sc.model_fields_set:
        sc = sc.with_overrides(plan_start=max(sc.plan_start, next_round(when)))
    base = load_data(None)
    orgs = load_orgs()
    specs = list(base.specialties["specialty"])
    records = read_post_records(posts_file, placements, specs, employers=orgs)
    names = orgs.set_index("org_code")["org_name"]
    posts = records.posts.assign(org_name=records.posts["org_code"].map(names).fillna(""))
    synthetic = _synthetic(posts_file, posts)
    offices = sorted(posts["local_office"].dropna().unique())
    label = (f"{'SYNTHETIC ' if synthetic else ''}TIS post records {posts_file.name} + "
             f"{placements.name} (as of {when.isoformat()}) for "
             + ("every local office" if len(offices) == len(OFFICE_OWNER) else ", ".join(offices))
             + ("" if len(offices) == len(OFFICE_OWNER) else "; the other local offices: "
                f"{base.posts_label}") + "; trust and post choice modelled")
    bundle = records_bundle(base, posts, label)
    bundle = with_file_digests(bundle, posts_file=posts_file, placements=placements,
                               trust_min=trust_min, min_posts=min_posts, decisions=decisions)
    if decisions is not None:
        from fairshare.cli.posts import with_decisions

        sc = with_decisions(sc, bundle, decisions)
    label_tables(bundle, sc)
    trusts = records_trusts(posts, orgs, catchment_codes(), public=load_trusts())
    given = read_trust_min(trust_min, trusts, specs) if trust_min else None
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, given)
    review = None
    if decisions is not None:
        from fairshare.cli.posts import read_review

        review = read_review(decisions, bundle, trusts["org_code"],
                             posts["national_post_number"])
    mins = read_min_posts(min_posts, bundle, "local_office") if min_posts else None
    console.print(f"Records as of {when.isoformat()}: plan rounds {sc.plan_start}-"
                  f"{sc.horizon}.", highlight=False)
    if synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]", highlight=False)
    basis = {s: label for s in specs}
    owner_codes = {office: code for office, (_, code) in OFFICE_OWNER.items()}
    with console.status("Planning the named posts…"):
        result = run_named_plan(bundle, sc, posts, trusts, load_catchment(), basis,
                                owner_codes, min_posts=mins, decisions=review)
    named = result.named.assign(basis=label)
    _show(named, area)
    tables, attachments = _tables(named, result, posts, label, synthetic)
    if result.review is not None:
        from fairshare.cli.posts import show_outcomes

        show_outcomes(result.review.outcomes)
        tables["decisions"] = result.review.outcomes
    files = write_results(out, tables, bundle, sc, command="posts-plan",
                          attachments=attachments, posts_file=str(posts_file),
                          placements=str(placements), records_date=when.isoformat(),
                          decisions_file=str(decisions) if decisions else None)
    folder = files[0].parent
    console.print(f"wrote {folder}/: named_posts.csv, trust_posts.csv, plan.csv, "
                  + ("decisions.csv, " if decisions else "") +
                  "tis_new_posts.csv, tis_funding_changes.csv, columns.csv, run.json; and a "
                  "folder per local office (named_posts.csv, a workbook, tis_new_posts.csv, "
                  "tis_funding_changes.csv)", highlight=False)


def _synthetic(posts_file: Path, posts: pd.DataFrame) -> bool:
    """Records that say they are SYNTHETIC (file name or National Post Numbers)."""
    return ("synthetic" in posts_file.name.lower()
            or bool(posts["national_post_number"].str.contains("/SYN/", regex=False).any()))


def _tables(named: pd.DataFrame, result: NamedPlan, posts: pd.DataFrame, label: str,
            synthetic: bool,
            ) -> tuple[dict[str, pd.DataFrame], dict[str, Callable[[Path], object]]]:
    """The folder's tables, and its other files: the TIS layouts (England and per local office,
    exactly the templates' columns) and one folder per local office with its named posts as
    CSV and as a workbook."""
    from fairshare.inputs.tis import OFFICE_OWNER
    from fairshare.publish.outputs import write_csv
    from fairshare.publish.tis_layouts import funding_changes_layout, new_posts_layout

    owners = {office: owner for office, (owner, _) in OFFICE_OWNER.items()}
    starts = dict(zip(posts["national_post_number"], posts["funding_start_date"], strict=True))
    new = new_posts_layout(named, owners)
    changes = funding_changes_layout(named, starts)
    new_area = named.loc[named["action"].isin(["new post", "new expansion post"]), "area"]
    gone_area = named.loc[(named["action"] == "do not re-advertise")
                          & (named["national_post_number"] != ""), "area"]
    tables = {"named_posts": named, "trust_posts": result.trusts, "plan": result.area.plan}
    files: dict[str, Callable[[Path], object]] = {
        "tis_new_posts.csv": lambda path: write_csv(new, path),
        "tis_funding_changes.csv": lambda path: write_csv(changes, path)}
    about = [label, *([SYNTHETIC_NOTE] if synthetic else []),
             "Sheets: changes (the posts not re-advertised, new posts and funding ends; "
             "named_posts.csv beside this file also lists every post re-advertised; columns: "
             "columns.csv of the folder), tis_new_posts (posts (create) layout), "
             "tis_funding_changes (post funding (update) layout). DRAFT numbers and every row "
             "are for review before loading (docs/posts.md)."]
    acting = named["action"] != "re-advertise"
    for office in sorted(named["area"].unique()):
        slug = safe_filename(str(office)).lower().replace(" ", "_")
        own = named["area"] == office
        sheets = {"named_posts": named[own],
                  "tis_new_posts": new[new_area.eq(office).to_numpy()],
                  "tis_funding_changes": changes[gone_area.eq(office).to_numpy()]}
        for sheet, table in sheets.items():
            files[f"{slug}/{sheet}.csv"] = _writer(table)
        book = {"changes": named[own & acting].drop(columns=["scenario", "basis"]),
                "tis_new_posts": sheets["tis_new_posts"],
                "tis_funding_changes": sheets["tis_funding_changes"]}
        files[f"{slug}/named_posts_{slug}.xlsx"] = _workbook(book, [str(office), *about])
    return tables, files


def _workbook(sheets: dict[str, pd.DataFrame], about: list[str]) -> Callable[[Path], object]:
    from fairshare.publish.tis_layouts import write_office_workbook

    return lambda path: write_office_workbook(path, sheets, about)


def _writer(table: pd.DataFrame) -> Callable[[Path], object]:
    from fairshare.publish.outputs import write_csv

    def write(path: Path) -> object:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_csv(table, path)
    return write


def _show(named: pd.DataFrame, area: str | None) -> None:
    """What each local office does, over the plan, and one office's moves if asked."""
    counts = named.pivot_table(index="area", columns="action", values="post_change",
                               aggfunc="size", fill_value=0).reset_index()
    columns = ["area", *[c for c in ("re-advertise", "do not re-advertise", "new post",
                                     "new expansion post", "funding ends") if c in counts]]
    show_table(counts, "Named posts per local office over the plan (one row per post and "
               "round)", columns)
    if area is None:
        return
    from fairshare.names import match_name

    office = match_name(area, sorted(named["area"].unique()), what="local office")
    moves = named[(named["area"] == office) & (named["post_change"] != 0)]
    show_table(moves.head(40), f"{office}: posts not re-advertised and new posts (first 40)",
               ["specialty", "year", "action", "national_post_number", "org_name", "to_area",
                "from_post"])
    if len(moves):
        console.print(f"e.g. {moves['national_post_number'].iat[0]}: "
                      f"{moves['reason'].iat[0]}", highlight=False)
