"""What the shared service adds to a page the single-user app serves (issue 17: <= 50 ms).

The same Dash explorer page and the same callback (the map and targets table for the default
view), asked of two real servers started by the command line on loopback:

- ``fairshare serve`` (the single-user app: waitress, no sign-in), and
- ``fairshare service serve`` on a throwaway PostgreSQL server (tests/pgcluster.py), signed in
  as an analyst through the real sign-in form; every request there passes the session check,
  the CSRF check on the callback, the security headers and the JSON request log.

Requests alternate between the two servers (A, B, B, A, ...) so a change in the machine's load
falls on both; the added time is the median of the paired differences. The callback is answered
from the app's cache after the first call on both servers, so what is measured is the serving
path, not the model. Nothing reaches outside 127.0.0.1.

Run: .venv/bin/python benchmarks/bench_service_overhead.py [--repeats 200] [--sqlite]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers

TARGET_MS = 50.0
#: Where the service mounts the Dash explorer (service/app.py).
EXPLORER = "/explore/"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def callback_body() -> dict[str, Any]:
    """The JSON Dash's renderer sends for the map callback, default view (as the page does)."""
    from dash._utils import split_callback_id

    from fairshare.webapp.app import create_app
    from fairshare.webapp.engine import Engine
    from fairshare.webapp.state import clean_state

    app = create_app(engine=Engine(prefetch=False), warm=False)
    output = next(k for k in app.callback_map if "..map.figure" in k)
    spec = app.callback_map[output]
    return {"output": output, "outputs": split_callback_id(output),
            "inputs": [{**i, "value": clean_state({})} for i in spec["inputs"]],
            "state": [{**s, "value": None} for s in spec["state"]],
            "changedPropIds": [f"{spec['inputs'][0]['id']}.data"]}


class Target:
    """One server's page and callback, with what a browser would send them."""

    def __init__(self, name: str, session: Any, page: str, callback: str) -> None:
        self.name, self.session, self.page, self.callback = name, session, page, callback

    @property
    def headers(self) -> dict[str, str]:
        """What Dash's renderer adds: the CSRF token from the ``_csrf_token`` cookie the
        service sets on the explorer's page (none on the single-user app)."""
        token = self.session.cookies.get("_csrf_token")
        return {"X-CSRFToken": token} if token else {}

    def get_page(self) -> float:
        t = time.perf_counter()
        answer = self.session.get(self.page, timeout=60)
        answer.raise_for_status()
        return (time.perf_counter() - t) * 1000

    def post_callback(self, body: dict[str, Any]) -> float:
        t = time.perf_counter()
        answer = self.session.post(self.callback, json=body, timeout=120,
                                   headers={"Content-Type": "application/json", **self.headers})
        answer.raise_for_status()
        return (time.perf_counter() - t) * 1000


def start_single_user(port: int, log: Path) -> Any:
    import subprocess

    import requests

    proc = subprocess.Popen([sys.executable, "-m", "fairshare.cli", "serve", "--port", str(port)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"`fairshare serve` exited:\n{log.read_text()}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"`fairshare serve` did not answer within 180 s:\n{log.read_text()}")


def measure(targets: list[Target], body: dict[str, Any], repeats: int) -> None:
    for target in targets:  # warm: first page, first callback (model computed and cached)
        for _ in range(3):
            target.get_page()
            target.post_callback(body)
    times: dict[tuple[str, str], list[float]] = {}
    for i in range(repeats):
        order = targets if i % 2 == 0 else targets[::-1]
        for target in order:
            times.setdefault((target.name, "page"), []).append(target.get_page())
            times.setdefault((target.name, "callback"), []).append(target.post_callback(body))
    single, service = targets[0].name, targets[1].name
    print(f"\n{repeats} requests each, alternating servers (ms):")
    for what in ("page", "callback"):
        for name in (single, service):
            values = times[(name, what)]
            print(f"  {what:<9} {name:<40} median {statistics.median(values):7.1f}   "
                  f"p95 {_p95(values):7.1f}   max {max(values):7.1f}")
        added = [b - a for a, b in zip(times[(single, what)], times[(service, what)], strict=True)]
        med = statistics.median(added)
        verdict = "ok" if med <= TARGET_MS else "OVER"
        print(f"  {what:<9} {'added by the service (paired)':<40} median {med:7.1f}   "
              f"p95 {_p95(added):7.1f}   [{verdict}: target <= {TARGET_MS:.0f} ms]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true",
                        help="the service on a SQLite file instead of PostgreSQL")
    args = parser.parse_args()

    import requests

    from tests.servicerun import Server, create_admin, free_port, sign_in, write_settings

    print(f"load average before: {os.getloadavg()[0]:.1f} (2 shared cores)")
    work = Path(tempfile.mkdtemp(prefix="fairshare-bench-overhead-"))
    cluster = None
    if args.sqlite:
        database = f"sqlite:///{work / 'service.sqlite'}"
    else:
        from tests.pgcluster import Cluster

        cluster = Cluster()
        database = cluster.new_database()
    single = None
    try:
        create_admin(database, "bench-admin")
        port = free_port()
        single = start_single_user(port, work / "single.log")
        with Server(database, write_settings(work)) as server:
            session = requests.Session()
            sign_in(session, server.url, "bench-admin")
            body = callback_body()
            base = f"http://127.0.0.1:{port}"
            targets = [
                Target("fairshare serve (single user)", requests.Session(), f"{base}/",
                       f"{base}/_dash-update-component"),
                Target("fairshare service serve (signed in)", session,
                       f"{server.url}{EXPLORER}",
                       f"{server.url}{EXPLORER}_dash-update-component"),
            ]
            engine = "SQLite" if args.sqlite else "PostgreSQL"
            print(f"service on {engine}; both servers waitress on 127.0.0.1")
            measure(targets, body, args.repeats)
    finally:
        if single is not None:
            single.terminate()
            single.wait(timeout=30)
        if cluster is not None:
            cluster.stop()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
