"""`fairshare db upgrade|status` on both engines, as an administrator would run them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.store import db

runner = CliRunner()


def test_status_then_upgrade_then_status(database_url: str) -> None:
    before = runner.invoke(app, ["db", "status", "--database", database_url])
    assert before.exit_code == 1  # a script can tell an un-migrated database
    assert "fairshare db upgrade" in before.output
    first = runner.invoke(app, ["db", "upgrade", "--database", database_url])
    assert first.exit_code == 0, first.output
    head = db.head_revision()
    assert f"from empty to {head}" in first.output
    again = runner.invoke(app, ["db", "upgrade", "--database", database_url])
    assert f"already at the newest migration ({head})" in again.output
    status = runner.invoke(app, ["db", "status", "--database", database_url])
    assert status.exit_code == 0, status.output
    assert f"migration: {head}; this fairshare: {head}" in status.output
    assert "returns: 0 rows" in status.output and "audit_log: 0 rows" in status.output
    db.engine_for(db.database_url(database_url)).dispose()


def test_the_environment_names_the_database(tmp_path: object,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/env.sqlite"
    monkeypatch.setenv(db.ENV_URL, url)
    res = runner.invoke(app, ["db", "upgrade"])
    assert res.exit_code == 0 and url in res.output


def test_an_unreachable_server_is_named_without_its_password() -> None:
    res = runner.invoke(app, ["db", "status", "--database",
                              "postgresql://ann:s3cret@127.0.0.1:9/plans"])
    assert res.exit_code == 2
    assert "cannot reach the database at postgresql+psycopg://ann:***@127.0.0.1:9/plans" \
        in res.output
    assert "s3cret" not in res.output and "Traceback" not in res.output
