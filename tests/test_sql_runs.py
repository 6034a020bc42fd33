"""The run store in the service's database: same bytes as the file store, corruption caught,
published runs kept, and a save killed at any point leaves nothing (SQLite and PostgreSQL).

The interface itself is tested by tests/test_runs.py, parametrised over all three stores.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, update

from fairshare.model.targets import targets
from fairshare.scenario import Scenario
from fairshare.store import db
from fairshare.store import publications as pubs
from fairshare.store.runs import RunCorrupt, RunNotFound, RunStore, RunStoreError
from fairshare.store.schema import run_tables
from fairshare.store.sql_runs import SqlRunStore, open_run_store
from tests.servicedb import add_account
from tests.test_runs import _meta, _mixed_table
from tests.toy import toy_bundle

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()


def test_the_database_keeps_the_file_stores_parquet_bytes(engine: Engine, tmp_path: Path
                                                          ) -> None:
    table = targets(toy_bundle(), Scenario())
    in_files = RunStore(tmp_path / "files").save("a", _meta(), {"targets": table})
    sql = SqlRunStore(engine)
    in_db = sql.save("a", _meta(), {"targets": table})
    file_bytes = (in_files.path / "targets.parquet").read_bytes()
    with engine.connect() as conn:
        blob = bytes(conn.execute(select(run_tables.c.data)).scalar_one())
    assert blob == file_bytes
    assert in_db.table_digests == in_files.table_digests == {
        "targets": hashlib.sha256(file_bytes).hexdigest()}
    assert in_db.id != in_files.id and len(in_db.id) == len(in_files.id) == 21


def test_a_changed_or_missing_table_is_named(engine: Engine) -> None:
    store = SqlRunStore(engine)
    rec = store.save("baseline", _meta(), {"targets": _mixed_table(), "other": _mixed_table()})
    with engine.begin() as conn:
        conn.execute(update(run_tables).where(run_tables.c.name == "targets")
                     .values(data=b"not parquet"))
    with pytest.raises(RunCorrupt, match=r"table 'targets' in the database at .*SHA-256"):
        store.load_table("baseline", "targets")
    assert "baseline" in rec.label and rec.id in store.list()["id"].tolist()


@pytest.mark.parametrize(("extra", "message"), [
    ({"spread": float("nan")}, "NaN or Infinity"), ({"note": "a\x00b"}, "NUL character")])
def test_metadata_postgresql_cannot_hold_is_refused_on_both_engines(
        engine: Engine, extra: dict[str, object], message: str) -> None:
    store = SqlRunStore(engine)
    with pytest.raises(RunStoreError, match=message):
        store.save("x", _meta(**extra), {"t": pd.DataFrame({"x": [1]})})
    assert store.list().empty


def test_a_published_run_cannot_be_deleted(engine: Engine) -> None:
    store = SqlRunStore(engine)
    rec = store.save("plan", _meta(), {"t": pd.DataFrame({"x": [1]})})
    analyst = add_account(engine, "ann", role="analyst")
    with engine.begin() as conn:
        pubs.publish(conn, run_id=rec.id, title="2026 plan", note="", account_id=analyst)
    with pytest.raises(RunStoreError, match="has been published"):
        store.delete(rec.id)
    assert store.get(rec.id) == rec


def test_open_run_store_is_the_file_store_unless_a_database_is_named(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(db.ENV_URL, raising=False)
    files = open_run_store(None, tmp_path / "files")
    assert isinstance(files, RunStore) and files.root == tmp_path / "files"
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert isinstance(open_run_store(url), SqlRunStore)
    monkeypatch.setenv(db.ENV_URL, url)
    from_env = open_run_store(None)
    assert isinstance(from_env, SqlRunStore) and "a.sqlite" in from_env.root
    assert isinstance(open_run_store(None, tmp_path / "files"), RunStore)  # --store wins
    with pytest.raises(RunStoreError, match="not both"):
        open_run_store(url, tmp_path / "files")


def test_a_database_url_never_shows_its_password_in_a_message(tmp_path: Path) -> None:
    store = SqlRunStore(db.engine_for("postgresql://ann:s3cret@127.0.0.1:1/none"))
    with pytest.raises(RunStoreError) as err:
        store.list()
    assert "s3cret" not in str(err.value) and "127.0.0.1" in str(err.value)


# The saver registers a bare fairshare package (as tests/test_runs.py does) so it starts fast.
_SAVER = textwrap.dedent("""
    import sys, types
    pkg = types.ModuleType("fairshare")
    pkg.__path__ = [sys.argv[2]]
    sys.modules["fairshare"] = pkg
    import pandas as pd
    from fairshare.store import db
    from fairshare.store.sql_runs import SqlRunStore
    n = 20_000
    big = pd.DataFrame({"x": range(n), "label": ["area"] * n, "value": [0.5] * n})
    SqlRunStore(db.open_database(sys.argv[1])).save(
        "half", {"scenario": {"name": "half"}}, {"a_first": big, "b_second": big, "c_third": big})
    print("saved")
