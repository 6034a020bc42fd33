"""The page's words: parameter names a planner reads, and the glossary one click from each term.

Definitions follow the specification (METHOD.md) and docs/specialties.md; the page links each
term to its entry (``#def-<key>``), so no definition is more than one click away.
"""

from __future__ import annotations

import re
from typing import Any

#: Scenario parameters in words (the comparison says "Deprivation weight δ", not
#: "deprivation_weight").
PARAM_WORDS: dict[str, str] = {
    "deprivation_weight": "Deprivation weight δ",
    "weights": "Component weights",
    "weights.core": "Weight of core need",
    "weights.specialty": "Weight of the specialty's driver today",
    "weights.future": "Weight of projected demand",
    "specialty_weights": "Component weights for named specialties",
    "specialised_share": "Specialised share σ (posts kept where they are)",
    "specialty_specialised_share": "Specialised share σ for named specialties",
    "base_year": "Base year of the population",
    "projection_year": "Projection year",
    "projection_variant": "ONS projection variant",
    "apportionment": "Apportionment method (whole posts)",
    "controlled_rounding": "Controlled rounding",
    "minimum_posts": "Minimum posts per area",
    "level": "Geography level",
    "plan_start": "First plan year",
    "horizon": "Plan horizon",
    "pace_cap": "Pace cap (largest share of the gap closed a year)",
    "discount": "Weight of early progress (discount)",
    "capacity_headroom": "Supervision capacity headroom",
    "min_viable_posts": "Minimum viable programme size",
    "elastic": "Relax constraints that cannot all hold",
    "require_target_by": "Year every target must be reached",
    "expansion": "Time-limited expansion posts",
    "expansion_minimum_per_area": "Expansion: minimum per area",
    "expansion_beyond_target": "Expansion may go beyond target",
    "uncertainty": "Uncertainty ranges",
}

METHOD_LABELS = {
    "hamilton": "Largest remainder (Hamilton)",
    "webster": "Webster / Sainte-Laguë",
    "huntington-hill": "Huntington-Hill",
    "dhondt": "D'Hondt / Jefferson",
    "adams": "Adams",
}

#: key -> (term, definition). Keys are the anchors ``#def-<key>``.
GLOSSARY: dict[str, tuple[str, str]] = {
    "local-office": ("Local office", "One of the 11 NHS England postgraduate deaneries (North "
                     "East, North West, Yorkshire and the Humber, East Midlands, West Midlands, "
                     "East of England, London, Kent Surrey and Sussex, Thames Valley, Wessex, "
                     "South West). Local offices hold training posts; need is measured on the "
                     "42 integrated care boards (ICBs) and added up to them."),
    "fair-share": ("Fair share", "An area's share of a specialty's posts in proportion to its "
                   "need: core need, the specialty's own demand driver today and projected, and "
                   "deprivation (weight δ), with a share σ of posts kept where they are for "
                   "specialised services. Shown in posts, with decimals."),
    "target": ("Target", "The fair share turned into whole posts. Every specialty's national "
               "total stays what it is today: redistribution moves posts, it never adds any."),
    "gap": ("Gap", "Target − current posts. Positive (+): the area is below its target and "
            "receives posts. Negative (−): it is above its target and gives posts. As a "
            "percentage, the gap is divided by the target (% of target), with the same sign."),
    "scarcity": ("Scarcity", "Consultants in post in a specialty (NHS Digital, FTE, September "
                 "2017) per need-weighted population, as an index (1 = England's rate). Areas "
                 "are ranked into thirds: scarce, middle, well provided. An area expected to "
                 "hold fewer consultants than the scenario's minimum is too few to designate; "
                 "specialties without consultants in the file have no designation "
                 "(docs/scarcity.md)."),
    "guided-distribution": ("Guided distribution", "NHS England's programme that moves "
                            "training posts toward each area's fair share over several years, "
                            "only as posts fall vacant at recruitment. Its published figures "
                            "are its own; the gap shown here is fairshare's model gap, which "
                            "differs from them."),
    "phase": ("Phase", "The wave in which a specialty's posts start to move: Trailblazer "
              "(recruitment from 2022), A (2023), B (2026), C (2029). A specialty with no phase "
              "(TBC) has a target and gap, but the plan moves none of its posts."),
    "trailblazer": ("Trailblazer", "The first phase of guided distribution: the specialties "
                    "whose posts started to move with the August 2022 recruitment."),
    "hamilton": ("Hamilton (largest remainder)", "A way to turn fractional targets into whole "
                 "posts: give every area the whole part of its target, then hand the posts "
                 "left over to the largest fractions. Totals are kept exactly. Webster, "
                 "Huntington-Hill, D'Hondt and Adams are other rounding rules."),
    "pace-cap": ("Pace cap", "The largest share of an area's gap the plan may close in one "
                 "year (for smooth glide paths); none means as fast as vacancies and "
                 "supervision capacity allow."),
    "expansion": ("Time-limited expansion", "New posts funded for a limited period on top of "
                  "redistribution; a trainee in one keeps it for the whole programme."),
    "plan-year": ("Plan year", "A recruitment round (August). Years before the first one still "
                  "to come are a reconstruction of what the plan would have moved, not moves "
                  "still to make."),
    "gini": ("Gini coefficient", "How unevenly posts per unit of need are spread across "
             "areas: 0 means every area has exactly its fair share; higher is more unequal."),
}


def term_link(key: str, text: str | None = None) -> Any:
    """A link from a word on the page to its glossary entry."""
    from dash import html

    term = GLOSSARY[key][0]
    return html.A(text or term, href=f"#def-{key}", className="term",
                  title=f"What is {term.lower()}? (glossary)")


_LINE = re.compile(r"^(?P<name>[a-z_][a-z_.]*): (?P<rest>.*)$")


def in_words(line: str) -> str:
    """A comparison line with the parameter named in words and arrows drawn as arrows."""
    text = line.replace(" -> ", " → ")
    m = _LINE.match(text)
    if m and m.group("name") in PARAM_WORDS:
        return f"{PARAM_WORDS[m.group('name')]}: {m.group('rest')}"
    if m:
        return f"{m.group('name').replace('_', ' ').replace('.', ': ').capitalize()}: " \
               f"{m.group('rest')}"
    return text
