"""Concurrency and crash safety of the service's records, on SQLite and PostgreSQL.

Twenty local offices submitting at once (threads in one server process, and separate server
processes) are each stored exactly once with distinct version numbers; a publication made
while a submission is in flight leaves both whole; a process killed with SIGKILL mid-write
loses nothing that was committed. Expected results are counted here, from what was sent.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fairshare.store import audit, db
from fairshare.store import publications as pubs
from fairshare.store import returns as ret
from tests.servicedb import add_account, add_run

ROOT = Path(__file__).resolve().parents[1]
WRITERS = 20


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()


def _payload(i: int) -> bytes:
    return f"local_office,specialty,capacity\nLondon,Cardiology,{i}\n".encode()


def _check_each_stored_once(engine: Engine, sent: dict[bytes, str]) -> None:
    """Every payload sent is stored once, versions are 1..n, and each has its audit entry."""
    with engine.connect() as conn:
        stored = ret.list_returns(conn, office="London", kind="capacity")
        files = {r.version: ret.return_files(conn, r.id)["capacity"][1] for r in stored}
        log = audit.entries(conn)
    assert sorted(files) == list(range(1, len(sent) + 1))  # distinct, no gaps
    assert sorted(files.values()) == sorted(sent)  # each payload exactly once
    saved = log[log["action"] == "return_submitted"]
    assert sorted(saved["target"]) == sorted(f"return {r.id}" for r in stored)
    by_version = {r.version: r.digest for r in stored}
    for entry in saved["detail"]:  # the entry names the version and files it went with
        role_line = f"capacity:{hashlib.sha256(files[entry['version']]).hexdigest()}\n"
        assert by_version[entry["version"]] == hashlib.sha256(role_line.encode()).hexdigest()


def test_twenty_offices_submitting_at_once_from_threads(engine: Engine) -> None:
    leads = [add_account(engine, f"lead{i}") for i in range(WRITERS)]
    start = threading.Barrier(WRITERS)

    def send(i: int) -> int:
        start.wait()  # all twenty begin together
        with engine.begin() as conn:
            # the caller's own earlier write in the transaction must survive a retried number
            audit.record(conn, "upload_checked", actor=f"lead{i}", target=f"upload {i}")
            return ret.submit(conn, office="London", kind="capacity", status="submitted",
                              files={"capacity": (f"cap{i}.csv", _payload(i))},
                              account_id=leads[i], rows=1).version

    with ThreadPoolExecutor(WRITERS) as pool:
        versions = list(pool.map(send, range(WRITERS)))
    assert sorted(versions) == list(range(1, WRITERS + 1))
    _check_each_stored_once(engine, {_payload(i): f"lead{i}" for i in range(WRITERS)})
    with engine.connect() as conn:
        checked = audit.entries(conn).query("action == 'upload_checked'")
    assert sorted(checked["target"]) == sorted(f"upload {i}" for i in range(WRITERS))


# A separate server process: a bare fairshare package (no modelling stack), then one submission
# once the start file appears, so the twenty processes write together.
_SUBMITTER = textwrap.dedent("""
    import sys, time, types, pathlib
    pkg = types.ModuleType("fairshare")
    pkg.__path__ = [sys.argv[2]]
    sys.modules["fairshare"] = pkg
    from fairshare.store import db, returns
    url, _, account, index, go, mode = sys.argv[1:7]
    engine = db.open_database(url)
    payload = f"local_office,specialty,capacity\\nLondon,Cardiology,{index}\\n".encode()
    if mode == "hold":  # commit one, then hold a second in flight until killed
        with engine.begin() as conn:
            returns.submit(conn, office="London", kind="capacity", status="submitted",
                           files={"capacity": ("first.csv", payload)}, account_id=int(account),
                           rows=1)
        print("committed", flush=True)
        with engine.begin() as conn:
            returns.submit(conn, office="London", kind="capacity", status="submitted",
                           files={"capacity": ("second.csv", b"in flight")},
                           account_id=int(account), rows=1)
            print("in flight", flush=True)
            time.sleep(60)
    print("ready", flush=True)
    while not pathlib.Path(go).exists():
        time.sleep(0.01)
    with engine.begin() as conn:
        rec = returns.submit(conn, office="London", kind="capacity", status="submitted",
                             files={"capacity": (f"cap{index}.csv", payload)},
                             account_id=int(account), rows=1)
    print("version", rec.version, flush=True)
