"""The web app's Plan answer keeps moves already past apart from moves still to make (issue 18:
"112 by 2031" mixed 62 reconstructed posts with moves still to make)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from fairshare.webapp import views
from fairshare.webapp.engine import Engine
from fairshare.webapp.state import clean_state


def test_answer_splits_reconstructed_years_from_moves_to_make() -> None:
    engine = Engine()
    state = clean_state({"tab": "plan", "specialty": "Cardiology", "area": "London"})
    view = views.plan_view(engine, state, today=date(2026, 11, 28))  # 2027 is the next round
    plan, _ = engine.specialty_plan(engine.scenario(state), "Cardiology")
    london = plan[plan["area"] == "London"].set_index("year")["redistribution"]
    past, ahead = -int(london[london.index < 2027].sum()), -int(london[london.index >= 2027].sum())
    assert past > 0 and ahead > 0  # London gives Cardiology posts in both
    first = int(london.index.min())
    answer = view["answer"]
    assert answer.startswith(f"London gives up {past + ahead:,} Cardiology posts by "
                             f"{int(london.index.max())}: ")
    assert f"{past:,} in {first}–2026, already past (a reconstruction: " in answer
    assert f"{ahead:,} still to make from 2027 (" in answer


def test_answer_with_every_year_to_come() -> None:
    by_year = pd.DataFrame({"year": [2027, 2028], "redistribution": [3, 2]})
    assert views.plan_answer("Wessex", "Urology", by_year, 2027) == (
        "Wessex receives 5 Urology posts by 2028: 5 still to make from 2027 (3 in 2027, "
        "2 in 2028).")
