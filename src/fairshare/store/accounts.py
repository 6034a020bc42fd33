"""Accounts, passwords, sign-in and server-side sessions of the shared service.

Why it is built this way, for an information-governance reviewer:

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
  profile); there is no default password, and the first admin is made by a CLI command.
- A sign-in that fails ``max_failures`` times in a row locks the account for
  ``lockout_minutes``; a client address with ``throttle_failures`` failed sign-ins within
  ``throttle_minutes`` is refused before any password is checked. Both live in the database,
  so several server processes share them. An unknown user name costs the same hash check as a
  known one, and every refusal says the same words, so the page does not tell which names exist.
- A session is a random 256-bit token given to the browser; the database keeps only its
  SHA-256, so a copy of the database cannot be used to sign in. Each session has its own CSRF
  token, an idle timeout and an absolute lifetime; a role change, deactivation or password
  change ends every session of that account.
- Every change (account made, role changed, (de)activated, unlocked, signed in or out, lockout)
  is written to the audit log in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from fairshare.errors import FairshareError
from fairshare.store import audit
from fairshare.store.schema import ROLES, accounts, login_attempts, sessions

#: Shortest password accepted (NCSC: length over complexity rules).
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 would hash more, but no one types it: refuse before hashing
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.-_@+")
#: The one message every refused sign-in shows (lockout and throttling say so separately,
#: without saying whether the name exists).
REFUSED = "The user name or password is not right."

_HASHER = PasswordHasher()  # argon2id, time_cost=3, memory_cost=64 MiB, parallelism=4
#: A hash to check against when the user name is unknown, so both cases take the same time.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(FairshareError):
    """An account cannot be made or changed as asked (the message says why)."""


@dataclass(frozen=True)
class Policy:
    """The sign-in rules; the service's settings fill it (service/settings.py)."""

    max_failures: int = 5
    lockout_minutes: float = 15
    throttle_failures: int = 20
    throttle_minutes: float = 15
    idle_minutes: float = 30
    session_hours: float = 12


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    office: str | None
    specialty: str | None
    active: bool
    locked_until: datetime | None
    oidc_subject: str | None
    has_password: bool


@dataclass(frozen=True)
class Session:
    """A signed-in browser: whose, its CSRF token, and when it ends."""

    token_hash: str
    account: Account
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignIn:
    """The result of a sign-in: the account, or why not (a message fit to show)."""

    account: Account | None
    refused: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns timestamps without their zone; every one this module writes is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account(row: Any) -> Account:
    return Account(id=int(row.id), username=row.username, display_name=row.display_name,
                   role=row.role, office=row.office, specialty=row.specialty,
                   active=bool(row.active), locked_until=aware(row.locked_until),
                   oidc_subject=row.oidc_subject, has_password=row.password_hash is not None)


def check_username(username: str) -> str:
    """The name as stored (lower case), or an error saying what a name may hold."""
    name = username.strip().lower()
    if not 2 <= len(name) <= 120 or not set(name) <= USERNAME_CHARS:
        raise AccountError(f"user name {name[:40]!r} is not allowed: 2 to 120 characters, "
                           "letters, digits and . - _ @ + only")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD} characters")
    if not password.strip():
        raise AccountError("the password may not be only spaces")


def check_role(role: str, office: str | None, specialty: str | None) -> None:
    """Each role's scope: a lead needs an office, a reviewer a specialty."""
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "office_lead" and not office:
        raise AccountError("an office lead needs the local office they submit for")
    if role == "reviewer" and not specialty:
        raise AccountError("a reviewer needs the specialty they review")


def hash_password(password: str) -> str:
    check_password(password)
    return _HASHER.hash(password)


