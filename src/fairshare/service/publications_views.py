"""Published plans: the list, one plan's tables (and CSV downloads), and publishing a run.

Everyone signed in reads published plans (and anyone, when the deployment allows public
viewing); only analysts and admins publish. A publication is never changed: publishing again
makes the next version, so "previous vs current" always compares two published plans.
"""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fairshare.publish.columns import formatted
from fairshare.publish.outputs import defuse_formulas
from fairshare.service import context, published
from fairshare.store import publications
from fairshare.store.records import StoreInputError

bp = Blueprint("publications", __name__, url_prefix="/publications")

EVERYONE = ("admin", "analyst", "office_lead", "reviewer", "viewer")
PUBLISHERS = ("admin", "analyst")
#: Rows of a table shown on the page (the CSV has every row).
SHOWN_ROWS = 50


def _by_version(version: int) -> publications.Publication:
    with context.engine().connect() as conn:
        found = next((p for p in publications.list_publications(conn) if p.version == version),
                     None)
    if found is None:
        abort(404)
    return found


@bp.get("")
@context.require_role(*EVERYONE, public=True)
def index() -> str:
    with context.engine().connect() as conn:
        listed = publications.list_publications(conn)
    newest = max((p.version for p in listed), default=None)
    return render_template("publications.html", publications=listed, newest=newest)


@bp.get("/<int:version>")
@context.require_role(*EVERYONE, public=True)
def show(version: int) -> str:
    plan = _by_version(version)
    with context.engine().connect() as conn:
        names = published.table_names(conn, plan.run_id)
        earlier = [p for p in publications.list_publications(conn) if p.version < version]
        before = max(earlier, key=lambda p: p.version) if earlier else None
        change = by_area_change(published.run_table(conn, plan.run_id, "targets"),
                                published.run_table(conn, before.run_id, "targets")
                                if before else None)
    return render_template("publication.html", plan=plan, names=names, before=before,
                           change=change)


def by_area_change(now: pd.DataFrame | None, then: pd.DataFrame | None) -> pd.DataFrame | None:
    """Whole-post targets summed per local office, this plan against the previous one."""
    if now is None:
        return None

    def totals(t: pd.DataFrame) -> pd.Series:
        rows = t[t["level"] == "local_office"] if "level" in t.columns else t
        return rows.groupby("area")["target"].sum()

    out = pd.DataFrame({"target": totals(now).astype("Int64")})
    if then is not None:  # an office the previous plan did not have is left empty, not 0
        out["previous_target"] = totals(then).reindex(out.index).astype("Int64")
        out["change"] = out["target"] - out["previous_target"]
    return out.reset_index().rename(columns={"index": "area"})


@bp.get("/<int:version>/tables/<name>.csv")
@context.require_role(*EVERYONE, public=True)
def download(version: int, name: str) -> Response:
    plan = _by_version(version)
    with context.engine().connect() as conn:
        table = published.run_table(conn, plan.run_id, name)
    if table is None:
        abort(404)
    body = defuse_formulas(formatted(table)).to_csv(index=False)
    filename = f"fairshare-plan-v{version}-{name if name.isidentifier() else 'table'}.csv"
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/<int:version>/tables/<name>")
@context.require_role(*EVERYONE, public=True)
def table(version: int, name: str) -> str:
    plan = _by_version(version)
    with context.engine().connect() as conn:
        found = published.run_table(conn, plan.run_id, name)
    if found is None:
        abort(404)
    return render_template("publication_table.html", plan=plan, name=name,
                           rows=found.head(SHOWN_ROWS), total=len(found))


@bp.route("/new", methods=["GET", "POST"])
@context.require_role(*PUBLISHERS)
def new() -> str | Response:
    errors: list[dict[str, str]] = []
    form = {"run_id": "", "title": "", "note": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in form}
        account = context.current_account()
        assert account is not None
        try:
            with context.engine().begin() as conn:
                made = publications.publish(conn, run_id=form["run_id"], title=form["title"],
                                            note=form["note"], account_id=account.id)
            return redirect(url_for("publications.show", version=made.version), code=303)
        except StoreInputError as exc:
            field = "title" if "title" in str(exc) else "note" if "note" in str(exc) \
                else "run_id"
            errors.append({"field": field, "text": str(exc)})
    with context.engine().connect() as conn:
        runs = published.stored_runs(conn)
    return render_template("publish.html", runs=runs, form=form, errors=errors)
