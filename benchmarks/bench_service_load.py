"""Load on the shared service: 50 signed-in people browsing published plans (issue 17).

Bounded and on loopback only. A throwaway PostgreSQL server (tests/pgcluster.py) holds the
service's database; the first admin is made by the CLI (`fairshare service create-admin`),
then 50 viewer accounts, a stored default run and a publication of it (the store's functions:
what the analyst's pages call). ``--processes`` web processes (`fairshare service serve`,
waitress, the threads the deployment guide recommends) listen on 127.0.0.1; each of the 50 people
signs in through the real sign-in form (one after another, timed: the password hash is meant to
be slow), then locust's headless command line (benchmarks/locust_service.py) runs them with
those sessions for the duration: each reads the published plans (the list, the current plan,
its tables and their CSV downloads) with a 1-3 s pause between pages, spread over the processes
as a round-robin proxy would.

Prints p50 / p95 / max response time and the error count per page and for all browsing, the
page views per second, and the sign-ins' times. Target: p95 under 1 s and no errors.
locust itself runs on the same two shared cores as the servers and the database; the load
average is printed before and after.

Run: .venv/bin/python benchmarks/bench_service_load.py [--users 50] [--duration 120]
     [--processes 2] [--threads 8]        (``--duration 20`` for a quick try)
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers

HERE = Path(__file__).resolve().parent
P95_TARGET_MS = 1000


def prepare(database: str, users: int) -> None:
    """The admin (by the CLI, as a deployment does), viewers and one published plan: a default
    run queued and computed by `fairshare service worker --once`, then published."""
    from fairshare.store import accounts, jobs, publications
    from fairshare.store.db import open_database
    from tests.servicerun import PASSWORD, cli, create_admin

    create_admin(database, "load-admin")
    engine = open_database(database)
    with engine.begin() as conn:
        admin = accounts.by_username(conn, "load-admin")
        assert admin is not None
        for i in range(users):
            accounts.create_account(conn, username=f"reader{i:02d}", role="viewer",
                                    actor="load-admin", password=PASSWORD)
        job_id = jobs.enqueue(conn, "run", {"name": "load benchmark plan"}, admin.id)
    t = time.perf_counter()
    cli("service", "worker", "--database", database, "--once")
    with engine.begin() as conn:
        job = jobs.get(conn, job_id)
        assert job is not None and job.result is not None, job
        publications.publish(conn, run_id=str(job.result["run_id"]),
                             title="Plan for the load benchmark",
                             note="default scenario, public baseline", account_id=admin.id)
    print(f"prepared: {users} viewer accounts, one published default plan (run computed by "
          f"the worker in {time.perf_counter() - t:.1f} s)")


def browse_paths(base: str) -> list[str]:
    """The published-plan pages a reader visits (found by following the service's links)."""
    import re

    import requests

    from tests.servicerun import PASSWORD, sign_in

    session = requests.Session()
    sign_in(session, base, "reader00", PASSWORD)
    listing = session.get(f"{base}/publications", timeout=60)
    listing.raise_for_status()
    links = sorted(set(re.findall(r'href="(/publications/[^"#?]+)"', listing.text)))
    plan = next(link for link in links if re.fullmatch(r"/publications/\d+", link))
    page = session.get(f"{base}{plan}", timeout=60).text
    more = sorted(set(re.findall(rf'href="({re.escape(plan)}/[^"#?]+)"', page)))
    return ["/publications", plan, *more]


def sign_in_all(base: str, users: int, out: Path) -> None:
    """Sign every reader in through the form, one after another; their cookies to ``out``."""
    import json
    import statistics

    import requests

    from tests.servicerun import PASSWORD, sign_in

    jars, times = [], []
    for i in range(users):
        session = requests.Session()
        t = time.perf_counter()
        sign_in(session, base, f"reader{i:02d}", PASSWORD)
        times.append((time.perf_counter() - t) * 1000)
        jars.append(session.cookies.get_dict())
    out.write_text(json.dumps(jars))
    ordered = sorted(times)
    print(f"sign-ins (form + argon2id check + new session), {users} one after another: median "
          f"{statistics.median(times):.0f} ms, p95 {ordered[round(0.95 * (users - 1))]:.0f} ms, "
          f"max {max(times):.0f} ms")


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with (prefix.parent / f"{prefix.name}_stats.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def report(rows: list[dict[str, str]], seconds: float) -> None:
    pages = [r for r in rows if r["Name"] != "Aggregated"]
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"\n{'page':<48}{'requests':>9}{'errors':>8}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
    for r in [*pages, total]:
        name = "all browsing" if r is total else r["Name"][:47]
        print(f"{name:<48}{r['Request Count']:>9}{r['Failure Count']:>8}"
              f"{r['50%']:>8}{r['95%']:>8}{float(r['Max Response Time']):>8.0f}")
    n, errors, p95 = int(total["Request Count"]), int(total["Failure Count"]), float(total["95%"])
    verdict = "ok" if p95 < P95_TARGET_MS and errors == 0 else "OVER"
    print(f"\nbrowsing: {n} page views in {seconds:.0f} s ({n / seconds:.1f}/s); p95 {p95:.0f} ms, "
          f"max {float(total['Max Response Time']):.0f} ms; errors {errors} "
          f"[{verdict}: target p95 < {P95_TARGET_MS} ms, no errors]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120, help="seconds of browsing")
    parser.add_argument("--processes", type=int, default=2, help="web server processes")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per process")
    parser.add_argument("--wait", default="1-3", help="pause between pages, seconds low-high")
    args = parser.parse_args()

    from tests.pgcluster import Cluster
    from tests.servicerun import Server, write_settings

    print(f"load average before: {os.getloadavg()[0]:.1f} (2 shared cores)")
    work = Path(tempfile.mkdtemp(prefix="fairshare-bench-load-"))
    with ExitStack() as stack:
        cluster = Cluster()
        stack.callback(cluster.stop)
        database = cluster.new_database()
        prepare(database, args.users)
        settings = write_settings(work)
        servers = [stack.enter_context(Server(database, settings,
                                              extra=("--threads", str(args.threads))))
                   for _ in range(args.processes)]
        paths = browse_paths(servers[0].url)
        print(f"{args.processes} server process(es) x {args.threads} waitress threads on "
              f"PostgreSQL {cluster.port}; pages: {', '.join(paths)}")
        prefix = work / "locust"
        sign_in_all(servers[0].url, args.users, work / "cookies.json")
        env = {**os.environ, "FAIRSHARE_LOAD_HOSTS": ",".join(s.url for s in servers),
               "FAIRSHARE_LOAD_COOKIES": str(work / "cookies.json"),
               "FAIRSHARE_LOAD_PATHS": ",".join(paths), "FAIRSHARE_LOAD_WAIT": args.wait}
        print(f"{args.users} signed-in readers browsing for {args.duration} s ...", flush=True)
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(HERE / "locust_service.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(max(1, args.users // 10)),
             "--run-time", f"{args.duration}s", "--stop-timeout", "10", "--host",
             servers[0].url, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
            env=env, check=False, timeout=args.duration + 300, capture_output=True, text=True)
        if not (prefix.parent / f"{prefix.name}_stats.csv").exists():
            raise SystemExit(f"locust did not run ({done.returncode}):\n{done.stderr[-3000:]}")
        report(read_stats(prefix), time.perf_counter() - t)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
