#!/usr/bin/env python
"""Write docs/validation.md: each local office's gap and planned change, scenario by scenario.

Usage::

    .venv/bin/python scripts/build_validation.py [--out docs/validation.md]

For every local office it computes, on the embedded England data, today's gap (target - current,
summed over specialties) and the planned 2023-2030 change (redistribution summed over the plan
years 2023 to 2030), under: the default scenario (whatever ``Scenario()`` is on this branch), the
full-convergence view (convergence policy ``full``, pace ``fastest``), the baseline exactly as
built (every correction off), and each baseline correction switched against the default. It
then sets London's figures in the 20 specialties of the programme's March 2023 London table
(the three trailblazers and phase A, less Stroke Medicine, which the baseline lacks) beside the
published aggregate facts quoted in issue 14. The text around the tables is written here; every
number is computed. The file is written atomically (fairshare.io.write_text).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from fairshare import Scenario, load_england  # noqa: E402
from fairshare.io import write_text  # noqa: E402
from fairshare.model.pipeline import run_plan  # noqa: E402
from fairshare.scenario import BaselineCorrections  # noqa: E402

FIRST, LAST = 2023, 2030
#: Published aggregate facts for London (issue 14, from the programme's March 2023 London
#: tables): the guided 2023-2030 change in its 20 specialties, the 2023 actual change, and
#: the share of London's yearly intake moved.
PUBLISHED = {"change": -320, "first_year": -48, "intake_share": 0.04}
#: The targets table's waterfall: why a target differs from a plain population share.
WATERFALL = {"population_share_posts": "plain population share of the national posts",
             "effect_need": "age and need", "effect_projection": "projected demand",
             "effect_deprivation": "deprivation (δ)",
             "effect_specialised": "specialised services kept in place (σ)",
             "effect_rounding": "whole posts"}


@dataclass(frozen=True)
class Case:
    """One column of the comparison: a name, what it changes and the scenario."""

    name: str
    what: str
    scenario: Scenario


def cases() -> list[Case]:
    """The default, the full-convergence view, and each baseline correction on and off."""
    base = Scenario()
    bc = base.baseline_corrections

    def switch(label: str, what: str, **change: object) -> Case:
        setting = bc.model_copy(update=change)
        return Case(label, what, base.with_overrides(
            name=label, baseline_corrections=setting.model_dump()))

    flip = {
        "gim": ("as_counted" if bc.gim == "group1_mix" else "group1_mix"),
        "modelled_spread": ("as_built" if bc.modelled_spread == "need_base" else "need_base"),
        "trust_sites": not bc.trust_sites,
        "vacancies": not bc.vacancies,
        "non_movable_share": 0.0 if bc.non_movable_share else 0.1,
        "gp_hospital_months": 0 if bc.gp_hospital_months else 18,
    }
    out = [
        Case("default", "the default scenario on this branch", base),
        Case("full", "convergence policy full, pace fastest",
             base.with_overrides(name="full", pace="fastest",
                                 convergence={"policy": "full"})),
        Case("as built", "every baseline correction off",
             base.with_overrides(name="as built",
                                 baseline_corrections=BaselineCorrections.none().model_dump())),
    ]
    for key, value in flip.items():
        out.append(switch(f"{key}={_text(value)}", f"default with {key} = {_text(value)}",
                          **{key: value}))
    return out


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def run(case: Case, bundle: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(targets, plan) of one case on the embedded England data."""
    out = run_plan(bundle, case.scenario)  # type: ignore[arg-type]
    return out.targets, out.plan


def by_office(tgt: pd.DataFrame, plan: pd.DataFrame) -> pd.DataFrame:
    """Per local office: today's gap and the planned change over the plan years 2023-2030."""
    gap = tgt.groupby("area")["gap"].sum()
    years = plan[(plan["year"] >= FIRST) & (plan["year"] <= LAST)]
    change = years.groupby("area")["redistribution"].sum().reindex(gap.index).fillna(0)
    return pd.DataFrame({"gap": gap, "change": change.astype(int)})


def london(tgt: pd.DataFrame, plan: pd.DataFrame, specs: pd.DataFrame) -> dict[str, float]:
    """London's aggregate figures in the 20 specialties of the programme's published table."""
    phased = set(specs.loc[specs["phase"].isin(["Trailblazer", "A"]), "specialty"])
    t = tgt[(tgt["area"] == "London") & tgt["specialty"].isin(phased)]
    p = plan[(plan["area"] == "London") & plan["specialty"].isin(phased)]
    window = p[(p["year"] >= FIRST) & (p["year"] <= LAST)]
    years = specs.set_index("specialty")["programme_years"]
    intake = t.set_index("specialty")["current"] / years.reindex(t["specialty"]).to_numpy()
    moving = window[window["redistribution"] != 0]
    yearly = moving.groupby("specialty")["redistribution"].apply(lambda s: s.abs().mean())
    share = (yearly.reindex(intake.index).fillna(0) / intake.replace(0, np.nan)).dropna()
    steps = {c: float(t[c].sum()) for c in WATERFALL if c in t.columns}
    return {**steps, "n": float(t["specialty"].nunique()), "gap": float(t["gap"].sum()),
            "change": float(window["redistribution"].sum()),
            "first_year": float(p.loc[p["year"] == FIRST, "redistribution"].sum()),
            "intake_share": float(share.median()), "posts": float(t["current"].sum()),
            "intake": float(intake.sum())}


