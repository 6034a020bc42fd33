"""The run store: exact round trips, byte-identical artefacts, lookup, and crash safety."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare.errors import FairshareError
from fairshare.model.targets import targets
from fairshare.scenario import Scenario
from fairshare.store import db
from fairshare.store.runs import (
    AmbiguousRun,
    RunCorrupt,
    RunNotFound,
    RunStore,
    RunStoreError,
    default_store_dir,
)
from fairshare.store.sql_runs import SqlRunStore
from tests.toy import toy_bundle

ROOT = Path(__file__).resolve().parents[1]
AnyStore = RunStore | SqlRunStore


@pytest.fixture(params=["files", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnyStore]:
    """A fresh, empty run store of each kind: the file store and the database store on both
    engines, so every test of the interface holds for all three."""
    if request.param == "files":
        yield RunStore(tmp_path / "store")
        return
    url = (f"sqlite:///{tmp_path / 'service.sqlite'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_cluster").new_database())
    engine = db.open_database(url)
    yield SqlRunStore(engine)
    engine.dispose()


def _meta(scenario: Scenario | None = None, **extra: object) -> dict[str, object]:
    """Metadata shaped like publish.outputs.run_metadata (without loading England data)."""
    s = scenario or Scenario()
    return {
        "fairshare_version": "0.1.0",
        "created": "2025-01-02T03:04:05+00:00",
        "scenario": s.resolved(),
        "scenario_digest": s.digest(),
        "establishment": "toy",
        "demonstration_baseline": False,
        "input_digests": {"posts": "a" * 64, "population": "b" * 64},
        "data_vintages": {"population": "ONS mid-2022"},
        **extra,
    }


def _mixed_table() -> pd.DataFrame:
    return pd.DataFrame({
        "area": np.array(["London", "Wessex", "North East"]),  # pandas str dtype
        "school": pd.Series(["Medicine", None, "Surgery"], dtype=object),  # object with None
        "current": np.array([10, 0, 7], dtype=np.int64),
        "distance": [0.25, np.nan, -1 / 3],
        "flag": [True, False, True],
        "phase": pd.Categorical(["A", "B", "A"]),
        "maybe": pd.Series([1, None, 3], dtype="Int64"),
    })


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tables_and_metadata_read_back_exactly(store: AnyStore) -> None:
    table = _mixed_table()
    real = targets(toy_bundle(), Scenario())
    meta = _meta()
    rec = store.save("baseline", meta, {"mixed": table, "targets": real})
    assert rec.tables == ("mixed", "targets")
    assert rec.scenario_digest == Scenario().digest()
    assert rec.demonstration is False
    pd.testing.assert_frame_equal(store.load_table(rec.id, "mixed"), table)
    pd.testing.assert_frame_equal(store.load_table(rec.id, "targets"), real)
    assert store.metadata(rec.id) == meta
    if isinstance(store, RunStore):
        on_disk = json.loads((rec.path / "run.json").read_text())
        assert on_disk["metadata"] == meta and on_disk["id"] == rec.id


def test_identical_tables_give_byte_identical_parquet(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    first = store.save("a", _meta(), {"targets": targets(toy_bundle(), Scenario())})
    second = store.save("b", _meta(), {"targets": targets(toy_bundle(), Scenario())})
    f1, f2 = first.path / "targets.parquet", second.path / "targets.parquet"
    assert first.id != second.id
    assert _sha(f1) == _sha(f2) == first.table_digests["targets"]
    other = store.save("c", _meta(), {"targets": targets(toy_bundle(), Scenario(
        deprivation_weight=0.5))})
    assert other.table_digests["targets"] != first.table_digests["targets"]


def test_lookup_by_id_prefix_and_newest_name(store: AnyStore) -> None:
    t = {"t": pd.DataFrame({"x": [1]})}
    old = store.save("baseline", _meta(), t)
    new = store.save("baseline", _meta(), t)
    other = store.save("high deprivation", _meta(), t)
    assert store.get(old.id) == old
    assert store.get("baseline") == new  # the newest of that name
    assert store.get(other.id[:-2]).id == other.id  # a unique prefix
    with pytest.raises(AmbiguousRun, match="matches 3 runs"):
        store.get(old.id[:8])  # the date part: every run made today shares it
    listed = store.list()
    assert list(listed["id"]) == [other.id, new.id, old.id]  # newest first
    assert list(listed.columns) == ["id", "name", "created", "scenario_name", "scenario_digest",
                                    "inputs_digest", "demonstration", "version"]
    assert set(listed["scenario_name"]) == {"default"}


def test_unknown_ref_names_near_matches(store: AnyStore) -> None:
    with pytest.raises(RunNotFound, match="holds no runs"):
        store.get("baseline")
    store.save("baseline 2024", _meta(), {"t": pd.DataFrame({"x": [1]})})
    store.save("deprivation 30", _meta(), {"t": pd.DataFrame({"x": [1]})})
    with pytest.raises(FairshareError) as err:
        store.get("baseline 2025")
    assert "baseline 2024" in str(err.value)
    assert "deprivation 30" not in str(err.value)


def test_names_default_to_scenario_and_empty_names_are_refused(store: AnyStore) -> None:
    t = {"t": pd.DataFrame({"x": [1]})}
    assert store.save(None, _meta(Scenario(name="d30")), t).name == "d30"
    for bad in ("", "   "):
        with pytest.raises(RunStoreError, match="cannot be empty"):
            store.save(bad, _meta(), t)
    with pytest.raises(RunStoreError, match="not allowed"):
        store.save("x", _meta(), {"../escape": pd.DataFrame({"x": [1]})})
    assert len(store.list()) == 1
    assert store.orphans() == []


def test_unstorable_table_fails_before_anything_is_written(store: AnyStore) -> None:
    bad = pd.DataFrame({"mixed": pd.Series([1, "two"], dtype=object)})
    with pytest.raises(RunStoreError, match="'bad'"):
        store.save("x", _meta(), {"good": pd.DataFrame({"x": [1]}), "bad": bad})
    assert store.list().empty
    if isinstance(store, RunStore):
        assert list(store.runs_dir.iterdir()) == []


def test_delete_removes_row_then_files(store: AnyStore) -> None:
    keep = store.save("keep", _meta(), {"t": pd.DataFrame({"x": [1]})})
    gone = store.save("gone", _meta(), {"t": pd.DataFrame({"x": [2]})})
    store.delete("gone")
    assert list(store.list()["id"]) == [keep.id]
    with pytest.raises(RunNotFound):
        store.get(gone.id)
    assert store.load_table("keep", "t")["x"].tolist() == [1]
    if isinstance(store, RunStore):
        assert not gone.path.exists()
        assert sorted(p.name for p in store.runs_dir.iterdir()) == [keep.id]


def test_export_writes_csvs_and_run_json(store: AnyStore, tmp_path: Path) -> None:
    table = targets(toy_bundle(), Scenario())
    rec = store.save("baseline", _meta(), {"targets": table})
    out = tmp_path / "export"
    written = store.export("baseline", out)
    assert sorted(p.name for p in written) == ["columns.csv", "run.json", "targets.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["columns.csv", "run.json",
                                                     "targets.csv"]  # no temp files
    back = pd.read_csv(out / "targets.csv")
    assert back["target"].tolist() == table["target"].tolist()
    assert back["area"].tolist() == table["area"].tolist()
    meta = json.loads((out / "run.json").read_text())
    assert meta["run_id"] == rec.id and meta["run_name"] == "baseline"
    assert meta["scenario"] == Scenario().resolved()
    assert meta["tables"] == ["targets"]


# The saver skips fairshare/__init__ (which loads the whole modelling stack) by registering a
# bare package, so four savers start quickly; fairshare.store.runs itself needs only errors and io.
_SAVER = textwrap.dedent("""
    import sys, types
    pkg = types.ModuleType("fairshare")
    pkg.__path__ = [sys.argv[2]]
    sys.modules["fairshare"] = pkg
    import pandas as pd
    from fairshare.store.runs import RunStore
    n = 20_000
    big = pd.DataFrame({"x": range(n), "label": ["area"] * n, "value": [0.5] * n})
    RunStore(sys.argv[1]).save("half", {"scenario": {"name": "half"}},
                               {"a_first": big, "b_second": big, "c_third": big})
    print("saved")
