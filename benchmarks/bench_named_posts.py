"""Benchmark `fairshare posts plan`: the named-post plan on the England SYNTHETIC record set.

The records come from scripts/make_synthetic_tis.py (every row SYNTHETIC: one post per post of
the public baseline, about 47,600, with their placements). Times, in-process and best of
``--repeat`` runs: the area plan over the records (``run_plan`` with the records' cohorts), then
on top of it the trust split with each trust's own vacancies (ICB fair targets, the post-by-post
trust choice) and the named-post plan (every post and round). Prints rows and posts moved.

Run: .venv/bin/python benchmarks/bench_named_posts.py [--repeat N]
Target (issue 15): the named-post plan in <= 3 s on top of the area plan.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from fairshare import Scenario
from fairshare.inputs.bundle import load_england
from fairshare.inputs.tis import OFFICE_OWNER, read_post_records
from fairshare.inputs.trusts import (
    TRUST_BASIS,
    catchment_codes,
    load_catchment,
    load_orgs,
    load_trusts,
    trust_minimums,
)
from fairshare.model.named_pipeline import records_bundle, records_trusts, trust_stage
from fairshare.model.named_posts import area_cohorts, named_plan
from fairshare.model.pipeline import run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_synthetic_tis import synthetic_records, write_set  # the one SYNTHETIC generator


def best(func, repeat: int):  # type: ignore[no-untyped-def]
    """The result of the last run and the fastest time."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return result, min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = load_england()
    specs = list(base.specialties["specialty"])
    orgs = load_orgs()
    with tempfile.TemporaryDirectory() as tmp:
        write_set(Path(tmp), *synthetic_records())
        rec = read_post_records(Path(tmp) / "SYNTHETIC_tis_posts.csv",
                                Path(tmp) / "SYNTHETIC_tis_placements.csv", specs, orgs)
    posts = rec.posts.assign(org_name=rec.posts["org_code"].map(
        orgs.set_index("org_code")["org_name"]))
    sc = Scenario(plan_start=2027, horizon=2031)
    bundle = records_bundle(base, posts, "SYNTHETIC")
    trusts = records_trusts(posts, orgs, catchment_codes(), public=load_trusts())
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    cohorts = area_cohorts(posts, sc.plan_start)
    owners = {o: c for o, (_, c) in OFFICE_OWNER.items()}
    years = range(sc.plan_start, sc.horizon + 1)
    lengths = base.specialties.set_index("specialty")["programme_years"].astype(int).to_dict()
    codes = {s: f"{i + 1:03d}" for i, s in enumerate(specs)}
    area, plan_s = best(lambda: run_plan(bundle, sc, cohorts=cohorts), args.repeat)
    rows, trust_s = best(lambda: trust_stage(bundle, sc, area, posts, trusts, load_catchment(),
                                             {s: TRUST_BASIS for s in specs}), args.repeat)
    named, named_s = best(lambda: named_plan(posts, rows, years, lengths, owners, codes),
                          args.repeat)
    moved = int(area.plan["redistribution"].abs().sum()) // 2
    load = os.getloadavg()[0]
    print(f"SYNTHETIC records: {len(posts):,} posts; plan {years.start}-{years.stop - 1}; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'stage':<34}{'seconds':>8}{'rows':>9}")
    print(f"{'area plan (records as cohorts)':<34}{plan_s:>8.2f}{len(area.plan):>9,}")
    print(f"{'trust split (own vacancies)':<34}{trust_s:>8.2f}{len(rows):>9,}")
    print(f"{'named posts':<34}{named_s:>8.2f}{len(named):>9,}")
    print(f"{'on top of the area plan':<34}{trust_s + named_s:>8.2f}")
    print(f"posts moved between areas: {moved:,}; named releases: "
          f"{int((named['post_change'] < 0).sum()):,}")


if __name__ == "__main__":
    main()
