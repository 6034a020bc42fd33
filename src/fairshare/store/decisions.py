"""Reviewers' decisions on post recommendations: accept, reject with a reason, or propose.

A specialty's task-and-finish group decides on each trust-level or named-post recommendation
of a run. A decision is never edited: deciding again adds a row, and the latest row per
recommendation is the decision in force (``decisions_for``), so the history of who changed
their mind, when and why stays readable (``decision_history``). The next run reads the
decisions in force and records them.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Select, func, select

from fairshare.store import audit
from fairshare.store.records import StoreInputError, actor, check_text, utc
from fairshare.store.schema import DECISIONS, accounts, decisions, runs

#: A recommendation is named "<area>|<specialty>|<year>|<org_code or post number>".
RECOMMENDATION_PARTS = ("area", "specialty", "year", "org_code or post number")
MAX_REASON = 4000
MAX_PROPOSED = 120
COLUMNS = ["id", "run_id", "recommendation", "area", "specialty", "decision", "reason",
           "proposed", "decided_by", "decided_by_name", "decided_at"]


def _check(recommendation: str, specialty: str, area: str, decision: str,
           reason: str | None, proposed: str | None) -> None:
    """Refuse a decision that does not say what a later run needs to apply it."""
    if decision not in DECISIONS:
        raise StoreInputError(f"decision {decision!r} is not known: expected one of "
                              f"{', '.join(DECISIONS)}")
    check_text("the recommendation", recommendation, limit=400)
    parts = recommendation.split("|")
    if len(parts) != len(RECOMMENDATION_PARTS) or not all(p.strip() for p in parts):
        raise StoreInputError(f"recommendation {recommendation[:80]!r} is not of the form "
                              f"{'|'.join(f'<{p}>' for p in RECOMMENDATION_PARTS)}")
    if parts[0] != area or parts[1] != specialty:
        raise StoreInputError(f"recommendation {recommendation[:80]!r} is for {parts[0]} / "
                              f"{parts[1]}, not for {area} / {specialty}")
    if decision == "reject":
        check_text("a rejection's reason", reason, limit=MAX_REASON)
    else:
        check_text("the reason", reason, limit=MAX_REASON, required=False)
    if decision == "propose":
        check_text("the proposed post or trust", proposed, limit=MAX_PROPOSED)
    elif proposed is not None:
        raise StoreInputError(f"only a 'propose' decision names another post or trust; this is "
                              f"{decision!r}")


def record_decision(conn: Connection, *, run_id: str, recommendation: str, specialty: str,
                    area: str, decision: str, reason: str | None = None,
                    proposed: str | None = None, account_id: int) -> int:
    """Record one decision on one recommendation of a stored run; returns its id."""
    _check(recommendation, specialty, area, decision, reason, proposed)
    who = actor(conn, account_id)
    if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).scalar() is None:
        raise StoreInputError(f"run {run_id!r} is not in this database: decisions are recorded "
                              "on a run stored in the service's database")
    new_id = int(conn.execute(decisions.insert().values(
        run_id=run_id, recommendation=recommendation, specialty=specialty, area=area,
        decision=decision, reason=reason, proposed=proposed, decided_by=account_id,
        decided_at=audit.now(),
    ).returning(decisions.c.id)).scalar_one())
    audit.record(conn, "decision_recorded", actor=who, target=f"run {run_id}",
                 detail={"decision_id": new_id, "recommendation": recommendation,
                         "decision": decision, "proposed": proposed})
    return new_id


def _query(run_id: str, specialty: str | None) -> Select[tuple[object, ...]]:
    query = (select(decisions, accounts.c.username.label("decided_by_name"))
             .join(accounts, accounts.c.id == decisions.c.decided_by)
             .where(decisions.c.run_id == run_id))
    if specialty is not None:
        query = query.where(decisions.c.specialty == specialty)
    return query


def _frame(conn: Connection, query: Select[tuple[object, ...]]) -> pd.DataFrame:
    rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["decided_at"] = utc(row["decided_at"])
    return pd.DataFrame(rows, columns=COLUMNS)


def decisions_for(conn: Connection, run_id: str, specialty: str | None = None) -> pd.DataFrame:
    """The decision in force on each recommendation of a run: its latest, with who and when."""
    latest = (select(func.max(decisions.c.id))
              .where(decisions.c.run_id == run_id)
              .group_by(decisions.c.recommendation))
    query = _query(run_id, specialty).where(decisions.c.id.in_(latest))
    return _frame(conn, query.order_by(decisions.c.recommendation))


def decision_history(conn: Connection, run_id: str,
                     specialty: str | None = None) -> pd.DataFrame:
    """Every decision ever recorded on a run's recommendations, oldest first."""
    return _frame(conn, _query(run_id, specialty).order_by(decisions.c.id))
