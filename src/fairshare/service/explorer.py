"""The interactive explorer (the single-user Dash app) mounted at /explore/ behind sign-in.

The Dash app keeps its own Flask server; it is mounted with werkzeug's dispatcher and made on
the first request (loading the data and warming the maps take seconds, which no other page
should wait for). Its server gets the service's own session, CSRF, header and log hooks, and
one more rule: only analysts and admins. Dash's renderer sends the ``X-CSRFToken`` header from
a ``_csrf_token`` cookie, so the session's CSRF token is given in that cookie (readable by the
page's script, path /explore/, SameSite=Strict) and every callback POST is checked against it.
The renderer's one inline script is allowed by its hash in the Content-Security-Policy.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, abort, g, redirect, request
from werkzeug.wrappers import Response

from fairshare.service import context, security

PREFIX = "/explore"
ROLES = ("admin", "analyst")


class LazyExplorer:
    """A WSGI app that builds the Dash app on its first request (once, under a lock)."""

    def __init__(self, service: Flask) -> None:
        self.service = service
        self._app: Any = None
        self._lock = threading.Lock()

    def wsgi(self) -> Any:
        with self._lock:
            if self._app is None:
                self._app = build(self.service)
            return self._app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.wsgi()(environ, start_response)


def mount(service: Flask) -> None:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    explorer = LazyExplorer(service)
    service.extensions["fairshare_explorer"] = explorer
    service.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        service.wsgi_app, {PREFIX: explorer})


def build(service: Flask) -> Any:
    """The Dash app's WSGI callable, with the service's hooks on its server."""
    from fairshare.webapp import create_app

    settings = service.extensions["fairshare_settings"]
    dash_app = create_app(None, warm=True, hosts=settings.allowed_hosts, prefix=PREFIX + "/")
    server = dash_app.server
    server.extensions.update({k: service.extensions[k] for k in
                              ("fairshare_db", "fairshare_settings")})
    hashes = tuple(dash_app.csp_hashes())

    def _guard() -> Response | None:
        g.script_hashes = hashes
        account = context.current_account()
        if account is None:
            if request.method == "GET":
                return redirect(f"/sign-in?next={PREFIX}/")
            abort(401)
        if account.role not in ROLES:
            abort(403)
        return None

    def _csrf_cookie(response: Response) -> Response:
        session = context.current_session()
        if session is not None:
            response.set_cookie(security.DASH_CSRF_COOKIE, session.csrf_token, path=PREFIX + "/",
                                secure=settings.secure_cookies, httponly=False,
                                samesite="Strict")
        return response

    # the service's own hooks first: session, CSRF, then the role rule
    server.before_request_funcs.setdefault(None, [])[:0] = [security._load_session,
                                                            security._check_csrf, _guard]
    server.after_request(_csrf_cookie)
    server.after_request(security._headers)
    server.after_request(security._log_line)
    return server
