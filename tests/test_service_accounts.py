"""Accounts, sign-in, lockout, throttling and sessions, on SQLite and PostgreSQL.

Checked against what the database holds (rows read back with plain SQL) and against hand
counts of attempts, never against the module's own return values alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text, update

from fairshare.store import accounts as acc
from fairshare.store import audit, db
from fairshare.store.schema import accounts as accounts_table
from fairshare.store.schema import sessions

PASSWORD = "correct horse battery"
POLICY = acc.Policy(max_failures=3, lockout_minutes=10, throttle_failures=6,
                    throttle_minutes=5, idle_minutes=30, session_hours=8)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()  # close the pool's connections before the test's database goes


def _make(engine: Engine, name: str = "alice", role: str = "analyst", **kw: str) -> acc.Account:
    with engine.begin() as conn:
        return acc.create_account(conn, username=name, role=role, actor="cli",
                                  password=kw.pop("password", PASSWORD), **kw)


def test_a_password_is_stored_only_as_an_argon2id_hash(engine: Engine) -> None:
    made = _make(engine, "Alice")
    assert made.username == "alice"  # stored lower case
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM accounts")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    signed = acc.authenticate(engine, "ALICE", PASSWORD, client="1.2.3.4", policy=POLICY)
    assert signed.account is not None and signed.account.id == made.id


@pytest.mark.parametrize("password", ["short", " " * 20, None])
def test_no_weak_or_default_password(engine: Engine, password: str | None) -> None:
    if password is None:  # an OIDC-only account has no password and cannot sign in with one
        _make(engine, "bob", password=None)  # type: ignore[arg-type]
        for guess in ("", "None", "password", "changeme"):
            assert acc.authenticate(engine, "bob", guess, client="c",
                                    policy=POLICY).account is None
        return
    with pytest.raises(acc.AccountError, match="password"):
        _make(engine, "bob", password=password)


def test_roles_need_their_scope(engine: Engine) -> None:
    with pytest.raises(acc.AccountError, match="local office"):
        _make(engine, "lead", role="office_lead")
    with pytest.raises(acc.AccountError, match="specialty"):
        _make(engine, "rev", role="reviewer")
    with pytest.raises(acc.AccountError, match="not one of"):
        _make(engine, "xavier", role="superuser")
    with pytest.raises(acc.AccountError, match="not allowed"):
        _make(engine, "../etc/passwd")


def test_lockout_after_repeated_failures_then_unlock(engine: Engine) -> None:
    made = _make(engine)
    for _ in range(POLICY.max_failures - 1):
        assert acc.authenticate(engine, "alice", "wrong password!", client="c",
                                policy=POLICY).refused == acc.REFUSED
    locking = acc.authenticate(engine, "alice", "wrong password!", client="c", policy=POLICY)
    assert locking.refused is not None and "locked" in locking.refused
    # now even the right password is refused, and says it is locked
    right = acc.authenticate(engine, "alice", PASSWORD, client="c", policy=POLICY)
    assert right.account is None and "locked" in (right.refused or "")
    with engine.connect() as conn:
        locked_until = conn.execute(select(accounts_table.c.locked_until)).scalar_one()
        log = audit.entries(conn)
    assert locked_until is not None
    assert (log["action"] == "account_locked").sum() == 1
    assert (log["action"] == "sign_in_failed").sum() == POLICY.max_failures + 1
    with engine.begin() as conn:
        acc.unlock(conn, made.id, actor="admin")
    assert acc.authenticate(engine, "alice", PASSWORD, client="c", policy=POLICY).account


def test_a_lock_ends_by_itself(engine: Engine) -> None:
    _make(engine)
    for _ in range(POLICY.max_failures):
        acc.authenticate(engine, "alice", "wrong password!", client="c", policy=POLICY)
    with engine.begin() as conn:  # the lock's time has passed
        conn.execute(update(accounts_table).values(
            locked_until=acc.now() - timedelta(seconds=1)))
    assert acc.authenticate(engine, "alice", PASSWORD, client="c", policy=POLICY).account


def test_one_client_is_throttled_across_user_names(engine: Engine) -> None:
    _make(engine)
    for i in range(POLICY.throttle_failures):  # spraying different names from one address
        acc.authenticate(engine, f"user{i}", "guess guess guess", client="6.6.6.6",
                         policy=POLICY)
    refused = acc.authenticate(engine, "alice", PASSWORD, client="6.6.6.6", policy=POLICY)
    assert refused.account is None and "Too many" in (refused.refused or "")
    # another address is not affected
    assert acc.authenticate(engine, "alice", PASSWORD, client="7.7.7.7", policy=POLICY).account


def test_unknown_and_wrong_password_read_the_same(engine: Engine) -> None:
    _make(engine)
    unknown = acc.authenticate(engine, "nobody", PASSWORD, client="c", policy=POLICY)
    wrong = acc.authenticate(engine, "alice", "not the password", client="c", policy=POLICY)
    assert unknown.refused == wrong.refused == acc.REFUSED


def test_a_session_keeps_only_the_hash_of_its_token(engine: Engine) -> None:
    made = _make(engine)
    with engine.begin() as conn:
        token, session = acc.start_session(conn, made, policy=POLICY, client="c")
    with engine.connect() as conn:
        stored = conn.execute(select(sessions.c.token_hash, sessions.c.csrf_token)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert len(token) >= 43 and len(stored.csrf_token) >= 43  # 256 bits, url-safe base64
    with engine.begin() as conn:
        found = acc.session_for(conn, token, policy=POLICY)
        assert found is not None and found.account.id == made.id
        assert found.csrf_token == stored.csrf_token
        assert acc.session_for(conn, stored.token_hash, policy=POLICY) is None  # hash != key
        acc.end_session(conn, session.token_hash, actor="alice")
        assert acc.session_for(conn, token, policy=POLICY) is None


@pytest.mark.parametrize("column", ["last_seen", "expires_at"])
def test_idle_and_absolute_timeouts_end_a_session(engine: Engine, column: str) -> None:
    made = _make(engine)
    with engine.begin() as conn:
        token, _ = acc.start_session(conn, made, policy=POLICY, client="c")
        past = acc.now() - timedelta(minutes=POLICY.idle_minutes + 1)
        conn.execute(update(sessions).values({column: past}))
    with engine.begin() as conn:
        assert acc.session_for(conn, token, policy=POLICY) is None
    with engine.connect() as conn:  # and the row is gone
        assert conn.execute(select(sessions)).first() is None


def test_role_change_is_audited_and_ends_sessions(engine: Engine) -> None:
    _make(engine, "root", role="admin")
    made = _make(engine)
    with engine.begin() as conn:
        token, _ = acc.start_session(conn, made, policy=POLICY, client="c")
        changed = acc.set_role(conn, made.id, role="office_lead", office="London",
                               specialty=None, actor="root")
    assert (changed.role, changed.office) == ("office_lead", "London")
    with engine.begin() as conn:
        assert acc.session_for(conn, token, policy=POLICY) is None
        log = audit.entries(conn)
    row = log[log["action"] == "role_changed"].iloc[0]
    assert (row["actor"], row["target"]) == ("root", "account alice")
    assert row["detail"] == {"from": ["analyst", None, None], "to": ["office_lead", "London",
                                                                    None]}


def test_the_last_admin_cannot_be_removed(engine: Engine) -> None:
    root = _make(engine, "root", role="admin")
    with pytest.raises(acc.AccountError, match="last active admin"), engine.begin() as conn:
        acc.set_active(conn, root.id, False, actor="root")
    with pytest.raises(acc.AccountError, match="last active admin"), engine.begin() as conn:
        acc.set_role(conn, root.id, role="viewer", office=None, specialty=None, actor="root")
    with engine.connect() as conn:
        assert acc.admin_exists(conn)


def test_a_deactivated_account_cannot_sign_in(engine: Engine) -> None:
    _make(engine, "root", role="admin")
    made = _make(engine)
    with engine.begin() as conn:
        token, _ = acc.start_session(conn, made, policy=POLICY, client="c")
        acc.set_active(conn, made.id, False, actor="root")
        assert acc.session_for(conn, token, policy=POLICY) is None
    assert acc.authenticate(engine, "alice", PASSWORD, client="c", policy=POLICY).account is None


def test_oidc_links_a_prepared_account_and_never_creates_one(engine: Engine) -> None:
    _make(engine, "lead@nhs.net", role="office_lead", office="London", password=None)  # type: ignore[arg-type]
    with engine.begin() as conn:
        assert acc.oidc_sign_in(conn, subject="s-1", email="stranger@nhs.net", client="c") is None
        found = acc.oidc_sign_in(conn, subject="s-2", email="Lead@NHS.net", client="c")
        assert found is not None and found.username == "lead@nhs.net"
    with engine.begin() as conn:  # next time by subject, whatever the e-mail says
        again = acc.oidc_sign_in(conn, subject="s-2", email=None, client="c")
        assert again is not None and again.oidc_subject == "s-2"
        assert len(acc.list_accounts(conn)) == 1


def test_concurrent_wrong_passwords_are_all_counted(engine: Engine) -> None:
    """Ten wrong passwords at once from ten threads: every one is recorded, and the account
    is locked (the count is read under a row lock, not lost between readers)."""
    from concurrent.futures import ThreadPoolExecutor

    _make(engine)
    policy = acc.Policy(max_failures=10, lockout_minutes=10, throttle_failures=1000)
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda i: acc.authenticate(
            engine, "alice", f"wrong password {i}", client=f"10.0.0.{i}", policy=policy),
            range(10)))
    assert all(r.account is None for r in results)
    with engine.connect() as conn:
        log = audit.entries(conn)
        locked = conn.execute(select(accounts_table.c.locked_until)).scalar_one()
    assert (log["action"] == "sign_in_failed").sum() == 10
    assert (log["action"] == "account_locked").sum() == 1 and locked is not None
