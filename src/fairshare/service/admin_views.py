"""Administration: accounts, roles, deactivation, unlocking, and the audit log with its export.

Only admins. Every change is written with its audit entry in one transaction
(store/accounts.py); the log itself is read-only here and in the database (triggers).
An admin makes an account with a first password they pass on by a separate channel, or for
OIDC sign-in only (no password).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fairshare.publish.outputs import defuse_formulas
from fairshare.service import context
from fairshare.store import accounts, audit
from fairshare.store.schema import ROLES

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_SHOWN = 500


def _offices() -> list[str]:
    from fairshare.service.uploads import bundle

    return sorted(bundle().local_offices["local_office"])


def _specialties() -> list[str]:
    from fairshare.service.uploads import bundle

    return sorted(bundle().specialties["specialty"])


@bp.route("/accounts", methods=["GET", "POST"], endpoint="accounts")
@context.require_role("admin")
def accounts_page() -> str | Response:
    errors: list[dict[str, str]] = []
    form = {k: request.form.get(k, "") for k in
            ("username", "display_name", "role", "office", "specialty", "password")}
    if request.method == "POST":
        office, specialty = form["office"] or None, form["specialty"] or None
        if office is not None and office not in _offices():
            errors.append({"field": "office", "text": "Choose a local office from the list"})
        if specialty is not None and specialty not in _specialties():
            errors.append({"field": "specialty", "text": "Choose a specialty from the list"})
        if not errors:
            try:
                with context.engine().begin() as conn:
                    accounts.create_account(
                        conn, username=form["username"], role=form["role"],
                        password=form["password"] or None, display_name=form["display_name"],
                        office=office, specialty=specialty, actor=context.actor_name(),
                        client=context.client_address())
                return redirect(url_for("admin.accounts", made=form["username"][:120]), code=303)
            except accounts.AccountError as exc:
                field = "password" if "password" in str(exc) else "username" \
                    if "name" in str(exc) else "role"
                errors.append({"field": field, "text": str(exc)})
    form["password"] = ""  # never shown back
    with context.engine().connect() as conn:
        listed = accounts.list_accounts(conn)
    return render_template("admin_accounts.html", accounts=listed, roles=ROLES, form=form,
                           errors=errors, offices=_offices(), specialties=_specialties(),
                           now=accounts.now())



@bp.post("/accounts/<int:account_id>")
@context.require_role("admin")
def change(account_id: int) -> Response:
    action = request.form.get("action", "")
    who, client = context.actor_name(), context.client_address()
    try:
        with context.engine().begin() as conn:
            if action == "role":
                accounts.set_role(conn, account_id, role=request.form.get("role", ""),
                                  office=request.form.get("office") or None,
                                  specialty=request.form.get("specialty") or None,
                                  actor=who, client=client)
            elif action in ("deactivate", "activate"):
                accounts.set_active(conn, account_id, action == "activate", actor=who,
                                    client=client)
            elif action == "unlock":
                accounts.unlock(conn, account_id, actor=who, client=client)
            elif action == "password":
                accounts.set_password(conn, account_id, request.form.get("password", ""),
                                      actor=who, client=client)
            else:
                abort(400)
    except accounts.AccountError as exc:
        return redirect(url_for("admin.accounts", problem=str(exc)[:300]), code=303)
    return redirect(url_for("admin.accounts", done=action), code=303)


@bp.get("/audit", endpoint="audit")
@context.require_role("admin")
def audit_page() -> str:
    with context.engine().connect() as conn:
        log = audit.entries(conn)
    shown = log.iloc[::-1].head(AUDIT_SHOWN)
    return render_template("admin_audit.html", log=shown, total=len(log))



@bp.get("/audit.csv")
@context.require_role("admin")
def audit_csv() -> Response:
    with context.engine().begin() as conn:
        log = audit.entries(conn)
        audit.record(conn, "audit_exported", actor=context.actor_name(),
                     detail={"entries": len(log)}, client=context.client_address())
    body = defuse_formulas(log.astype(str)).to_csv(index=False)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="fairshare-audit-log.csv"'})