""")

STAGES = ["between_tables", "before_sql_commit"]


def _start_saver(url: str, stage: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _SAVER, url, str(ROOT / "src" / "fairshare")],
        env={**os.environ, "FAIRSHARE_TEST_PAUSE": f"{stage}:60"}, cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when_paused(proc: subprocess.Popen[str], stage: str) -> None:
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()  # the saver says when it has reached the stage
        assert line.strip() == f"fairshare-test-paused {stage}", line + proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("stage", STAGES)
def test_a_save_killed_mid_transaction_leaves_no_run(database_url: str, stage: str,
                                                     tmp_path: Path) -> None:
    engine = db.open_database(database_url)
    store = SqlRunStore(engine)
    done = store.save("complete", _meta(), {"t": _mixed_table()})
    _kill_when_paused(_start_saver(database_url, stage, tmp_path), stage)
    engine.dispose()
    reopened = SqlRunStore(db.open_database(database_url))
    assert list(reopened.list()["id"]) == [done.id]  # no half run
    with pytest.raises(RunNotFound):
        reopened.get("half")
    pd.testing.assert_frame_equal(reopened.load_table("complete", "t"), _mixed_table())
    with reopened.engine.connect() as conn:  # not one of the killed save's tables is left
        assert conn.execute(select(func.count()).select_from(run_tables)).scalar() == 1
    again = reopened.save("half", _meta(), {"t": pd.DataFrame({"x": [2]})})  # still writable
    assert reopened.get("half") == again
    reopened.engine.dispose()


def test_run_and_runs_use_the_database_only_when_it_is_named(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from fairshare.cli import app

    runner = CliRunner()
    monkeypatch.setenv("FAIRSHARE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(db.ENV_URL, raising=False)
    monkeypatch.chdir(tmp_path)

    def ok(args: list[str]) -> str:
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        return res.output

    out = ok(["run", "--horizon", "2024", "--name", "in the db", "--database", database_url,
              "--out", str(tmp_path / "r")])
    assert "(in the db)" in out
    assert f"in {db.redacted(db.database_url(database_url))}" in out.replace("\n", "")
    assert "in the db" in ok(["runs", "--database", database_url])
    assert "no runs saved yet" in ok(["runs"])  # the file store is untouched
    assert not (tmp_path / "home" / "runs").exists() or \
        not any((tmp_path / "home" / "runs").iterdir())
    monkeypatch.setenv(db.ENV_URL, database_url)
    assert "in the db" in ok(["runs"])  # the environment names the database
    stored = SqlRunStore(db.open_database(database_url))
    rec = stored.get("in the db")
    on_disk = pd.read_csv(tmp_path / "r" / "targets.csv")
    assert stored.load_table(rec.id, "targets")["target"].tolist() == on_disk["target"].tolist()
    stored.engine.dispose()
