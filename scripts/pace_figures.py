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

With ``--by-area``: each local office's gap and planned 2023-2030 change per scenario.

Run: PYTHONPATH=src .venv/bin/python scripts/pace_figures.py [--by-area] [SCENARIO.yaml ...]
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


def by_area(bundle: object, paths: list[str]) -> None:
    """Each local office's gap and planned 2023-2030 change under each scenario (markdown)."""
    cols: dict[str, pd.Series] = {}
    for path in paths:
        sc = load_scenario(None if path == "default" else path).with_overrides(horizon=LAST)
        out = run_plan(bundle, sc)  # type: ignore[arg-type]
        gap = (out.targets["target"] - out.targets["current"]).groupby(out.targets["area"]).sum()
        window = out.plan[(out.plan["year"] >= FIRST) & (out.plan["year"] <= CHECK)]
        cols[f"gap ({sc.name})"] = gap
        cols[f"2023-2030 ({sc.name})"] = window.groupby("area")["redistribution"].sum()
    table = pd.DataFrame(cols)
    print("| area | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for area, row in table.iterrows():
        print(f"| {area} | " + " | ".join(f"{int(v):+,}" for v in row) + " |")


def main(paths: list[str]) -> None:
    bundle = load_england()
    if paths and paths[0] == "--by-area":
        by_area(bundle, paths[1:] or DEFAULTS)
        return
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
