"""Sign-ins at once: how many a second the service's sign-in (store/accounts.authenticate)
takes, one at a time and eight at once, on a SQLite file and on a throwaway PostgreSQL server.

Why: each sign-in checks an argon2id hash (64 MiB, time cost 3: tens of milliseconds of CPU on
purpose). If that check ran inside the transaction that records the attempt, every sign-in on
SQLite would hold the database's write lock while hashing, and sign-ins would queue behind one
another (and behind every page that writes). The figures show what eight people signing in at
once get. Wall time, best of three; the load average is printed because the 2-core machine is
shared. Run: ``python benchmarks/bench_service_signin.py`` (PYTHONPATH=src).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/pgcluster.py

from fairshare.store import accounts, db

PASSWORD = "correct horse battery staple"
USERS = 8
ROUNDS = 3


def prepare(url: str) -> object:
    engine = db.open_database(url)
    with engine.begin() as conn:
        for i in range(USERS):
            accounts.create_account(conn, username=f"user{i}", role="viewer", password=PASSWORD,
                                    actor="bench")
    return engine


def rate(engine: object, threads: int) -> float:
    """Sign-ins a second: USERS sign-ins, ``threads`` at a time, best of ROUNDS."""
    policy = accounts.Policy(throttle_failures=10_000)

    def one(i: int) -> None:
        result = accounts.authenticate(engine, f"user{i}", PASSWORD,  # type: ignore[arg-type]
                                       client=f"10.0.0.{i}", policy=policy)
        assert result.account is not None

    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(USERS)))
        best = min(best, time.perf_counter() - start)
    return USERS / best


def main() -> None:
    from tests.pgcluster import Cluster

    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    cluster = Cluster()
    try:
        with tempfile.TemporaryDirectory() as folder:
            for label, url in (("SQLite file", f"sqlite:///{folder}/s.sqlite"),
                               ("PostgreSQL", cluster.new_database())):
                engine = prepare(url)
                serial, parallel = rate(engine, 1), rate(engine, USERS)
                print(f"{label:12s} sign-ins/s: one at a time {serial:5.1f}; "
                      f"{USERS} at once {parallel:5.1f}")
                engine.dispose()  # type: ignore[attr-defined]
    finally:
        cluster.stop()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
