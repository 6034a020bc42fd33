"""Speed of the report and the workbook (issue 10: an Excel download in <= 2 s).

Times, for one national run (11 local offices, every specialty, plan to 2031): building the HTML
report, printing it to PDF with headless Chromium, and building and writing the Excel workbook.
The plan itself is solved once beforehand and not timed (see bench_plan.py).

Run: .venv/bin/python benchmarks/bench_report.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _times(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(best, median) wall seconds and the best CPU seconds of this process (the machine is
    shared, so wall time includes waiting for a core; Chromium's own CPU is not counted)."""
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(times), statistics.median(times), min(cpu)


def main() -> None:
    from fairshare import Scenario, load_england
    from fairshare.model.pipeline import run_plan
    from fairshare.publish.excel import workbook_bytes, write_workbook
    from fairshare.publish.outputs import run_metadata
    from fairshare.publish.pdf import find_chromium
    from fairshare.publish.report import build_report, write_report

    bundle, scenario = load_england(), Scenario()
    out = run_plan(bundle, scenario)
    meta = run_metadata(bundle, scenario, plan_status=out.status)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    def html() -> str:
        return build_report(out.targets, out.plan, meta, findings=out.findings)

    best, med, cpu = _times(html, 3)
    print(f"report HTML ({len(html()) / 1e6:.2f} MB): best {best:.2f} s, median {med:.2f} s, "
          f"CPU {cpu:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        if find_chromium():
            pdf = Path(tmp) / "r.pdf"
            best, med, cpu = _times(lambda: write_report(None, pdf, targets=out.targets,
                                                    plan=out.plan, metadata=meta,
                                                    findings=out.findings), 2)
            print(f"report PDF ({pdf.stat().st_size / 1e6:.1f} MB, HTML + Chromium): "
                  f"best {best:.2f} s, median {med:.2f} s, CPU {cpu:.2f} s")
        else:
            print("report PDF: no Chromium, not timed")
        best, med, cpu = _times(lambda: workbook_bytes(targets=out.targets, plan=out.plan,
                                                  about=meta), 3)
        print(f"workbook in memory (every area): best {best:.2f} s, median {med:.2f} s, "
              f"CPU {cpu:.2f} s (target <= 2 s)")
        xlsx = Path(tmp) / "plan.xlsx"
        best, med, cpu = _times(lambda: write_workbook(xlsx, targets=out.targets, plan=out.plan,
                                                  about=meta), 3)
        print(f"workbook written ({xlsx.stat().st_size / 1e6:.2f} MB): best {best:.2f} s, "
              f"median {med:.2f} s, CPU {cpu:.2f} s (target <= 2 s)")


if __name__ == "__main__":
    main()
