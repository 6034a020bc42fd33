"""Where specialists are scarce: ``fairshare scarcity`` (model/scarcity.py, docs/scarcity.md)."""

from __future__ import annotations

from typing import Annotated

import typer

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
    show_table,
)
from fairshare.errors import FairshareError
from fairshare.model.scarcity import BASIS, TOO_FEW
from fairshare.model.scarcity import scarcity as compute_scarcity
from fairshare.publish.outputs import write_results


@app.command(rich_help_panel="Analysis")
@friendly
def scarcity(
    level: LevelOpt = None,
    specialty: SpecialtyOpt = None,
    posts: PostsOpt = None,
    scenario: ScenarioOpt = None,
    out: OutOpt = None,
    min_consultants: Annotated[float | None, typer.Option(
        "--min-consultants", min=0, help="Designate only areas expecting at least this many "
        "consultants (FTE) at the national rate (a judgement; default 10).")] = None,
) -> None:
    """Consultants per need-weighted population by area and specialty, and which areas are
    scarce, middle or well provided (terciles, as Japan designates physician-scarce areas)."""
    shown_level = level or "local_office"
    if shown_level not in ("local_office", "region", "icb"):
        raise FairshareError(f"--level '{shown_level}': expected local_office, region or icb")
    overrides = {} if min_consultants is None else {"scarcity_min_consultants": min_consultants}
    bundle, sc = setup(posts, scenario, **overrides)
    if bundle.consultants.empty:
        raise FairshareError("this data has no consultants.csv (consultant FTE per ICB piece x "
                             "specialty), so scarcity cannot be measured (docs/scarcity.md)")
    table = filter_specialties(compute_scarcity(bundle, sc), specialty)
    view = table[table["level"] == shown_level]
    if specialty and view["specialty"].nunique() == 1:
        show_table(view.sort_values("scarcity_index"),
                   f"{view['specialty'].iat[0]} — consultants per need-weighted population, by "
                   f"{shown_level.replace('_', ' ')}",
                   ["area", "consultants", "consultants_expected", "scarcity_index",
                    "designation"])
        console.print(f"England: {view['national_per_100k'].iat[0]:.2f} consultants (FTE) per "
                      "100,000 population; index 1 = that rate for the area's need.",
                      highlight=False)
    else:
        counts = view.pivot_table(index="area", columns="designation", values="specialty",
                                  aggfunc="count", fill_value=0).reset_index()
        cols = ["area", *[c for c in ("scarce", "middle", "well provided", TOO_FEW)
                          if c in counts.columns]]
        show_table(counts.sort_values(cols[1] if len(cols) > 1 else "area", ascending=False),
                   f"Specialties by designation — {shown_level.replace('_', ' ')} "
                   f"({view['specialty'].nunique()} specialties with consultants)", cols)
    low, high = sc.scarcity_cutoffs
    console.print(f"index = area's consultants per need ÷ England's; designation among areas "
                  f"expecting ≥ {sc.scarcity_min_consultants:g} consultants: lowest {low:.0%} "
                  f"scarce, highest {1 - high:.0%} well provided. Consultants: {BASIS}.",
                  highlight=False)
    files = write_results(out, {"scarcity": table}, bundle, sc, command="scarcity")
    print_written(files)


__all__ = ["scarcity"]
