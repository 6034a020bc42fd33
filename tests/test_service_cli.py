"""`fairshare service create-admin` and `service serve` as a new user runs them.

Checked against the database the commands wrote (an argon2id hash, not the password) and the
words and exit codes a person sees; the single-user `fairshare serve` is not touched.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.store import db

PASSWORD = "correct horse battery staple"


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    done = CliRunner().invoke(app, list(args), input=stdin)
    return done.exit_code, done.output


def test_create_admin_from_standard_input_stores_only_a_hash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.sqlite"
    code, out = _run("service", "create-admin", "Alice", "--database", url,
                     "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "admin alice created" in out
    engine = db.open_database(url)
    with engine.connect() as conn:
        role, stored = conn.execute(text("SELECT role, password_hash FROM accounts")).one()
    assert role == "admin" and stored.startswith("$argon2id$") and PASSWORD not in stored
    code, out = _run("service", "create-admin", "alice", "--database", url,
                     "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "already exists" in out
    engine.dispose()


def test_create_admin_never_takes_a_weak_or_missing_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.sqlite"
    code, out = _run("service", "create-admin", "bob", "--database", url, "--password-stdin",
                     stdin="short\n")
    assert code == 2 and "at least 12 characters" in out
    code, out = _run("service", "create-admin", "bob", "--database", url, "--password-stdin",
                     stdin="")
    assert code == 2 and "nothing came through standard input" in out
    code, out = _run("service", "create-admin", "bob", "--database", url)  # no terminal here
    assert code == 2 and "--password-stdin" in out


def test_serve_refuses_without_an_admin_and_says_how(tmp_path: Path) -> None:
    code, out = _run("service", "serve", "--database", f"sqlite:///{tmp_path}/s.sqlite")
    assert code == 2 and "fairshare service create-admin" in out


def test_serve_refuses_insecure_cookies_off_loopback(tmp_path: Path) -> None:
    settings = tmp_path / "service.toml"
    settings.write_text("secure_cookies = false\n")
    code, out = _run("service", "serve", "--database", f"sqlite:///{tmp_path}/s.sqlite",
                     "--settings", str(settings), "--host", "0.0.0.0")
    assert code == 2 and "only allowed on this machine's own address" in out
    settings.write_text("secure_cookies = maybe\n")
    code, out = _run("service", "serve", "--settings", str(settings))
    assert code == 2 and "not readable as toml" in out