def pace_text(sc: Scenario) -> str:
    """The default pace in words, from the scenario's own fields."""
    if sc.pace == "glide":
        return f"glide: each gap spread evenly to {sc.glide_until}"
    return str(sc.pace)


def _signed(v: float) -> str:
    return f"{v:+,.0f}".replace("-", "−") if round(v) else "0"


def office_table(results: dict[str, pd.DataFrame], column: str) -> str:
    """Markdown: one row per local office, one column per case, then the England total."""
    names = list(results)
    offices = results[names[0]].index
    head = "| Local office | " + " | ".join(names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 1)]
    for office in offices:
        lines.append(f"| {office} | " + " | ".join(
            _signed(results[n].at[office, column]) for n in names) + " |")
    lines.append("| **England** | " + " | ".join(
        _signed(results[n][column].sum()) for n in names) + " |")
    return "\n".join(lines)


def moved_table(results: dict[str, pd.DataFrame], tgts: dict[str, pd.DataFrame]) -> str:
    """Posts that change area at target (half the sum of |gap| over specialties and offices)."""
    cells = [f"{tgts[n]['gap'].abs().sum() / 2:,.0f}" for n in results]
    return ("| | " + " | ".join(results) + " |\n|" + "---|" * (len(results) + 1)
            + "\n| posts to move at target | " + " | ".join(cells) + " |")


def build() -> str:
    bundle = load_england()
    specs = bundle.specialties
    results, tgts, ldn, whats = {}, {}, {}, {}
    for case in cases():
        tgt, plan = run(case, bundle)
        results[case.name] = by_office(tgt, plan)
        tgts[case.name] = tgt
        ldn[case.name] = london(tgt, plan, specs)
        whats[case.name] = case.what
    return render(results, tgts, ldn, whats)


def render(results: dict[str, pd.DataFrame], tgts: dict[str, pd.DataFrame],
           ldn: dict[str, dict[str, float]], whats: dict[str, str]) -> str:
    d, full, built = ldn["default"], ldn["full"], ldn["as built"]
    legend = "\n".join(f"* **{n}**: {w}" for n, w in whats.items())
    london_rows = "\n".join(
        f"| {n} | {_signed(v['gap'])} | {_signed(v['change'])} | {_signed(v['first_year'])} "
        f"| {v['intake_share']:.0%} |" for n, v in ldn.items())
    shown = {c: (f"{d[c]:,.0f}" if c == "population_share_posts" else _signed(d[c]))
             for c in WATERFALL if c in d}
    steps = "\n".join(f"  | {WATERFALL[c]} | {v} |" for c, v in shown.items())
    switches = {n: abs(v["change"] - d["change"]) for n, v in ldn.items()
                if n not in ("default", "full")}
    widest = max(switches, key=lambda n: switches[n])
    return TEMPLATE.format(
        spread=f"{switches[widest]:,.0f}", widest=widest, steps=steps,
        target=f"{d['posts'] + d['gap']:,.0f}",
        pop_gap=_signed(d.get("population_share_posts", np.nan) - d["posts"]),
        legend=legend,
        gap=office_table(results, "gap"),
        change=office_table(results, "change"),
        moved=moved_table(results, tgts),
        london_rows=london_rows,
        n=int(d["n"]), posts=f"{d['posts']:,.0f}",
        pub_change=_signed(PUBLISHED["change"]), pub_first=_signed(PUBLISHED["first_year"]),
        pub_share=f"{PUBLISHED['intake_share']:.0%}",
        d_gap=_signed(d["gap"]), d_change=_signed(d["change"]),
        d_first=_signed(d["first_year"]), d_share=f"{d['intake_share']:.0%}",
        f_change=_signed(full["change"]), b_gap=_signed(built["gap"]),
        f_share=f"{full['intake_share']:.0%}", pace=pace_text(Scenario()),
        pace_ratio=f"{d['intake_share'] / PUBLISHED['intake_share']:.1f}",
        intake=f"{d['intake']:,.0f}",
        years=f"{abs(d['gap']) / (PUBLISHED['intake_share'] * d['intake']):.0f}",
        ratio=f"{d['change'] / PUBLISHED['change']:.1f}",
    )