def create_account(conn: Connection, *, username: str, role: str, actor: str,
                   password: str | None = None, display_name: str | None = None,
                   office: str | None = None, specialty: str | None = None,
                   oidc_subject: str | None = None, client: str | None = None) -> Account:
    """A new account; with a password, or signing in by OIDC only (``password=None``)."""
    name = check_username(username)
    check_role(role, office, specialty)
    if by_username(conn, name) is not None:
        raise AccountError(f"an account {name!r} already exists")
    at = now()
    conn.execute(insert(accounts).values(
        username=name, display_name=(display_name or name).strip()[:200], role=role,
        office=office or None, specialty=specialty or None,
        password_hash=None if password is None else hash_password(password),
        oidc_subject=oidc_subject, active=True, failed_logins=0, created_at=at,
        updated_at=at))
    audit.record(conn, "account_created", actor=actor, target=f"account {name}",
                 detail={"role": role, "office": office, "specialty": specialty}, client=client)
    made = by_username(conn, name)
    assert made is not None
    return made


def by_username(conn: Connection, username: str) -> Account | None:
    row = conn.execute(select(accounts).where(
        accounts.c.username == username.strip().lower())).first()
    return None if row is None else _account(row)


def get_account(conn: Connection, account_id: int) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return None if row is None else _account(row)


def list_accounts(conn: Connection) -> list[Account]:
    return [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.username))]


def admin_exists(conn: Connection) -> bool:
    """Whether an active admin exists (the service refuses to start without one)."""
    query = select(func.count()).select_from(accounts).where(
        accounts.c.role == "admin", accounts.c.active.is_(True))
    return bool(conn.execute(query).scalar_one())


# --- signing in ---------------------------------------------------------------------------


def authenticate(engine: Engine, username: str, password: str, *, client: str,
                 policy: Policy) -> SignIn:
    """Check a password sign-in and record it (attempt, failures, lockout, audit).

    The password is checked (argon2, tens of milliseconds and 64 MiB) outside any transaction,
    so sign-ins do not queue behind one another's hashing; the outcome is then recorded in a
    transaction of its own that re-reads the account under a row lock, so a failure is
    recorded even though the sign-in is refused and concurrent failures are all counted.
    """
    name = username.strip().lower()[:120]
    with engine.connect() as conn:
        throttled = _throttled(conn, client, now(), policy)
        row = conn.execute(select(accounts.c.password_hash).where(
            accounts.c.username == name)).first()
    ok = not throttled and _verify(row.password_hash if row is not None else None, password)
    with engine.begin() as conn:
        at = now()
        if throttled:
            _attempt(conn, name, client, at, success=False)
            audit.record(conn, "sign_in_throttled", actor=name or "-", client=client)
            return SignIn(None, f"Too many failed sign-ins from this address. Try again in "
                                f"{policy.throttle_minutes:g} minutes.")
        row = conn.execute(select(accounts).where(accounts.c.username == name)
                           .with_for_update()).first()
        if row is None or not row.active:
            _attempt(conn, name, client, at, success=False)
            audit.record(conn, "sign_in_failed", actor=name or "-", client=client,
                         detail={"why": "unknown or inactive account"})
            return SignIn(None, REFUSED)
        locked = aware(row.locked_until)
        if locked is not None and locked > at:
            _attempt(conn, name, client, at, success=False)
            audit.record(conn, "sign_in_failed", actor=name, client=client,
                         detail={"why": "account locked"})
            return SignIn(None, _locked_message(locked, at))
        if not ok:
            return _failed(conn, row, client, at, policy)
        _attempt(conn, name, client, at, success=True)
        conn.execute(update(accounts).where(accounts.c.id == row.id).values(
            failed_logins=0, locked_until=None))
        if _HASHER.check_needs_rehash(row.password_hash):
            conn.execute(update(accounts).where(accounts.c.id == row.id).values(
                password_hash=_HASHER.hash(password)))
        return SignIn(_account(row))


