"""Reviews: a specialty's trust-level recommendations from the current plan, and decisions.

A reviewer (a specialty's task-and-finish group, national or for one office) sees the current
published plan's area plan for their specialty shared over trusts, by the same function
``fairshare posts`` uses (``model.trust_pipeline.run_trust_plan``, on the published run's own
targets and plan tables and its scenario), and records on each recommendation: accept, reject
with a reason, or propose another post or trust. Decisions are never edited; deciding again
adds a row, and the latest is in force (``store.decisions``). Analysts and admins read every
specialty's; only reviewers decide, and only for their own specialty (and office, if set).
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fairshare.errors import FairshareError
from fairshare.service import context, published, uploads
from fairshare.store import decisions, publications
from fairshare.store.records import StoreInputError

bp = Blueprint("reviews", __name__, url_prefix="/reviews")

READERS = ("admin", "analyst", "reviewer")
SHOWN = ["area", "year", "org_code", "org_name", "change", "posts_before", "posts_after",
         "reason"]


def recommendation_id(row: pd.Series) -> str:
    """The name a decision is recorded against: area|specialty|year|trust."""
    return f"{row['area']}|{row['specialty']}|{int(row['year'])}|{row['org_code']}"


def trust_rows(run_id: str, specialty: str) -> pd.DataFrame:
    """The run's plan for ``specialty`` shared over trusts (derived, so cached per process)."""
    return _trust_rows(context.engine().url.render_as_string(hide_password=True), run_id,
                       specialty)


@lru_cache(maxsize=32)
def _trust_rows(database: str, run_id: str, specialty: str) -> pd.DataFrame:
    from fairshare.inputs.corrections import corrected_trusts
    from fairshare.inputs.trusts import load_catchment, load_trusts, trust_basis, trust_minimums
    from fairshare.model.pipeline import PlanOutput
    from fairshare.model.trust_pipeline import run_trust_plan
    from fairshare.scenario import Scenario

    with context.engine().connect() as conn:
        meta = published.run_metadata(conn, run_id) or {}
        plan = published.run_table(conn, run_id, "plan")
        tgt = published.run_table(conn, run_id, "targets")
    if plan is None or tgt is None or not isinstance(meta.get("scenario"), dict):
        raise FairshareError("the published run has no plan, targets or scenario to share "
                             "over trusts")
    scenario = Scenario.model_validate(meta["scenario"])
    bundle = uploads.bundle()
    plan = plan[plan["specialty"] == specialty].reset_index(drop=True)
    tgt = tgt[(tgt["specialty"] == specialty) & (tgt.get("level", "local_office")
                                                  == "local_office")].reset_index(drop=True)
    out = PlanOutput(targets=tgt, plan=plan, findings=pd.DataFrame(), status="")
    trusts = corrected_trusts(load_trusts(), bundle)
    trusts = trusts[trusts["specialty"] == specialty].copy()
    trusts["min_posts"] = trust_minimums(trusts, scenario.trust_min_posts, None)
    rows = run_trust_plan(bundle, scenario, out, trusts, load_catchment(), trust_basis(bundle))
    return rows[rows["org_code"] != ""].reset_index(drop=True)


def _scope() -> tuple[str | None, str | None]:
    """(specialty, office) the request may see: a reviewer's own; others choose."""
    account = context.current_account()
    assert account is not None
    area = request.args.get("area") or None  # a filter only: never widens a reviewer's scope
    if account.role == "reviewer":
        return account.specialty, account.office or area
    return request.args.get("specialty") or None, area


@bp.get("")
@context.require_role(*READERS)
def index() -> str:
    specialty, office = _scope()
    with context.engine().connect() as conn:
        plan = publications.current(conn)
    rows, problem, decided = None, None, pd.DataFrame()
    if plan is not None and specialty:
        try:
            rows = trust_rows(plan.run_id, specialty)
        except FairshareError as exc:
            problem = str(exc)
        if rows is not None and office:
            rows = rows[rows["area"] == office]
        with context.engine().connect() as conn:
            decided = decisions.decisions_for(conn, plan.run_id, specialty)
    if rows is not None:
        rows = rows.assign(recommendation=rows.apply(recommendation_id, axis=1)
                           if len(rows) else pd.Series(dtype=str))
    latest = {r.recommendation: r for r in decided.itertuples()} if len(decided) else {}
    specialties = sorted(uploads.bundle().specialties["specialty"])
    offices = sorted(uploads.bundle().local_offices["local_office"])
    return render_template("reviews.html", plan=plan, specialty=specialty, office=office,
                           rows=rows, shown=SHOWN, latest=latest, problem=problem,
                           specialties=specialties, offices=offices,
                           fixed_office=context.current_account().office,  # type: ignore[union-attr]
                           may_decide=context.current_account().role == "reviewer")  # type: ignore[union-attr]


@bp.post("/decide")
@context.require_role("reviewer")
def decide() -> Response:
    specialty, office = _scope()
    with context.engine().connect() as conn:
        plan = publications.current(conn)
    recommendation = request.form.get("recommendation", "")
    parts = recommendation.split("|")
    if plan is None or len(parts) != 4 or parts[1] != specialty \
            or (office is not None and parts[0] != office):
        abort(403)
    back = request.form.get("area") or None  # the page's filter, to return to it
    choice = request.form.get("decision", "")
    reason = request.form.get("reason", "").strip() or None
    proposed = request.form.get("proposed", "").strip() or None if choice == "propose" else None
    account = context.current_account()
    assert account is not None and specialty is not None
    try:
        with context.engine().begin() as conn:
            decisions.record_decision(conn, run_id=plan.run_id, recommendation=recommendation,
                                      specialty=specialty, area=parts[0], decision=choice,
                                      reason=reason, proposed=proposed, account_id=account.id)
    except StoreInputError as exc:
        return redirect(url_for("reviews.index", problem=str(exc)[:300], area=back), code=303)
    return redirect(url_for("reviews.index", decided=recommendation[:300], area=back), code=303)
