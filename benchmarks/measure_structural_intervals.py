"""What the structural draws do to the intervals (docs/uncertainty.md, "measured" table).

Runs the target-level Monte Carlo with the families added one at a time (before: δ, weights, σ
multiplier, projections; + σ tiers; + population base; the default, + convergence) and prints,
as a Markdown table, London's net-gap interval and how many area x specialty intervals changed
width. Run: .venv/bin/python benchmarks/measure_structural_intervals.py [--draws N] [--seed S]
"""

from __future__ import annotations

import argparse

from fairshare import Scenario, load_england
from fairshare.analysis.uncertainty import UncertaintySpec, monte_carlo_intervals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--area", default="London")
    args = parser.parse_args()
    bundle, sc, default = load_england(), Scenario(), UncertaintySpec()
    specs = {
        "before: δ, weights, σ multiplier, projections":
            UncertaintySpec(structural=(), specialised_share_tier_shift=0.0),
        "+ σ tiers": UncertaintySpec(structural=()),
        "+ population base": UncertaintySpec(structural=default.structural[:1]),
        "default: + convergence": default,
    }
    results = {k: monte_carlo_intervals(bundle, sc, s, draws=args.draws, seed=args.seed)
               for k, s in specs.items()}
    first = next(iter(results.values())).cells
    w0 = first["target_p95"] - first["target_p5"]
    print(f"{args.area}, {args.draws:,} draws, seed {args.seed}")
    print("| draws over | 5th pct | median | 95th pct | width | intervals changed | wider "
          "| median width |")
    print("|---|---|---|---|---|---|---|---|")
    for name, res in results.items():
        cells, row = res.cells, res.areas.set_index("area").loc[args.area]
        w = cells["target_p95"] - cells["target_p5"]
        aim = (f" (aim − current {row['aim_gap_p5']:,.0f} to {row['aim_gap_p95']:,.0f})"
               if "aim_gap_p5" in row else "")
        print(f"| {name} | {row['gap_p5']:,.0f} | {row['gap_p50']:,.0f} | "
              f"{row['gap_p95']:,.0f} | {row['gap_p95'] - row['gap_p5']:,.0f}{aim} | "
              f"{(w != w0).mean():.0%} | {(w > w0).mean():.0%} | {w.median():g} |")


if __name__ == "__main__":
    main()
