"""Print the pace figures docs/plan.md quotes ("The default pace"), for any scenario files.

For each scenario (default: the default scenario, scenarios/full-convergence.yaml and
scenarios/programme-pace.yaml), on the embedded public baseline, planned to 2037:

* the share of England's distance from target closed by 2030 and by 2037: 1 − Σ|target −
  posts| in that year ÷ Σ|target − current| before the plan (every area and specialty; the
  distance is to the model's target, whatever the convergence policy aims at);
* London's moves in 2023 and its change 2023-2030 (all specialties), beside its gap;
* the median, over London's specialties that move, of the share of London's yearly intake
  moved: mean |moves| a year from the specialty's first plan year (2023 at the earliest) to
  2030, ÷ yearly intake (current posts ÷ programme length).

Run: PYTHONPATH=src .venv/bin/python scripts/pace_figures.py [SCENARIO.yaml ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from fairshare.inputs.bundle import load_england
from fairshare.model.pipeline import run_plan
from fairshare.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = ["default", str(ROOT / "scenarios" / "full-convergence.yaml"),
            str(ROOT / "scenarios" / "programme-pace.yaml")]
AREA = "London"
FIRST, CHECK, LAST = 2023, 2030, 2037


def figures(plan: pd.DataFrame, targets: pd.DataFrame, specs: pd.DataFrame) -> dict[str, float]:
    """The pace figures of one plan (see the module docstring)."""
    keys = ["area", "specialty"]
    target = targets.set_index(keys)["target"]
    distance = (targets["target"] - targets["current"]).abs().sum()

    def closed(year: int) -> float:
        rows = plan[plan["year"] == year].set_index(keys)
        return float(1 - (target.reindex(rows.index) - rows["posts"]).abs().sum() / distance)

    area = plan[plan["area"] == AREA]
    own = targets[targets["area"] == AREA].set_index("specialty")
    spec = specs.set_index("specialty")
    window = area[(area["year"] >= FIRST) & (area["year"] <= CHECK)]
    shares = []
    for name, rows in window.groupby("specialty"):
        moved = rows["redistribution"].abs()
        if not moved.any():
            continue
        start = max(FIRST, int(spec.loc[name, "phase_start"]))
        years = CHECK - start + 1
        intake = own.loc[name, "current"] / spec.loc[name, "programme_years"]
        shares.append(moved.sum() / years / intake)
    return {
        "closed_2030": closed(CHECK), "closed_2037": closed(LAST),
        "london_2023": int(area.loc[area["year"] == FIRST, "redistribution"].sum()),
        "london_2023_2030": int(window["redistribution"].sum()),
        "london_gap": int((own["target"] - own["current"]).sum()),
        "median_intake_share": float(pd.Series(shares).median()),
        "specialties_moving": len(shares),
    }


def main(paths: list[str]) -> None:
    bundle = load_england()
    print("scenario | closed by 2030 | by 2037 | London 2023 | London 2023-2030 | London gap | "
          "median share of intake moved")
    for path in paths or DEFAULTS:
        sc = load_scenario(None if path == "default" else path).with_overrides(horizon=LAST)
        out = run_plan(bundle, sc)
        f = figures(out.plan, out.targets, bundle.specialties)
        print(f"{sc.name} | {f['closed_2030']:.0%} | {f['closed_2037']:.0%} | "
              f"{f['london_2023']:+,} | {f['london_2023_2030']:+,} | {f['london_gap']:+,} | "
              f"{f['median_intake_share']:.1%} (of {f['specialties_moving']})")


if __name__ == "__main__":
    main(sys.argv[1:])
