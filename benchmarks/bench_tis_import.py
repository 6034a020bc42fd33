"""Benchmark `fairshare posts import` on an England-sized set of SYNTHETIC post records.

The records come from scripts/make_synthetic_tis.py (every row says SYNTHETIC): one post per
post of the embedded public baseline (about 47,600, by trust and specialty), each held post with
its current placement and, for a trainee with years to go, the next one (about 78,600
placements), in the TIS bulk-upload layouts. Times the
import (reading, checking, building the establishment, cohorts and time-limited posts) from CSV
and from Excel, best of ``--repeat`` runs. Excel twice: as the generator writes the records
(dates as dd/mm/yyyy text, as the published templates hold them) and with every date an Excel
date cell and WTE a number, as a real export may hold them (``xlsx-typed``).

Run: .venv/bin/python benchmarks/bench_tis_import.py [--repeat N] [--skip-xlsx]
Target (issue 15): a full England post-record set imports in <= 5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from fairshare.inputs.bundle import load_england
from fairshare.inputs.tis import read_post_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_synthetic_tis import synthetic_records  # the one SYNTHETIC generator


def best(func, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


DATE_COLUMNS = ("Funding Start Date*", "Funding End Date", "Date From*", "Date To*")


def typed(records: pd.DataFrame) -> pd.DataFrame:
    """The records with date cells and numbers instead of text (a real export's typing)."""
    out = records.copy()
    for col in DATE_COLUMNS:
        if col in out:
            out[col] = pd.to_datetime(out[col], format="%d/%m/%Y", errors="coerce")
    if "WTE*" in out:
        out["WTE*"] = out["WTE*"].astype(float)
    return out


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
        kinds = ["csv"] if args.skip_xlsx else ["csv", "xlsx", "xlsx-typed"]
        for kind in kinds:
            suffix = kind.split("-")[0]
            a, b = folder / f"posts-{kind}.{suffix}", folder / f"placements-{kind}.{suffix}"
            if kind == "csv":
                posts.to_csv(a, index=False)
                placements.to_csv(b, index=False)
            else:
                cast = typed if kind == "xlsx-typed" else (lambda t: t)
                cast(posts).to_excel(a, index=False, engine="xlsxwriter")
                cast(placements).to_excel(b, index=False, engine="xlsxwriter")
            seconds = best(lambda a=a, b=b: read_post_records(a, b, specs), args.repeat)
            print(f"import from {kind:<10} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