""")


STAGES = ["between_tables", "before_rename", "before_commit", "before_sql_commit"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_run_killed_mid_save_leaves_no_half_run(tmp_path: Path) -> None:
    """kill -9 at every stage of a save; the four savers run at once to keep the test fast."""
    env = dict(os.environ)
    stores, done, procs = {}, {}, {}
    for stage in STAGES:
        stores[stage] = RunStore(tmp_path / stage)
        done[stage] = stores[stage].save("complete", _meta(), {"t": pd.DataFrame({"x": [1]})})
        procs[stage] = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(tmp_path / stage), str(ROOT / "src" / "fairshare")],
            env={**env, "FAIRSHARE_TEST_PAUSE": f"{stage}:60"}, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for stage, proc in procs.items():
            assert proc.stderr is not None
            line = proc.stderr.readline()  # the saver says when it has reached the stage
            assert line.strip() == f"fairshare-test-paused {stage}", line + proc.stderr.read()
            proc.send_signal(signal.SIGKILL)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
    for stage, proc in procs.items():
        assert proc.returncode == -signal.SIGKILL, stage
        reopened = RunStore(tmp_path / stage)  # the store still opens
        assert list(reopened.list()["id"]) == [done[stage].id], stage  # no half run
        with pytest.raises(RunNotFound):
            reopened.get("half")
        assert len(reopened.orphans()) == 1, stage
        assert reopened.cleanup() == 1, stage
        runs = sorted(p.name for p in (tmp_path / stage / "runs").iterdir())
        assert runs == [done[stage].id], stage
        again = reopened.save("half", _meta(), {"t": pd.DataFrame({"x": [2]})})  # writable
        assert reopened.get("half") == again, stage


def test_corrupt_or_missing_artefact_names_run_and_file(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    rec = store.save("baseline", _meta(), {"targets": _mixed_table(), "other": _mixed_table()})
    path = rec.path / "targets.parquet"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(RunCorrupt) as err:
        store.load_table("baseline", "targets")
    assert rec.id in str(err.value) and "baseline" in str(err.value)
    assert "targets.parquet" in str(err.value)
    (rec.path / "other.parquet").unlink()
    with pytest.raises(FairshareError, match=r"other\.parquet is missing"):
        store.load_table(rec.id, "other")
    with pytest.raises(RunStoreError, match="has no table 'nope'; it has: other, targets"):
        store.load_table(rec.id, "nope")


def test_damaged_registry_is_a_clear_error(tmp_path: Path) -> None:
    RunStore(tmp_path)
    for name in os.listdir(tmp_path):
        if name.startswith("registry.sqlite-"):
            os.remove(tmp_path / name)
    (tmp_path / "registry.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(RunStoreError, match=r"registry\.sqlite"):
        RunStore(tmp_path)


def test_registry_row_holds_digests_and_wal_mode(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    rec = store.save("r", _meta(), {"t": pd.DataFrame({"x": [1]})})
    with sqlite3.connect(tmp_path / "registry.sqlite") as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        row = conn.execute("SELECT name, scenario_digest, inputs_digest, vintages_digest, "
                           "demonstration, version FROM runs").fetchone()
    conn.close()
    assert mode == "wal"
    assert row[0] == "r" and row[1] == Scenario().digest()
    assert len(row[2]) == 12 and len(row[3]) == 12 and row[4] == 0 and row[5] == "0.1.0"
    assert rec.inputs_digest == row[2]


def test_default_store_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAIRSHARE_HOME", str(tmp_path / "home"))
    assert default_store_dir() == tmp_path / "home"
    assert RunStore().root == tmp_path / "home"
    monkeypatch.delenv("FAIRSHARE_HOME")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert default_store_dir() == tmp_path / "xdg" / "fairshare"
        monkeypatch.delenv("XDG_DATA_HOME")
        assert default_store_dir() == Path.home() / ".local" / "share" / "fairshare"
