"""Benchmark review decisions on `fairshare posts`: the trust split without and with them.

Times, in-process and best of ``--repeat`` runs, on the England default: the trust split alone
(``run_trust_plan``) and with review decisions (``reviewed_trust_plan``: the split without
decisions, to know what each refers to, then the split they steer): the three decisions of
examples/decisions_template.csv, and a large review that decides on every area and specialty
of one round (reject the first giving trust, accept the second, propose another trust in place
of the first receiving one). Prints the seconds, the decisions and their outcomes.

Run: .venv/bin/python benchmarks/bench_decisions.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from fairshare.inputs.bundle import load_england
from fairshare.inputs.corrections import corrected, corrected_trusts
from fairshare.inputs.decisions import DECISION_COLUMNS, read_decisions
from fairshare.inputs.posts import area_lookup
from fairshare.inputs.trusts import TRUST_BASIS, load_catchment, load_trusts, trust_minimums
from fairshare.model.pipeline import run_plan
from fairshare.model.trust_pipeline import reviewed_trust_plan, run_trust_plan
from fairshare.scenario import Scenario

TEMPLATE = Path(__file__).resolve().parents[1] / "examples" / "decisions_template.csv"


def best(func, repeat: int):  # type: ignore[no-untyped-def]
    """The result of the last run and the fastest time."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return result, min(times)


def large_review(before: pd.DataFrame, trusts: pd.DataFrame, year: int) -> pd.DataFrame:
    """A decision on every area and specialty that moves posts at a trust in ``year``."""
    rows = []
    placed = before[(before["year"] == year) & (before["org_code"] != "")
                    & (before["kind"] == "redistribution")]
    for (area, spec), part in placed.groupby(["area", "specialty"]):
        orgs = part["org_code"].tolist()
        key = f"{area}|{spec}|{year}|"
        if part["change"].iat[0] < 0:
            rows.append((key + orgs[0], area, spec, year, orgs[0], "reject", "bench", ""))
            if len(orgs) > 1:
                rows.append((key + orgs[1], area, spec, year, orgs[1], "accept", "", ""))
            continue
        unit = trusts[(trusts["area"] == area) & (trusts["specialty"] == spec)]
        others = sorted(set(unit["org_code"]) - set(orgs))
        if others:
            rows.append((key + orgs[0], area, spec, year, orgs[0], "propose", "bench",
                         others[0]))
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    bundle, sc = load_england(), Scenario()
    trusts = corrected_trusts(load_trusts(), corrected(bundle, sc))
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    catchment = load_catchment()
    basis = {s: TRUST_BASIS for s in bundle.specialties["specialty"]}
    out = run_plan(bundle, sc)
    before, alone = best(lambda: run_trust_plan(bundle, sc, out, trusts, catchment, basis),
                         args.repeat)
    offices, _ = area_lookup(bundle.local_offices, bundle.icbs)
    cases = {"template (3 decisions)": read_decisions(
        TEMPLATE, offices=offices, specialties=list(bundle.specialties["specialty"]),
        trusts=trusts["org_code"]), "every area x specialty, 2027": large_review(
        before, trusts, 2027)}
    print(f"England default to {sc.horizon}: trust split alone {alone:.2f} s "
          f"({len(before):,} rows)")
    for name, table in cases.items():
        done, secs = best(lambda table=table: reviewed_trust_plan(
            bundle, sc, out, trusts, catchment, basis, table), args.repeat)
        counts = Counter(done.outcomes["outcome"])
        print(f"{name:<32}{len(table):>5} decisions {secs:>7.2f} s  "
              + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
