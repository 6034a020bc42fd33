"""Sign-in and sign-out: a password form, and OpenID Connect when the settings name a provider.

A sign-in always makes a new session (a new random token, a new CSRF token) and ends the one
the browser came with, so a token planted before sign-in is worthless after it (no session
fixation). The cookie is HttpOnly, SameSite=Strict and, unless the deployment is plain http on
loopback for development, Secure. The next page after sign-in is only ever a path on this site.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from fairshare.service import context, oidc
from fairshare.service.security import cookie_options, presign_token, session_cookie
from fairshare.store import accounts

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """A path on this site to go to after sign-in; anything else (another site) is home."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) \
            and "\n" not in target and "\r" not in target and len(target) < 300:
        return target
    return url_for("pages.home")


@bp.get("/sign-in")
def sign_in_form() -> str | Response:
    if context.current_account() is not None:
        return redirect(url_for("pages.home"))
    return _form()


def _form(error: str | None = None, username: str = "", status: int = 200) -> Response:
    html = render_template("sign_in.html", error=error, username=username,
                           csrf=presign_token(), next=request.args.get("next", ""),
                           oidc=context.settings().oidc_enabled,
                           oidc_label=context.settings().oidc_label)
    return make_response(html, status)


@bp.post("/sign-in", endpoint="sign_in")
def sign_in_submit() -> Response:
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _form("Enter your user name and password.", username[:120], 400)
    result = accounts.authenticate(context.engine(), username, password,
                                   client=context.client_address(), policy=context.policy())
    if result.account is None:
        return _form(result.refused, username[:120], 401)
    return start(result.account, "password", safe_next(request.form.get("next")))


def start(account: accounts.Account, how: str, target: str) -> Response:
    """End the browser's old session, start a new one, and set its cookie."""
    with context.engine().begin() as conn:
        old = context.current_session()
        if old is not None:
            accounts.end_session(conn, old.token_hash, actor=old.account.username,
                                 client=context.client_address())
        token, session = accounts.start_session(conn, account, policy=context.policy(),
                                                client=context.client_address(), how=how)
    g.session = session
    response = redirect(target, code=303)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response.set_cookie(session_cookie(app), token, **cookie_options(app))
    return response


@bp.post("/sign-out")
def sign_out() -> Response:
    session = context.current_session()
    if session is not None:
        with context.engine().begin() as conn:
            accounts.end_session(conn, session.token_hash, actor=session.account.username,
                                 client=context.client_address())
    g.session = None
    response = redirect(url_for("auth.sign_in_form", signed_out=1), code=303)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    options = cookie_options(app)
    response.delete_cookie(session_cookie(app), path="/", secure=options["secure"],
                           httponly=True, samesite="Strict")
    response.delete_cookie("_csrf_token", path="/explore/")
    return response


@bp.get("/sign-in/oidc")
def oidc_start() -> Response:
    if not context.settings().oidc_enabled:
        return _form("Signing in with an organisation account is not set up here.", status=404)
    return oidc.authorise(context.settings(), url_for("auth.oidc_callback", _external=True))


@bp.get("/sign-in/oidc/callback")
def oidc_callback() -> Response:
    settings = context.settings()
    if not settings.oidc_enabled:
        return _form("Signing in with an organisation account is not set up here.", status=404)
    try:
        identity = oidc.complete(settings, url_for("auth.oidc_callback", _external=True))
    except oidc.OidcError as exc:
        return _form(f"Signing in with your organisation did not work: {exc}", status=401)
    with context.engine().begin() as conn:
        account = accounts.oidc_sign_in(conn, subject=identity.subject, email=identity.email,
                                        client=context.client_address())
    if account is None:
        return _form("Your organisation account has no account here yet: ask an "
                     "administrator to create one with your e-mail address.", status=403)
    response = start(account, "oidc", url_for("pages.home"))
    response.delete_cookie(oidc.STATE_COOKIE, path="/sign-in/oidc")
    return response