""")


def _submitter(url: str, account: int, index: int, go: Path,
               mode: str = "once") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _SUBMITTER, url, str(ROOT / "src" / "fairshare"), str(account),
         str(index), str(go), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_twenty_offices_submitting_at_once_from_processes(database_url: str, engine: Engine,
                                                          tmp_path: Path) -> None:
    leads = [add_account(engine, f"lead{i}") for i in range(WRITERS)]
    go = tmp_path / "go"
    procs = [_submitter(database_url, leads[i], i, go) for i in range(WRITERS)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == "ready", line + (proc.stderr.read() if proc.stderr else "")
        go.touch()  # all twenty are connected and waiting: let them write together
        outputs = [proc.communicate(timeout=300) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    versions = sorted(int(out.split()[-1]) for out, _ in outputs)
    assert versions == list(range(1, WRITERS + 1))
    _check_each_stored_once(engine, {_payload(i): f"lead{i}" for i in range(WRITERS)})


def test_a_publication_during_a_submission_leaves_both_whole(engine: Engine) -> None:
    lead = add_account(engine, "lead")
    analyst = add_account(engine, "ann", role="analyst")
    add_run(engine, "r1")
    in_flight = threading.Event()

    def submit() -> ret.ReturnRecord:
        with engine.begin() as conn:
            rec = ret.submit(conn, office="London", kind="capacity", status="submitted",
                             files={"capacity": ("c.csv", b"x")}, account_id=lead, rows=1)
            in_flight.set()
            time.sleep(0.5)  # hold the transaction open while the publication is made
            return rec

    def publish() -> pubs.Publication:
        assert in_flight.wait(30)
        with engine.begin() as conn:
            return pubs.publish(conn, run_id="r1", title="plan", note="", account_id=analyst)

    with ThreadPoolExecutor(2) as pool:
        sub, pub = pool.submit(submit), pool.submit(publish)
        record, publication = sub.result(timeout=60), pub.result(timeout=60)
    with engine.connect() as conn:
        assert ret.list_returns(conn) == [record]
        assert ret.return_files(conn, record.id) == {"capacity": ("c.csv", b"x")}
        assert pubs.list_publications(conn) == [publication]
        log = audit.entries(conn)
    assert sorted(zip(log["action"], log["target"], strict=True)) == [
        ("published", "run r1"), ("return_submitted", f"return {record.id}")]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_process_killed_mid_write_loses_nothing_committed(database_url: str, engine: Engine,
                                                            tmp_path: Path) -> None:
    lead = add_account(engine, "lead")
    proc = _submitter(database_url, lead, 1, tmp_path / "never", mode="hold")
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        err = proc.stderr.read() if proc.stderr and lines != ["committed", "in flight"] else ""
        assert lines == ["committed", "in flight"], [*lines, err]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    engine.dispose()
    reopened = db.open_database(database_url)
    with reopened.connect() as conn:
        stored = ret.list_returns(conn)
        assert [(r.version, r.status) for r in stored] == [(1, "submitted")]
        assert ret.return_files(conn, stored[0].id) == {"capacity": ("first.csv", _payload(1))}
        assert audit.entries(conn)["target"].tolist() == [f"return {stored[0].id}"]
    with reopened.begin() as conn:  # the killed writer's lock is gone: the next one is v2
        again = ret.submit(conn, office="London", kind="capacity", status="submitted",
                           files={"capacity": ("c.csv", b"y")}, account_id=lead, rows=1)
    assert again.version == 2
