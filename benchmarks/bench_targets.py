"""Speed of the fair-share targets (issue 2 targets: in-process ≤ 1 s, cold CLI ≤ 2 s).

Run: .venv/bin/python benchmarks/bench_targets.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _best(fn, repeat: int = 5) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    t0 = time.perf_counter()
    from fairshare import Scenario, load_england, targets

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    bundle = load_england()
    t_load = time.perf_counter() - t0
    n_spec = bundle.specialties.shape[0]
    print(f"import fairshare: {t_import:.3f} s; first load_england: {t_load:.3f} s")
    for level in ("local_office", "region", "icb"):
        best, med = _best(lambda lv=level: targets(bundle, Scenario(level=lv)))
        print(f"targets, {n_spec} specialties x 42 ICBs -> {level}: best {best * 1000:.0f} ms, "
              f"median {med * 1000:.0f} ms (target <= 1000 ms)")
    for method in ("webster", "huntington-hill", "dhondt"):
        best, _ = _best(lambda m=method: targets(bundle, Scenario(apportionment=m)))
        print(f"targets with {method}: best {best * 1000:.0f} ms")
    from fairshare.inputs.corrections import corrected
    from fairshare.scenario import BaselineCorrections

    every = Scenario(baseline_corrections=BaselineCorrections(
        vacancies=True, non_movable_share=0.1, gp_hospital_months=18))
    for name, sc in (("default baseline corrections", Scenario()), ("every correction", every)):
        best, _ = _best(lambda s=sc: corrected(load_england(), s))  # a fresh bundle: no memo
        print(f"{name} on a fresh bundle: best {best * 1000:.0f} ms (memoised per bundle after)")
    exe = Path(sys.executable).with_name("fairshare")
    walls = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([str(exe), "targets", "--out", out], check=True,
                           capture_output=True)
            walls.append(time.perf_counter() - t)
    print(f"cold `fairshare targets` wall: best {min(walls):.2f} s, median "
          f"{statistics.median(walls):.2f} s (target <= 2 s)")


if __name__ == "__main__":
    main()
