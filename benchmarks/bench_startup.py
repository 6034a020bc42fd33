"""Start-up of the command line (issue 11 item 13: cold `fairshare targets` <= 1 s; issue 18:
cold `fairshare --help` <= 1 s).

Each figure is a fresh Python process (the operating system's file cache is warm, Python's
bytecode cache is warm): what a user waits for when typing a command.

- cold ``fairshare --help`` wall and CPU time (lists commands without importing them);
- cold ``fairshare targets`` wall time (load data, targets, print, write targets.csv);
- import time of the command line for one command (what ``targets`` loads) against every
  command module loaded at once (what it loaded before commands were imported lazily);
- which fairshare modules ``targets`` imports.

Run: .venv/bin/python benchmarks/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("fairshare")
IMPORT_ONE = "import fairshare.cli as c; c.load_commands('targets')"
IMPORT_ALL = "import fairshare.cli as c; c.load_commands()"
LIST_MODULES = ("import sys, fairshare.cli as c; c.load_commands('targets'); "
                "print(' '.join(sorted(m for m in sys.modules if m.startswith('fairshare.'))))")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Best and median wall time; the CPU time of each run is kept in ``CPU`` (a loaded
    machine stretches wall time, CPU time much less)."""
    times = []
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
        CPU.append(_cpu() - c)
    return min(times), statistics.median(times)


CPU: list[float] = []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {repeat} runs each")
    best, med = _wall([str(EXE), "--help"], repeat)
    print(f"cold `fairshare --help`: best {best:.2f} s, median {med:.2f} s wall; CPU best "
          f"{min(CPU):.2f} s, median {statistics.median(CPU):.2f} s (target <= 1 s)")
    CPU.clear()
    with tempfile.TemporaryDirectory() as tmp:
        best, med = _wall([str(EXE), "targets", "--out", tmp], repeat)
    print(f"cold `fairshare targets`: best {best:.2f} s, median {med:.2f} s wall; CPU best "
          f"{min(CPU):.2f} s, median {statistics.median(CPU):.2f} s (target <= 1 s)")
    py = sys.executable
    base, _ = _wall([py, "-c", "pass"], repeat)
    one, _ = _wall([py, "-c", IMPORT_ONE], repeat)
    every, _ = _wall([py, "-c", IMPORT_ALL], repeat)
    print(f"import for `targets` only: {one - base:.3f} s; every command module: "
          f"{every - base:.3f} s (saved {every - one:.3f} s; interpreter {base:.3f} s)")
    mods = subprocess.run([py, "-c", LIST_MODULES], check=True, capture_output=True, text=True)
    print(f"`targets` imports: {mods.stdout.strip()}")


if __name__ == "__main__":
    main()
