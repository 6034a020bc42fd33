"""Who is asking, and what they may see: the request's account, roles and offices.

Every page and download goes through ``require_role`` (signed in, and one of the roles), and
every record with an office goes through ``can_see_return`` / ``can_change_office``: ids in a
request are never trusted to mean "mine", the stored row's office is checked each time. The
rules (docs/service.md, "Sign-in, roles and pages"):

- admin: everything to read; accounts, roles, the audit log.
- analyst: runs and publications; every office's *submitted* returns; no drafts.
- office_lead: their own office's returns and drafts, submitting for it; other offices'
  submitted returns read-only; their office's figures first.
- reviewer: their specialty's recommendations and decisions (and their office's, if set).
- viewer: published plans only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, url_for
from sqlalchemy import Engine

from fairshare.service.settings import ServiceSettings
from fairshare.store.accounts import Account, Policy, Session
from fairshare.store.returns import ReturnRecord

F = TypeVar("F", bound=Callable[..., Any])

#: Who may read returns at all (drafts are further limited to their own office).
RETURN_READERS = ("admin", "analyst", "office_lead")


def engine() -> Engine:
    return cast(Engine, current_app.extensions["fairshare_db"])


def settings() -> ServiceSettings:
    return cast(ServiceSettings, current_app.extensions["fairshare_settings"])


def policy() -> Policy:
    s = settings()
    return Policy(max_failures=s.lockout_failures, lockout_minutes=s.lockout_minutes,
                  throttle_failures=s.throttle_failures, throttle_minutes=s.throttle_minutes,
                  idle_minutes=s.session_idle_minutes, session_hours=s.session_hours)


def current_session() -> Session | None:
    return cast(Session | None, g.get("session"))


def current_account() -> Account | None:
    session = current_session()
    return None if session is None else session.account


def actor_name() -> str:
    account = current_account()
    return account.username if account is not None else "anonymous"


def client_address() -> str:
    """The client's address: the connection's, or X-Forwarded-For's, ``trusted_proxies`` hops
    back (only the proxies a deployment declares are believed)."""
    hops = settings().trusted_proxies
    if hops:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")
                     if a.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    return (request.remote_addr or "unknown")[:64]


def require_role(*roles: str, public: bool = False) -> Callable[[F], F]:
    """Only signed-in accounts holding one of ``roles`` (``public``: also anyone, when the
    deployment allows public viewing). Not signed in: to the sign-in page; wrong role: 403."""

    def wrap(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            account = current_account()
            if account is None:
                if public and settings().public_viewing:
                    return view(*args, **kwargs)
                if request.method == "GET":
                    return redirect(url_for("auth.sign_in", next=request.path))
                abort(401)
            if roles and account.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return wrap


def can_see_return(account: Account | None, record: ReturnRecord) -> bool:
    """Drafts only to their own office's leads (and admins); submitted returns to every role
    that reads returns."""
    if account is None or account.role not in RETURN_READERS:
        return False
    if record.status == "submitted" or account.role == "admin":
        return True
    return account.role == "office_lead" and account.office == record.office


def can_change_office(account: Account | None, office: str) -> bool:
    """Only an office's own leads submit for it."""
    return account is not None and account.role == "office_lead" and account.office == office


def can_see_office(account: Account | None, office: str) -> bool:
    """Whether ``office``'s drafts are visible to ``account``."""
    if account is None:
        return False
    return account.role == "admin" or (account.role == "office_lead" and account.office == office)
