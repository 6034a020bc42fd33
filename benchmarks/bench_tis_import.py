"""Benchmark `fairshare posts import` on an England-sized set of SYNTHETIC post records.

The records are made here, for timing only, and every row says SYNTHETIC: one post per post of
the embedded public baseline (about 47,600, by local office and specialty), each with a current
placement and the next one (about 95,000 placements), in the TIS bulk-upload layouts. Times the
import (reading, checking, building the establishment, cohorts and time-limited posts) from CSV
and from Excel, best of ``--repeat`` runs.

Run: .venv/bin/python benchmarks/bench_tis_import.py [--repeat N] [--skip-xlsx]
Target (issue 15): a full England post-record set imports in <= 5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.inputs.bundle import load_england
from fairshare.inputs.tis import read_post_records

OWNER = {"North East": "Health Education England North East",
         "North West": "Health Education England North West",
         "Yorkshire and the Humber": "Health Education England Yorkshire and the Humber",
         "East Midlands": "Health Education England East Midlands",
         "West Midlands": "Health Education England West Midlands",
         "East of England": "Health Education England East of England",
         "London": "London LETBs",
         "Kent Surrey and Sussex": "Health Education England Kent, Surrey and Sussex",
         "Thames Valley": "Health Education England Thames Valley",
         "Wessex": "Health Education England Wessex",
         "South West": "Health Education England South West"}


def synthetic_records(seed: int = 15) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC posts and placements: one post per baseline post, two placements each."""
    bundle = load_england()
    rng = np.random.default_rng(seed)
    posts = bundle.posts.loc[bundle.posts.index.repeat(bundle.posts["posts"])]
    n = len(posts)
    npn = [f"SYN/{i:06d}" for i in range(n)]
    table = pd.DataFrame({
        "National Post Number*": npn, "Approved grade*": "ST3", "Specialty*":
        posts["specialty"].to_numpy(), "Main site (Known as)*": "SYNTHETIC",
        "Training body*": "SYNTHETIC", "Employing body*": "SYNTHETIC",
        "TIS_Programme_ID*": "SYNTHETIC", "Owner*": posts["local_office"].map(OWNER).to_numpy(),
        "Funding Type*": "Tariff", "Funding Start Date*": "01/08/2015",
        "Funding End Date": np.where(rng.random(n) < 0.02, "31/07/2029", "")})
    ends = 2026 + rng.integers(0, 6, size=n)
    current = pd.DataFrame({"Surname*": "SYNTHETIC", "National Post Number*": npn,
                            "Date From*": "06/08/2025", "Date To*": [f"04/08/{y}" for y in ends],
                            "WTE*": "1"})
    nxt = current.assign(**{"Date From*": [f"05/08/{y}" for y in ends],
                            "Date To*": [f"03/08/{y + 1}" for y in ends]})
    return table, pd.concat([current, nxt], ignore_index=True)


def best(func, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-xlsx", action="store_true")
    args = ap.parse_args()
    posts, placements = synthetic_records()
    specs = list(load_england().specialties["specialty"])
    print(f"SYNTHETIC records: {len(posts):,} posts, {len(placements):,} placements")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kinds = ["csv"] if args.skip_xlsx else ["csv", "xlsx"]
        for kind in kinds:
            a, b = folder / f"posts.{kind}", folder / f"placements.{kind}"
            if kind == "csv":
                posts.to_csv(a, index=False)
                placements.to_csv(b, index=False)
            else:
                posts.to_excel(a, index=False)
                placements.to_excel(b, index=False)
            seconds = best(lambda a=a, b=b: read_post_records(a, b, specs), args.repeat)
            print(f"import from {kind:<5} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
