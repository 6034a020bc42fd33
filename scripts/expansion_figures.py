"""Print the expansion figures docs/method.md quotes ("The programme's 1,000 posts").

Each plan is made as `fairshare plan --scenario scenarios/expansion-1000.yaml` makes it (the
embedded public baseline, its default corrections, default pace), with the variants' changes
given as overrides. From the plan table, 2023-2025:

* by local office: posts before 2023, redistribution, the cushion (``expansion_offset``: the
  cushions of ``cushion_then_need`` are exactly ``offset_losses``' posts), posts by need
  (``expansion_cushioned`` less the cushion), the ``under_served`` and ``offset_losses``
  columns, and posts in 2025 including the expansion posts still held then;
* London's largest cushions by specialty, London's 2023 (and Cardiology's) gives and gets, and
  London's 2023-2025 gives and gets with the glide to 2030;
* the variants table: shipped; all 1,000 in 2023; the FAQ's three priorities only; a cushion of
  a half.

Run: PYTHONPATH=src .venv/bin/python scripts/expansion_figures.py
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pandas as pd

from fairshare.apportionment import apportion
from fairshare.cli.common import PlanInputs, compute_plan
from fairshare.model.pipeline import PlanOutput

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "expansion-1000.yaml"
FIRST, LAST = 2023, 2025
AREA = "London"
YEAR_POSTS = {2023: 335, 2024: 335, 2025: 330}
FIVE = ["cancer and diagnostics", "elective recovery", "acute and urgent care", "maternity",
        "mental health"]
FAQ_THREE = ["elective recovery", "acute and urgent care", "maternity"]


def tranches(years: dict[int, int], priorities: list[str]) -> list[dict[str, Any]]:
    """Each year's posts shared evenly over the priorities (whole posts, Hamilton)."""
    return [{"year": y, "priority": p, "posts": n}
            for y, total in years.items()
            for p, n in zip(priorities, apportion([1] * len(priorities), total), strict=True)]


def run(glide_until: int | None = None, **overrides: Any) -> PlanOutput:
    """The plan `fairshare plan --scenario scenarios/expansion-1000.yaml` makes (quietly)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return compute_plan(PlanInputs(scenario=SCENARIO, glide_until=glide_until),
                            **overrides)[2]


def window(out: PlanOutput) -> pd.DataFrame:
    """Plan rows 2023-2025, with each row's cushion and posts placed by need."""
    plan = out.plan[out.plan["year"].between(FIRST, LAST)]
    return plan.assign(cushion=plan["expansion_offset"],
                       by_need=plan["expansion_cushioned"] - plan["expansion_offset"])


def summary(out: PlanOutput) -> list[int]:
    """placed, cushion, by need, London, unplaced."""
    w = window(out)
    unplaced = int(out.unplaced["posts"].sum()) if not out.unplaced.empty else 0
    return [int(w["expansion"].sum()), int(w["cushion"].sum()), int(w["by_need"].sum()),
            int(w.loc[w["area"] == AREA, "expansion"].sum()), unplaced]


def markdown(header: list[str], rows: list[list[Any]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|---" + "|---:" * (len(header) - 1) + "|")
    for row in rows:
        print("| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row) + " |")


def by_office(out: PlanOutput) -> None:
    """The by-local-office table, then the sentence figures of the shipped plan."""
    w = window(out)
    first = out.plan[out.plan["year"] == FIRST]
    last = out.plan[out.plan["year"] == LAST]
    before = first["posts"] - first["redistribution"]
    cols = {
        "posts before 2023": before.groupby(first["area"]).sum(),
        "redistribution 2023-25": w.groupby("area")["redistribution"].sum(),
        "cushion": w.groupby("area")["cushion"].sum(),
        "by need": w.groupby("area")["by_need"].sum(),
        "expansion (under_served)": w.groupby("area")["expansion_under_served"].sum(),
        "expansion (offset_losses)": w.groupby("area")["expansion_offset"].sum(),
        "posts 2025 incl. expansion": (last["posts"] + last["expansion_in_post"])
        .groupby(last["area"]).sum(),
    }
    table = pd.DataFrame(cols).astype("int64")
    givers = table.loc[table["cushion"] > 0, "cushion"]
    table.loc["England"] = table.sum()
    markdown(["local office", *cols], [[a, *map(int, r)] for a, r in table.iterrows()])
    held = int(last["expansion_in_post"].sum())
    print(f"\nExpansion posts still held in {LAST}: {held:,} of {int(w['expansion'].sum()):,}")
    print("Cushion by area: " + ", ".join(f"{a} {int(n)}" for a, n in givers.items()))
    lon = w[w["area"] == AREA].groupby("specialty")[["cushion", "redistribution"]].sum()
    top = lon.sort_values(["cushion", "redistribution"], ascending=False).head(3)
    print(f"{AREA}'s largest cushions: " + ", ".join(
        f"{s} ({int(r.cushion)} of {int(-r.redistribution)} given)" for s, r in top.iterrows()))
    y1 = w[(w["area"] == AREA) & (w["year"] == FIRST)]
    card = y1[y1["specialty"] == "Cardiology"]
    print(f"{AREA} {FIRST}: gives {int(-y1['redistribution'].sum())}, gets "
          f"{int(y1['expansion'].sum())} back; Cardiology {int(card['redistribution'].sum()):+} "
          f"and {int(card['expansion'].sum()):+}")


def main() -> None:
    shipped = run()
    by_office(shipped)
    w30 = window(run(glide_until=2030))
    lon = w30[w30["area"] == AREA]
    print(f"Glide to 2030: {AREA} gives {int(-lon['redistribution'].sum())} in {FIRST}-{LAST}, "
          f"gets {int(lon['expansion'].sum())} back\n")
    variants = {
        "shipped: even 2023-25, five priorities": shipped,
        "all in 2023, five priorities": run(expansion=tranches({FIRST: 1000}, FIVE)),
        "even 2023-25, the FAQ's three priorities only": run(
            expansion=tranches(YEAR_POSTS, FAQ_THREE)),
        "shipped, cushion of a half (`expansion_offset_share: 0.5`)": run(
            expansion_offset_share=0.5),
    }
    markdown(["variant", "placed", "cushion", "by need", AREA, "unplaced"],
             [[name, *summary(out)] for name, out in variants.items()])


if __name__ == "__main__":
    main()
