"""Benchmark `fairshare posts plan`: the named-post plan on the England SYNTHETIC record set.

The records come from scripts/make_synthetic_tis.py (every row SYNTHETIC: one post per post of
the public baseline, about 47,600, with their placements). Times, in-process and best of
``--repeat`` runs: the area plan over the records (``run_plan`` with the records' cohorts), then
on top of it the trust split with each trust's own vacancies (ICB fair targets, the post-by-post
trust choice) and the named-post plan (every post and round). Prints rows and posts moved.
Then, for the last plan length, the time to write the command's output folder (the England
tables, and per local office its CSVs and workbook): CPU and wall, one run; and its parts
apart (CPU), with pandas' own ``to_csv`` of the largest table for comparison.

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
from fairshare.model.named_pipeline import (
    NamedPlan,
    records_bundle,
    records_trusts,
    trust_stage,
)
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
    print(f"SYNTHETIC records: {len(posts):,} posts; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'rounds':<11}{'area plan s':>12}{'trusts s':>10}{'named s':>9}{'on top s':>10}"
          f"{'rows':>9}{'moved':>7}")
    for horizon in (2031, 2037):
        sc = Scenario(plan_start=2027, horizon=horizon)
        case = _case(sc, base, posts, orgs, specs, args.repeat)
    _folder(case, posts, sc)


def _folder(case: tuple, posts, sc: Scenario) -> None:  # type: ignore[no-untyped-def]
    """Write the folder ``fairshare posts plan`` writes (its own ``_tables``), and time it;
    then its parts apart (CPU): the tables' CSVs, the per-office CSVs, the office workbooks,
    and the England named-post CSV as pandas' ``to_csv`` writes it (the writer before
    ``publish/csv_text.py``), for comparison."""
    from fairshare.cli.posts_plan import _tables
    from fairshare.publish.columns import formatted
    from fairshare.publish.outputs import defuse_formulas, write_csv, write_results

    bundle, area, trusts, named = case
    plan = NamedPlan(area=area, trusts=trusts, named=named.assign(scenario=sc.name))
    with tempfile.TemporaryDirectory() as tmp:
        cpu, wall = time.process_time(), time.perf_counter()
        tables, files = _tables(plan.named.assign(basis="SYNTHETIC"), plan, posts,
                                "SYNTHETIC", True)
        write_results(Path(tmp) / "out", tables, bundle, sc, command="posts-plan",
                      attachments=files)
        print(f"output folder {sc.plan_start}-{sc.horizon} ({len(tables)} tables, "
              f"{len(files)} other files): {time.process_time() - cpu:.2f} s CPU, "
              f"{time.perf_counter() - wall:.2f} s wall")
        parts = Path(tmp) / "parts"
        cpu = time.process_time()
        for name, table in tables.items():
            write_csv(table, parts / f"{name}.csv")
        spent = {"the 3 tables as CSV": time.process_time() - cpu}
        for kind, what in ((".csv", "office CSVs"), (".xlsx", "office workbooks")):
            chosen = {k: f for k, f in files.items() if k.endswith(kind)}
            cpu = time.process_time()
            for name, write in chosen.items():
                write(parts / name)
            spent[f"{len(chosen)} {what}"] = time.process_time() - cpu
        ready = defuse_formulas(formatted(tables["named_posts"]))
        cpu = time.process_time()
        ready.to_csv(parts / "pandas.csv", index=False)
        spent["(named_posts.csv by pandas to_csv)"] = time.process_time() - cpu
        print("  parts, CPU: " + "; ".join(f"{k} {v:.2f} s" for k, v in spent.items()))


def _case(sc: Scenario, base, posts, orgs, specs, repeat: int):  # type: ignore[no-untyped-def]
    """Time one plan length: the area plan, then the trust split and the named posts on top.
    Returns the bundle and the three plans, for the folder."""
    bundle = records_bundle(base, posts, "SYNTHETIC")
    trusts = records_trusts(posts, orgs, catchment_codes(), public=load_trusts())
    trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
    cohorts = area_cohorts(posts, sc.plan_start)
    owners = {o: c for o, (_, c) in OFFICE_OWNER.items()}
    years = range(sc.plan_start, sc.horizon + 1)
    lengths = base.specialties.set_index("specialty")["programme_years"].astype(int).to_dict()
    codes = {s: f"{i + 1:03d}" for i, s in enumerate(specs)}
    area, plan_s = best(lambda: run_plan(bundle, sc, cohorts=cohorts), repeat)
    rows, trust_s = best(lambda: trust_stage(bundle, sc, area, posts, trusts, load_catchment(),
                                             {s: TRUST_BASIS for s in specs}), repeat)
    named, named_s = best(lambda: named_plan(posts, rows, years, lengths, owners, codes), repeat)
    moved = int((named["post_change"] < 0).sum())
    print(f"{years.start}-{years.stop - 1:<6}{plan_s:>12.2f}{trust_s:>10.2f}{named_s:>9.2f}"
          f"{trust_s + named_s:>10.2f}{len(named):>9,}{moved:>7,}")
    return bundle, area, rows, named

if __name__ == "__main__":
    main()
