"""`fairshare baseline build`: a posts file from a later month of NHS Digital's staff-in-post file.

The analyst with this year's "medical staff" download gets a current baseline in one command,
built with the same mapping, placement, rounding and labels as the embedded one (docs/baseline.md).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from fairshare.cli.common import (
    PostsOpt,
    ScenarioOpt,
    app,
    console,
    friendly,
    refuse_overwriting_inputs,
    setup,
    show_table,
    summarise,
    warn,
)
from fairshare.errors import FairshareError, InputError
from fairshare.inputs.baseline import (
    Baseline,
    build_baseline,
    check_counted,
    embedded_modelled,
    posts_csv,
    read_baseline_posts,
    read_org_lookup,
    read_programme_map,
    read_staff,
)
from fairshare.inputs.bundle import BASELINE_FILE, data_dir, load_data
from fairshare.inputs.corrections import CORRECTED
from fairshare.io import write_text
from fairshare.publish.outputs import check_writable

baseline_app = typer.Typer(no_args_is_help=True, help="The public baseline: show it, or build one "
                            "from a later NHS Digital staff file (docs/baseline.md).")
app.add_typer(baseline_app, name="baseline", rich_help_panel="Data and scenarios")


def build_from(path: Path) -> Baseline:
    """The baseline of one NHS Digital staff file, with the embedded map, lookup and models;
    refused if it counts nothing from the file (no training grades, no known trusts)."""
    data = data_dir()
    modelled = embedded_modelled(read_baseline_posts(data / BASELINE_FILE))
    staff = read_staff(path)
    base = build_baseline(staff, read_programme_map(data / "nhsd_programme_map.csv"),
                          read_org_lookup(data / "nhs_org_icb.csv"), modelled)
    check_counted(str(path), staff, base)
    return base


def _write_accepted(target: Path, text: str) -> Path:
    """Write the posts file only if `--posts` and `validate` accept it (read back from its
    temporary copy by the same reader): the command never hands over a file they refuse."""
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / "posts.csv"
        trial.write_text(text, encoding="utf-8")
        try:
            load_data().with_posts(trial)
        except InputError as exc:
            named = [replace(p, file=target.name) for p in exc.problems]
            raise FairshareError("the built posts file would be refused by `fairshare validate` "
                                 f"and --posts, so it was not written:\n{summarise(named)}"
                                 ) from None
    return write_text(target, text)


def _target(out: Path) -> Path:
    """A path ending in a file extension is that file; otherwise a folder to write into."""
    return out if out.suffix else out / BASELINE_FILE


def _report_left_out(base: Baseline) -> None:
    """Say what could not be counted, by organisation and by specialty: never silently, and
    in a bounded number of lines (the largest first, then a count of the rest)."""
    orgs = base.unmapped_orgs
    if not orgs.empty:
        warn(f"{len(orgs):,} organisation(s) not placed ({orgs['fte'].sum():,.1f} training FTE "
             "not counted): not in the organisation lookup or not in an English ICB",
             [f"{r.org_code} {r.org_name}: {r.fte:,.1f} FTE"
              for r in orgs.sort_values("fte", ascending=False).itertuples(index=False)])
    rows = base.unmapped_rows
    if not rows.empty:
        warn(f"{len(rows):,} specialty x grade pair(s) not in the programme map "
             f"({rows['fte'].sum():,.1f} FTE not counted):",
             [f"{r.grade}, {r.specialty}: {r.fte:,.1f} FTE"
              for r in rows.sort_values("fte", ascending=False).itertuples(index=False)])


@baseline_app.command("build")
@friendly
def build(
    source: Annotated[Path, typer.Option("--from", help="An NHS Digital 'medical staff' CSV "
                                         "(columns DATE, ORG_CODE, GRADE, SPECIALITY_GROUP, "
                                         "SPECIALTY, FTE).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Posts file to write (a .csv path, "
                                      "or a folder).")] = Path(BASELINE_FILE),
) -> None:
    """Build a posts file (per ICB piece, with a basis per row) that --posts accepts."""
    target = _target(out)
    refuse_overwriting_inputs({"out": target}, [source])
    check_writable(target)
    base = build_from(source)
    _report_left_out(base)
    target = _write_accepted(target, posts_csv(base.posts))
    counted = base.posts[~base.posts["basis"].str.startswith("modelled")]
    console.print(f"{base.label()}", highlight=False)
    console.print(f"wrote {target}: {int(base.posts['posts'].sum()):,} posts in "
                  f"{base.posts['specialty'].nunique()} specialties ({counted['fte'].sum():,.1f} "
                  f"FTE counted; modelled: {', '.join(base.modelled) or 'none'}); use it with "
                  f"`--posts {target}`", highlight=False)


@baseline_app.command("show")
@friendly
def show(posts: PostsOpt = None, scenario: ScenarioOpt = None) -> None:
    """The establishment in use, per specialty: posts, FTE counted and the basis of each figure
    (with the scenario's baseline corrections, docs/baseline.md)."""
    bundle, _ = setup(posts, scenario)
    totals = bundle.posts.groupby("specialty")["posts"].sum()
    fte = _fte_by_specialty(posts)
    view = pd.DataFrame({"specialty": totals.index, "posts": totals.to_numpy()})
    view["fte"] = view["specialty"].map(fte) if fte is not None else float("nan")
    full = [bundle.basis.get(s, bundle.posts_label) for s in view["specialty"]]
    view["basis"] = [b.split(CORRECTED)[0] for b in full]
    show_table(view, bundle.posts_label, ["specialty", "posts", "fte", "basis"])
    for spec, text in zip(view["specialty"], full, strict=True):  # long notes after the table
        if CORRECTED in text:
            console.print(f"[bold]{spec}[/] corrected: {text.split(CORRECTED, 1)[1]}",
                          highlight=False, soft_wrap=True)
    absent = [s for s in bundle.specialties["specialty"] if s not in set(totals.index)]
    console.print(f"{int(totals.sum()):,} posts in {len(totals)} specialties; not in this "
                  f"establishment (left out of every output): {', '.join(absent) or 'none'}",
                  highlight=False)


def _fte_by_specialty(posts: Path | None) -> pd.Series | None:
    """FTE per specialty of the embedded baseline (a user's file has none)."""
    if posts is not None:
        return None
    table = read_baseline_posts(data_dir() / BASELINE_FILE)
    return table.groupby("specialty")["fte"].sum(min_count=1)