TEMPLATE = """# Validation: what each choice does, and London against the published figures

This page is written by `scripts/build_validation.py` (rerun it after any change to the
defaults, the data or the baseline corrections); every number is computed, the words are the
script's. It answers issue 14's "Checks": for each local office, today's gap and the planned
2023–2030 change under the default, the full-convergence view, and each baseline correction on
and off ([baseline.md](baseline.md#baseline-corrections)), then London's aggregate figures
against the programme's published ones.

Columns (every one is a whole England run, `fairshare plan` with the embedded data):

{legend}

Each switch column changes one baseline correction against the default and leaves everything
else as it is, so the difference from the default column is that correction's effect.

## Today's gap by local office

Target − current, summed over every specialty in the baseline (positive: the office receives
posts; negative: it gives). A sum over specialties nets givers against receivers inside an
office, so the table after it shows the posts that change area.

{gap}

{moved}

## Planned change 2023–2030 by local office

Redistribution summed over the plan years 2023 to 2030 (recruitment rounds; moves of the
trailblazers' 2022 round are outside the window), all specialties.

{change}

Every column adds to zero over the offices: redistribution moves posts, it never adds or
removes them (`tests/test_validation_doc.py` checks this on the tables above). The funded-posts
and GP-rotation switches change some national totals (they change what is counted), and the
gaps still add to zero because targets share the changed totals.

## London against the programme's published figures

The programme's March 2023 London tables are not in the repository; issue 14 quotes their
aggregates for the {n} specialties of the table (the three trailblazers and phase A; Stroke
Medicine is not in the baseline): a guided 2023–2030 change of {pub_change}, an actual 2023
change of {pub_first}, and about {pub_share} of London's yearly intake moved. fairshare's figures
in the same specialties (London holds {posts} of their posts in the default baseline):

| Case | gap today | planned 2023–2030 | 2023 | median share of yearly intake moved |
|---|---|---|---|---|
| published (programme) | — | {pub_change} | {pub_first} | {pub_share} |
{london_rows}

"Share of yearly intake moved" is, per specialty, the mean number of posts moved a year in the
years London moves any (2023–2030), divided by London's current posts over the programme's
length; the median over the specialties.

### What remains different, and why

* **Order of magnitude.** Under the default, London's planned 2023–2030 change in these
  specialties is {d_change}, {ratio} times the published {pub_change}; its gap today is {d_gap}
  (as built, with every correction off: {b_gap}). The full-convergence view plans {f_change}.
  Switching any one baseline correction moves London's planned change in these specialties by
  at most {spread} posts ({widest}); none closes a difference of this size. What is left is
  mostly the method and the pace, not the baseline.
* **The baseline is staff in post in September 2017, not funded posts in 2023.** Vacancies are
  missing and they are not spread evenly (the funded-posts switch can only scale a specialty
  nationally: the public fill rates are national and partial), trusts' own funded posts count
  as movable (no public figure per office exists; the non-movable switch shows what a uniform
  share does), and five years of change before the programme began are missing.
* **Most of London's gap is population share, not the need adjustments.** The targets
  table's waterfall, summed over London's rows in these specialties under the default:

  | step | posts |
  |---|---|
  | London's current posts | {posts} |
{steps}
  | London's target | {target} |

  A plain population share alone would take London {pop_gap} from its current posts: London
  trains far more than its residents' share, largely because it hosts national and tertiary
  services. The need adjustments and σ move that by the amounts above. The programme's own
  need formula and its allowance for London's specialised services are not public in full, so
  a target closer to today's posts there (a larger σ, or tertiary activity counted as need) is
  the most likely reason its figure is smaller; this page cannot say by how much.
* **Pace.** The programme spread its moves over a long life (15+ years) and moved about
  {pub_share} of London's intake a year. fairshare's default pace ({pace}) moves a median
  {d_share} of London's yearly intake in these specialties ({pace_ratio} times the published
  share), and the full-convergence view {f_share}. London's yearly intake in these specialties
  is about {intake} posts (current posts over programme length); at the published {pub_share}
  a year, closing the default gap of {d_gap} would take about {years} years, so a gap of this
  size and the programme's pace cannot both hold: either the programme's gap is smaller, or
  closing it takes far longer than 15 years.
* **What the comparison can and cannot say.** Only aggregate published figures are available
  here, so this page can judge London's order of magnitude and the direction of each correction,
  not individual specialties; the per-specialty published figures would be needed for that.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "validation.md")
    args = ap.parse_args(argv)
    text = build()
    write_text(args.out, text)
    print(f"wrote {args.out} ({len(text):,} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