def _verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches; an unknown account is checked against a dummy hash."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _failed(conn: Connection, row: Any, client: str, at: datetime, policy: Policy) -> SignIn:
    failures = int(row.failed_logins) + 1
    locked = at + timedelta(minutes=policy.lockout_minutes) \
        if failures >= policy.max_failures else None
    conn.execute(update(accounts).where(accounts.c.id == row.id).values(
        failed_logins=0 if locked else failures, locked_until=locked))
    _attempt(conn, row.username, client, at, success=False)
    audit.record(conn, "sign_in_failed", actor=row.username, client=client,
                 detail={"why": "wrong password", "failures": failures})
    if locked is None:
        return SignIn(None, REFUSED)
    audit.record(conn, "account_locked", actor="system", target=f"account {row.username}",
                 detail={"minutes": policy.lockout_minutes}, client=client)
    return SignIn(None, _locked_message(locked, at))


def _locked_message(until: datetime, at: datetime) -> str:
    minutes = max(1, round((until - at).total_seconds() / 60))
    return (f"This account is locked after repeated failed sign-ins. Try again in {minutes} "
            "minute(s), or ask an administrator to unlock it.")


def _throttled(conn: Connection, client: str, at: datetime, policy: Policy) -> bool:
    since = at - timedelta(minutes=policy.throttle_minutes)
    failed = conn.execute(select(func.count()).select_from(login_attempts).where(
        login_attempts.c.client == client[:64], login_attempts.c.at >= since,
        login_attempts.c.success.is_(False))).scalar_one()
    return int(failed) >= policy.throttle_failures


def _attempt(conn: Connection, name: str, client: str, at: datetime, *, success: bool) -> None:
    conn.execute(insert(login_attempts).values(username=name[:120] or "-", client=client[:64],
                                               at=at, success=success))


# --- sessions ---------------------------------------------------------------------------


def start_session(conn: Connection, account: Account, *, policy: Policy, client: str,
                  how: str = "password") -> tuple[str, Session]:
    """A new session for ``account``: the token for the cookie (never stored) and the row."""
    token = secrets.token_urlsafe(32)
    at = now()
    expires = at + timedelta(hours=policy.session_hours)
    row = {"token_hash": token_hash(token), "account_id": account.id,
           "csrf_token": secrets.token_urlsafe(32), "created_at": at, "last_seen": at,
           "expires_at": expires}
    conn.execute(insert(sessions).values(**row))
    audit.record(conn, "sign_in", actor=account.username, target=f"account {account.username}",
                 detail={"how": how, "role": account.role}, client=client)
    return token, Session(token_hash(token), account, str(row["csrf_token"]), expires)


#: ``last_seen`` is written at most this often, so browsing is not a write per page.
TOUCH_EVERY = timedelta(seconds=60)


