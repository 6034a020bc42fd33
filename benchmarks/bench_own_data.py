"""Loading a large own-data country (issue 18: 5,000 areas in <= 3 s and <= 0.5 GiB).

A seeded synthetic country of N need areas (each its own post-holding area) is written once
through the documented data-folder files (docs/own_data.md; the generator is bench_plan's),
with an establishment of ``--specialties`` specialties in every area (5,000 areas x 30
specialties = 150,000 rows, within the 200,000-row limit of a posts file). Then, in a fresh
process each time, ``load_bundle(folder, posts)`` is timed (wall and CPU) and its peak memory
(maximum resident set size of that process, imports included) is read: what
`fairshare --data DIR ...` pays before any computing starts. Wall time on the shared 2-core
machine is stretched by other jobs; the CPU time is the steadier figure.

Run: .venv/bin/python benchmarks/bench_own_data.py [--areas 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOAD = """
import resource, sys, time
t0 = time.perf_counter()
import pandera.pandas
from fairshare.inputs.bundle import load_bundle
t, c = time.perf_counter(), time.process_time()
b = load_bundle(sys.argv[1], sys.argv[2])
wall, cpu = time.perf_counter() - t, time.process_time() - c
try:  # this process's own peak (ru_maxrss would include the parent's, kept across exec)
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{wall:.2f} {cpu:.2f} {peak:.0f} {len(b.icbs)} {len(b.posts)} {t - t0:.2f}")
"""


def build(folder: Path, areas: int, specialties: int) -> Path:
    """Write the country's files (bench_plan.synthetic_country) and a smaller posts file."""
    import pandas as pd

    sys.path.insert(0, str(HERE))
    from bench_plan import synthetic_country  # type: ignore[import-not-found]

    try:
        synthetic_country(folder, areas)
    except Exception as exc:  # its own posts file may exceed the row limit: written anyway
        print(f"(generator's own load: {str(exc).splitlines()[0][:100]})")
    posts = pd.read_csv(folder / "posts.csv")
    keep = sorted(posts["specialty"].unique())[:specialties]
    small = folder / "posts_small.csv"
    posts[posts["specialty"].isin(keep)].to_csv(small, index=False)
    return small


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--areas", type=int, default=5000)
    parser.add_argument("--specialties", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "country"
        t = time.perf_counter()
        posts = build(folder, args.areas, args.specialties)
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"built {args.areas:,} areas ({size:,.0f} MB of files) in "
              f"{time.perf_counter() - t:.1f} s")
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, "-c", LOAD, str(folder), str(posts)],
                                 check=True, capture_output=True, text=True).stdout.split()
            wall, cpu, peak, n_areas, rows, imports = out
            print(f"load_bundle: {float(wall):.2f} s wall, {float(cpu):.2f} s CPU (imports "
                  f"before it {float(imports):.2f} s), peak {float(peak) / 1024:.2f} GiB; "
                  f"{n_areas} areas, {int(rows):,} posts rows (target <= 3 s, <= 0.5 GiB)")


if __name__ == "__main__":
    main()
