"""The home page: what matters to the person signed in, first.

An office lead sees their own office's rows of the current published plan before anything
else; a reviewer their specialty's; everyone the current and previous published plans.
"""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, render_template

from fairshare.service import context, published
from fairshare.store import publications

bp = Blueprint("pages", __name__)

#: The columns of the targets table a home page shows (docs/outputs.md says what each means).
HOME_COLUMNS = ["area", "specialty", "current", "target", "gap"]


@bp.get("/")
@context.require_role()
def home() -> str:
    account = context.current_account()
    assert account is not None
    with context.engine().connect() as conn:
        now, before = publications.current(conn), publications.previous(conn)
        own = None
        if now is not None and (account.office or account.specialty):
            own = own_rows(published.run_table(conn, now.run_id, "targets"), account.office,
                           account.specialty)
    return render_template("home.html", current=now, previous=before, own=own,
                           account=account)


def own_rows(targets: pd.DataFrame | None, office: str | None,
             specialty: str | None) -> pd.DataFrame | None:
    """The published targets of one office (and/or specialty), largest gap first."""
    if targets is None or targets.empty:
        return None
    rows = targets
    if "level" in rows.columns:
        rows = rows[rows["level"] == "local_office"]
    if office:
        rows = rows[rows["area"] == office]
    if specialty:
        rows = rows[rows["specialty"] == specialty]
    cols = [c for c in HOME_COLUMNS if c in rows.columns]
    return rows[cols].sort_values(cols[-1], key=lambda s: -s.abs()).reset_index(drop=True)