def session_for(conn: Connection, token: str | None, *, policy: Policy) -> Session | None:
    """The live session of a cookie's token, or None (unknown, idle too long, past its
    lifetime, or its account inactive); an ended session's row is removed."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    row = conn.execute(select(sessions).where(sessions.c.token_hash == digest)).first()
    if row is None:
        return None
    at = now()
    last_seen, expires = aware(row.last_seen), aware(row.expires_at)
    assert last_seen is not None and expires is not None
    account = get_account(conn, int(row.account_id))
    idle = at - last_seen > timedelta(minutes=policy.idle_minutes)
    if account is None or not account.active or idle or at >= expires:
        conn.execute(delete(sessions).where(sessions.c.token_hash == digest))
        return None
    if at - last_seen > TOUCH_EVERY:
        conn.execute(update(sessions).where(sessions.c.token_hash == digest).values(last_seen=at))
    return Session(digest, account, row.csrf_token, expires)


def end_session(conn: Connection, token_digest: str, *, actor: str,
                client: str | None = None) -> None:
    """Sign out: the session row is removed, so its token no longer works anywhere."""
    conn.execute(delete(sessions).where(sessions.c.token_hash == token_digest))
    audit.record(conn, "sign_out", actor=actor, target=f"account {actor}", client=client)


def end_sessions_for(conn: Connection, account_id: int) -> int:
    """End every session of an account (role change, deactivation, new password)."""
    return int(conn.execute(delete(sessions).where(sessions.c.account_id == account_id)).rowcount)


# --- administration ------------------------------------------------------------------------


def _must_get(conn: Connection, account_id: int) -> Account:
    found = get_account(conn, account_id)
    if found is None:
        raise AccountError(f"no account with id {account_id}")
    return found


def set_role(conn: Connection, account_id: int, *, role: str, office: str | None,
             specialty: str | None, actor: str, client: str | None = None) -> Account:
    """Change what an account may do; its sessions end so the change applies at once."""
    before = _must_get(conn, account_id)
    check_role(role, office, specialty)
    if before.role == "admin" and role != "admin":
        _keep_an_admin(conn, before)
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        role=role, office=office or None, specialty=specialty or None, updated_at=now()))
    end_sessions_for(conn, account_id)
    audit.record(conn, "role_changed", actor=actor, target=f"account {before.username}",
                 detail={"from": [before.role, before.office, before.specialty],
                         "to": [role, office or None, specialty or None]}, client=client)
    return _must_get(conn, account_id)


def set_active(conn: Connection, account_id: int, active: bool, *, actor: str,
               client: str | None = None) -> Account:
    before = _must_get(conn, account_id)
    if not active and before.role == "admin":
        _keep_an_admin(conn, before)
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        active=active, updated_at=now()))
    if not active:
        end_sessions_for(conn, account_id)
    audit.record(conn, "account_activated" if active else "account_deactivated", actor=actor,
                 target=f"account {before.username}", client=client)
    return _must_get(conn, account_id)


def _keep_an_admin(conn: Connection, leaving: Account) -> None:
    others = conn.execute(select(func.count()).select_from(accounts).where(
        accounts.c.role == "admin", accounts.c.active.is_(True),
        accounts.c.id != leaving.id)).scalar_one()
    if not others:
        raise AccountError("this is the last active admin: make another admin first")


def unlock(conn: Connection, account_id: int, *, actor: str, client: str | None = None) -> None:
    target = _must_get(conn, account_id)
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        locked_until=None, failed_logins=0, updated_at=now()))
    audit.record(conn, "account_unlocked", actor=actor, target=f"account {target.username}",
                 client=client)


def set_password(conn: Connection, account_id: int, password: str, *, actor: str,
                 client: str | None = None) -> None:
    target = _must_get(conn, account_id)
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        password_hash=hash_password(password), failed_logins=0, locked_until=None,
        updated_at=now()))
    end_sessions_for(conn, account_id)
    audit.record(conn, "password_set", actor=actor, target=f"account {target.username}",
                 client=client)


def oidc_sign_in(conn: Connection, *, subject: str, email: str | None,
                 client: str) -> Account | None:
    """The account an identity provider's user signs in to, or None (no account: an admin
    must make one first; the provider never creates accounts or grants roles).

    Matched by the provider's subject; on the first sign-in, by the verified e-mail address
    as user name of an account not yet linked to a subject, which is then linked (audited).
    """
    row = conn.execute(select(accounts).where(accounts.c.oidc_subject == subject[:255])).first()
    if row is None and email:
        row = conn.execute(select(accounts).where(
            accounts.c.username == email.strip().lower(),
            accounts.c.oidc_subject.is_(None))).first()
        if row is not None:
            conn.execute(update(accounts).where(accounts.c.id == row.id).values(
                oidc_subject=subject[:255], updated_at=now()))
            audit.record(conn, "oidc_linked", actor=row.username,
                         target=f"account {row.username}", client=client)
    if row is None or not row.active:
        audit.record(conn, "sign_in_failed", actor=(email or "-")[:120], client=client,
                     detail={"why": "no active account for this identity", "how": "oidc"})
        return None
    return _account(row)
