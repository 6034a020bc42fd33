"""The shared service's web app: ``create_app(settings, engine)``.

No state is kept in the process: sessions, lockouts, throttling, returns and publications are
all in the database, so several processes (or machines) behind one database serve the same
users. Each feature is a blueprint in its own module, registered from ``BLUEPRINTS``; the
explorer (the single-user Dash app) is mounted at /explore/ behind the same session check
(service/explorer.py).
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from fairshare.service import context, security
from fairshare.service.settings import ServiceSettings
from fairshare.store import db

HERE = Path(__file__).resolve().parent
#: Every feature's blueprint, by module (each exports ``bp``).
BLUEPRINTS = ("auth", "pages", "returns_views", "publications_views", "reviews_views",
              "admin_views", "jobs_views")
#: Blueprints a build may lack (the job queue's pages are built separately).
OPTIONAL = {"jobs_views"}
#: Requests larger than this are refused before a view reads them (uploads have their own,
#: smaller, per-file limit from the settings; a form carries two files at most).
FORM_OVERHEAD = 64 * 1024

MESSAGES = {
    400: ("The request could not be used", "Something in what was sent was not understood."),
    401: ("Please sign in", "This needs you to be signed in."),
    403: ("Not allowed", "Your account's role does not allow this."),
    404: ("Not found", "There is nothing at this address, or it is not yours to see."),
    405: ("Not allowed", "This address does not take that kind of request."),
    413: ("Too large", "What was sent is larger than this service accepts."),
}


def create_app(settings: ServiceSettings, engine: Engine) -> Flask:
    """The service over ``engine`` (already migrated: ``store.db.open_database``)."""
    app = Flask("fairshare.service", template_folder=str(HERE / "templates"),
                static_folder=str(HERE / "assets"), static_url_path="/static")
    app.extensions["fairshare_db"] = engine
    app.extensions["fairshare_settings"] = settings
    app.config["MAX_CONTENT_LENGTH"] = 2 * settings.upload_max_bytes + FORM_OVERHEAD
    # werkzeug's multipart decoder also holds an upload's data in memory up to this while it
    # looks for the next boundary, so it must allow a whole file (measured: a 1 MB CSV was
    # refused at 64 KB); text fields are bounded again by the store (4,000 characters)
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.upload_max_bytes + FORM_OVERHEAD
    app.jinja_env.autoescape = True
    app.jinja_env.filters["cell"] = _cell
    app.jinja_env.globals.update(current_account=context.current_account,
                                 csrf_token=_csrf_token, settings=settings,
                                 has_endpoint=lambda name: name in app.view_functions)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    security.install(app)
    for name in BLUEPRINTS:
        try:
            module = import_module(f"fairshare.service.{name}")
        except ModuleNotFoundError as exc:  # the job pages come from their own branch
            if name in OPTIONAL and exc.name == f"fairshare.service.{name}":
                continue
            raise
        app.register_blueprint(module.bp)
    app.add_url_rule("/health", "health", _health)
    app.register_error_handler(HTTPException, _http_error)
    if settings.explorer:
        from fairshare.service.explorer import mount

        mount(app)
    return app


def _cell(value: object) -> object:
    """A table cell as shown: empty for a missing value (never "nan" or "<NA>")."""
    import pandas as pd

    try:
        return "" if value is None or bool(pd.isna(value)) else value
    except (TypeError, ValueError):  # not a scalar
        return value


def _csrf_token() -> str:
    session = context.current_session()
    return session.csrf_token if session is not None else security.presign_token()


def _health() -> tuple[Response, int]:
    """Whether the database answers and is at this fairshare's migration; nothing secret."""
    try:
        with context.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        at = db.current_revision(context.engine())
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    expected = db.head_revision()
    ok = at == expected
    return jsonify(status="ok" if ok else "unavailable", database="reachable",
                   revision=at, expected_revision=expected), 200 if ok else 503


def _http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    title, words = MESSAGES.get(code, ("Something went wrong", "Please try again."))
    if code == 403 and exc.description == "csrf":
        title, words = ("Form expired", "This form was not sent from this service's page, or "
                        "your session changed since it was shown. Go back, reload the page and "
                        "send it again.")
    return render_template("error.html", title=title, words=words, code=code), code
