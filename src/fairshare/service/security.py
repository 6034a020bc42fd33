"""What every request goes through: its session, CSRF check, security headers and log line.

- The session is read from the cookie on every request (``store.accounts.session_for``), so no
  process keeps any state: any server behind the database answers any request.
- CSRF: every POST, PUT, PATCH and DELETE must carry the session's CSRF token, as the form field
  ``csrf_token`` or the ``X-CSRFToken`` header (which Dash's renderer sends from the
  ``_csrf_token`` cookie); compared in constant time. Before sign-in, the sign-in form carries a
  token that must equal a cookie of its own (double submit), so a page elsewhere cannot sign a
  browser in to an account of its choosing.
- Headers: a Content-Security-Policy allowing this origin only (no inline script, no framing),
  no MIME sniffing, no referrer to other sites, and ``no-store`` on every page but static files,
  so a shared computer's back button shows nothing after sign-out.
- One log line per request: method, path (never the query string), status, milliseconds and
  the account id. Never a password, token, cookie or form field.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, g, request
from werkzeug.wrappers import Response

from fairshare.service import context
from fairshare.store import accounts

log = logging.getLogger("fairshare.service.access")

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PRESIGN_COOKIE = "fairshare_signin"
DASH_CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads (X-CSRFToken header)
CSP = ("default-src 'self'; script-src 'self'{extra}; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def session_cookie(app: Flask) -> str:
    """``__Host-`` cookies are refused by browsers unless Secure, on /, without a domain."""
    return "__Host-fairshare" if app.extensions["fairshare_settings"].secure_cookies \
        else "fairshare_session"


def cookie_options(app: Flask) -> dict[str, Any]:
    secure = app.extensions["fairshare_settings"].secure_cookies
    return {"httponly": True, "secure": secure, "samesite": "Strict", "path": "/"}


def install(app: Flask) -> None:
    app.before_request(_load_session)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.after_request(_log_line)


def _load_session() -> None:
    g.started = time.perf_counter()
    token = request.cookies.get(session_cookie(_app()))
    g.session = None
    if request.path.startswith("/static/") or request.path == "/health":
        return  # public and the same for everyone: no database round trip for them
    if token:
        with context.engine().begin() as conn:
            g.session = accounts.session_for(conn, token, policy=context.policy())


def _app() -> Flask:
    from flask import current_app

    return current_app._get_current_object()  # type: ignore[attr-defined]


def sent_token() -> str:
    return request.form.get("csrf_token") or request.headers.get("X-CSRFToken") or ""


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    session = context.current_session()
    expected = session.csrf_token if session is not None else None
    if expected is None and request.endpoint == "auth.sign_in":
        expected = request.cookies.get(PRESIGN_COOKIE)
    given = sent_token()
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403, description="csrf")


def presign_token() -> str:
    """The sign-in form's token (kept in its cookie between showing and posting the form)."""
    existing = request.cookies.get(PRESIGN_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    if "presign" not in g:
        g.presign = secrets.token_urlsafe(32)
    return str(g.presign)


def _headers(response: Response) -> Response:
    static = request.path.startswith("/static/")
    extra = " ".join(g.get("script_hashes", ()))  # Dash gives them quoted
    response.headers.setdefault("Content-Security-Policy",
                                CSP.format(extra=f" {extra}" if extra else ""))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if _app().extensions["fairshare_settings"].secure_cookies:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if not static:
        response.headers["Cache-Control"] = "no-store"
    if "presign" in g:
        response.set_cookie(PRESIGN_COOKIE, str(g.presign), max_age=3600,
                            **cookie_options(_app()))
    return response


def _log_line(response: Response) -> Response:
    account = context.current_account()
    entry = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"),
             "method": request.method, "path": (request.script_root + request.path)[:300],
             "status": response.status_code,
             "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
             "account": account.id if account is not None else None,
             "client": context.client_address()}
    if _app().extensions["fairshare_settings"].log_format == "json":
        log.info(json.dumps(entry))
    else:
        log.info("%(method)s %(path)s %(status)s %(ms)sms account=%(account)s", entry)
    return response
