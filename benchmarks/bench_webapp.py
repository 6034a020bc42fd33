"""Speed of the web app: server time per slider change, and first page load in headless Chromium.

Server time is what a slider change costs the server: the callback function (called directly,
as the Dash callback does) plus encoding its output as JSON the way Dash sends it. 50 changes of
a slider per case, values drawn at random (seeded) so caches of exact repeats do not flatter it;
the need shares (which a δ, weight, σ or method change never touches) are cached, as in the app.

Page load is the time from navigation to the map being drawn (the map's shapes in the page),
in Debian's headless Chromium, with a cold server (first visit) and a warm one.

Run: .venv/bin/python benchmarks/bench_webapp.py [--changes 50] [--no-browser]
Target: a slider change <= 300 ms server time on the national data.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_MS = 300


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _encode(view: dict[str, Any]) -> int:
    from dash._utils import to_json

    payload = {k: v for k, v in view.items() if k in ("figure", "table", "summary")}
    return len(to_json(payload))


def _measure(name: str, changes: list[dict[str, Any]], fn: Callable[[dict[str, Any]], Any],
             engine: Any) -> None:
    times, size = [], 0
    for state in changes:
        t = time.perf_counter()
        view = fn(state)
        size = _encode(view)
        times.append((time.perf_counter() - t) * 1000)
    med, p95 = statistics.median(times), _p95(times)
    verdict = "ok" if p95 <= TARGET_MS else "OVER"
    print(f"{name:<58} median {med:6.1f} ms   p95 {p95:6.1f} ms   max {max(times):6.1f} ms   "
          f"({size / 1024:.0f} kB)  [{verdict}: target <= {TARGET_MS} ms]")


def server_times(n: int) -> None:
    from fairshare.webapp import callbacks as cb
    from fairshare.webapp.engine import Engine
    from fairshare.webapp.state import ALL, clean_state

    t = time.perf_counter()
    engine = Engine()
    print(f"engine (load_england): {(time.perf_counter() - t) * 1000:.0f} ms")
    t = time.perf_counter()
    cb.targets_view(engine, clean_state({}))
    print(f"first map (need shares computed and cached): {(time.perf_counter() - t) * 1000:.0f} "
          "ms\n")
    rng = random.Random(2022)

    def deltas(**fixed: Any) -> list[dict[str, Any]]:
        return [clean_state({**fixed, "delta": round(rng.uniform(0, 1), 2)}) for _ in range(n)]

    print(f"server time per slider change ({n} changes each):")
    for level in ("local_office", "region", "icb"):
        _measure(f"δ slider, General Psychiatry, {level} map + table",
                 deltas(level=level), lambda s: cb.targets_view(engine, s), engine)
    _measure("δ slider, all specialties, local office map + table",
             deltas(specialty=ALL), lambda s: cb.targets_view(engine, s), engine)
    _measure("δ slider, all specialties, ICB map + table",
             deltas(specialty=ALL, level="icb"), lambda s: cb.targets_view(engine, s), engine)
    sigmas = [clean_state({"sigma_mode": "custom", "sigma": round(rng.uniform(0, 0.5), 2)})
              for _ in range(n)]
    _measure("σ slider, General Psychiatry, local office", sigmas,
             lambda s: cb.targets_view(engine, s), engine)
    weights = [clean_state({"weights_mode": "custom", "w_core": round(rng.uniform(0, 1), 2),
                            "w_specialty": round(rng.uniform(0, 1), 2),
                            "w_future": round(rng.uniform(0, 1), 2)}) for _ in range(n)]
    _measure("component weight sliders, ICB", [dict(w, level="icb") for w in weights],
             lambda s: cb.targets_view(engine, s), engine)
    methods = ["hamilton", "webster", "huntington-hill", "dhondt"]
    _measure("apportionment method, all specialties",
             [clean_state({"method": methods[i % 4], "specialty": ALL,
                           "delta": round(rng.uniform(0, 1), 2)}) for i in range(n)],
             lambda s: cb.targets_view(engine, s), engine)
    plan_changes = [clean_state({"tab": "plan", "delta": round(rng.uniform(0, 1), 2),
                                 "specialty": "General Psychiatry"}) for _ in range(n)]
    _measure("δ slider, plan chart (one specialty's MILP)", plan_changes,
             lambda s: cb.plan_view(engine, s), engine)
    caps = [clean_state({"tab": "plan", "pace_cap": round(rng.choice(range(1, 21)) * 0.05, 2),
                         "specialty": "General Psychiatry"}) for _ in range(n)]
    _measure("pace cap slider, plan chart (one specialty's MILP)", caps,
             lambda s: cb.plan_view(engine, s), engine)
    t = time.perf_counter()
    cb.deanery_view(engine, clean_state({"tab": "plan", "delta": 0.37}))
    print(f"\ndeanery tables, whole plan (every specialty's MILP, pipeline.run_plan): "
          f"{(time.perf_counter() - t) * 1000:.0f} ms (once per scenario, then cached)")
    t = time.perf_counter()
    cb.excel_download(engine, clean_state({"delta": 0.37}))
    print(f"Excel workbook download (plan cached): {(time.perf_counter() - t) * 1000:.0f} ms")


def page_load() -> None:
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("\npage load: skipped (playwright is not installed)")
        return
    if not chromium.exists():
        print("\npage load: skipped (no /usr/bin/chromium)")
        return
    from werkzeug.serving import WSGIRequestHandler, make_server

    from fairshare.webapp.app import create_app

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    app = create_app()
    srv = make_server("127.0.0.1", 0, app.server, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{srv.server_port}/"
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"]
    print("\nfirst page load in headless Chromium (navigation -> map drawn):")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=args)
            for label, query in (("cold server, local office map", ""),
                                 ("warm server, local office map", ""),
                                 ("warm server, ICB map", "?level=icb")):
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                page = context.new_page()
                shapes = 42 if "icb" in query else 11
                t = time.perf_counter()
                page.goto(url + query)
                page.wait_for_function(
                    f"document.querySelectorAll('#map path.js-fill').length === {shapes}",
                    timeout=60_000)
                print(f"  {label:<34} {time.perf_counter() - t:6.2f} s")
                if label.startswith("warm server, local"):
                    t = time.perf_counter()
                    before = page.get_attribute("#area-summary", "data-target")
                    page.locator("#delta [role='slider']").focus()
                    page.keyboard.press("End")
                    page.wait_for_function(
                        "document.querySelector('#area-summary').dataset.target !== "
                        f"'{before}'", timeout=30_000)
                    print(f"  {'slider change, key press -> redrawn':<34} "
                          f"{time.perf_counter() - t:6.2f} s (browser round trip)")
                context.close()
            browser.close()
    finally:
        srv.shutdown()
        srv.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50, help="slider changes per case")
    parser.add_argument("--no-browser", action="store_true", help="skip the page-load timing")
    args = parser.parse_args()
    server_times(args.changes)
    if not args.no_browser:
        page_load()


if __name__ == "__main__":
    main()
