"""The service database: the same migrations on SQLite and PostgreSQL, an append-only audit log.

Checked against the databases themselves, not against this code: Alembic's own comparison of
the migrated database with store/schema.py, and the server refusing an UPDATE or DELETE that
the app never issues.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fairshare.store import audit, db
from fairshare.store.schema import metadata


def test_migrations_build_exactly_the_schema(database_url: str) -> None:
    engine = db.open_database(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert db.current_revision(engine) == db.head_revision()
    db.upgrade(engine)  # a second upgrade is a no-op, not an error
    assert db.current_revision(engine) == db.head_revision()


def test_the_audit_log_refuses_update_and_delete(database_url: str) -> None:
    engine = db.open_database(database_url)
    with engine.begin() as conn:
        audit.record(conn, "sign_in", actor="alice", target="account alice",
                     detail={"role": "analyst"}, client="127.0.0.1")
    for sql in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        log = audit.entries(conn)
    assert log[["actor", "action", "target"]].values.tolist() == [
        ["alice", "sign_in", "account alice"]]
    assert log.loc[0, "detail"] == {"role": "analyst"}


def test_the_audit_log_refuses_secrets_in_its_detail(tmp_path: object) -> None:
    engine = db.open_database(f"sqlite:///{tmp_path}/s.sqlite")
    for key in ("password", "session_token", "csrf", "file_data"):
        with pytest.raises(ValueError, match="secrets"), engine.begin() as conn:
            audit.record(conn, "x", actor="a", detail={key: "v"}
                         if key != "csrf" else {"csrf_token": "v"})
    with engine.connect() as conn:
        assert audit.entries(conn).empty


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:pw@h:5/d", "postgresql+psycopg://u:pw@h:5/d"),
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///x.sqlite", "sqlite:///x.sqlite"),
])
def test_database_urls_people_paste_are_understood(given: str, expected: str) -> None:
    assert db.database_url(given) == expected


def test_a_url_in_a_message_never_shows_its_password() -> None:
    assert "s3cret" not in db.redacted("postgresql://u:s3cret@h/d")
    with pytest.raises(db.DatabaseError, match="not supported"):
        db.database_url("mysql://u@h/d")


def test_the_environment_names_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.ENV_URL, "postgresql://u@h/d")
    assert db.database_url() == "postgresql+psycopg://u@h/d"
    assert db.database_url("sqlite:///y.sqlite") == "sqlite:///y.sqlite"  # the option wins


def test_servers_starting_together_on_a_new_database_all_migrate_it(database_url: str) -> None:
    """A deployment starts several processes at once on an empty database; each runs the
    migrations. Without a lock, PostgreSQL failed three of four with a duplicate-type error."""
    import subprocess
    import sys
    import time

    # Every process imports first, then all migrate at the same instant (the race is real).
    code = ("import sys, time; from fairshare.store import db; import alembic.command; "
            "e = db.engine_for(sys.argv[1]); time.sleep(max(0.0, float(sys.argv[2]) - "
            "time.time())); db.upgrade(e); print('migrated')")
    start = str(time.time() + 6)
    procs = [subprocess.Popen([sys.executable, "-c", code, database_url, start], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    results = [(p.wait(timeout=120), p.communicate()) for p in procs]
    assert [(rc, out.strip()) for rc, (out, _) in results] == [(0, "migrated")] * 4, results
    engine = db.engine_for(database_url)
    assert db.current_revision(engine) == db.head_revision()
