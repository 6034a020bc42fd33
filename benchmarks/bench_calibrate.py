"""Speed of `fairshare calibrate` (issue 9: 20 published rows within 30 s on 2 cores).

Prints the in-process fit time (best and median of 3) and the cold command-line time on the
synthetic example (examples/calibration_published_example.csv, 20 rows).

Run: .venv/bin/python benchmarks/bench_calibrate.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "calibration_published_example.csv"


def main() -> None:
    from fairshare import Scenario, load_england
    from fairshare.analysis.calibrate import calibrate, read_published

    bundle = load_england()
    published = read_published(str(EXAMPLE), bundle)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        fit = calibrate(bundle, Scenario(), published, seed=0)
        times.append(time.perf_counter() - t)
    print(f"calibrate, {len(published)} rows, in-process: best {min(times):.2f} s, "
          f"median {statistics.median(times):.2f} s (limit 30 s); "
          f"RMSE {fit.rmse_before:.2f} -> {fit.rmse_after:.2f} posts")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        exe = Path(sys.executable).with_name("fairshare")
        subprocess.run([str(exe), "calibrate", "--published",
                        str(EXAMPLE), "--out", tmp], check=True, capture_output=True)
        print(f"fairshare calibrate (cold CLI, {len(published)} rows): "
              f"{time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
