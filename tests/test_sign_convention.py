"""One sign for the percentage gap everywhere: gap / target, + receives, − gives (issue 18:
London was +59.8% in the terminal and CSV, −59.8% in the report, web app and workbook)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.publish.columns import GAP_SIGN


def test_terminal_and_csv_show_the_gap_share_with_the_gaps_sign(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["targets", "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "t" / "targets.csv")
    share = (table["target"] - table["current"]) / table["target"].where(table["target"] > 0)
    assert np.allclose(table["gap_share_of_target"], share.round(4), equal_nan=True, atol=1e-4)
    both = table.dropna(subset=["gap_share_of_target"])
    assert (np.sign(both["gap_share_of_target"]) == np.sign(both["gap"])).all()
    london = table[table["area"] == "London"][["current", "target"]].sum()
    percent = (london["target"] - london["current"]) / london["target"]
    assert percent < 0  # London is above its target: it gives
    line = next(r for r in res.output.splitlines() if "London" in r)
    assert f"{percent:+.1%}" in line and f"{-percent:+.1%}" not in line
    columns = pd.read_csv(tmp_path / "t" / "columns.csv").set_index("column")
    assert columns.loc["gap_share_of_target", "sign_convention"] == GAP_SIGN
    assert columns.loc["gap", "sign_convention"] == GAP_SIGN


def test_web_app_equity_table_has_the_maps_sign() -> None:
    from fairshare.webapp import views
    from fairshare.webapp.engine import Engine
    from fairshare.webapp.state import clean_state

    view = views.equity_view(Engine(), clean_state({"tab": "equity"}))
    rows = view["table"]["data"]
    # the area furthest above target gives (−), the one furthest below receives (+)
    assert all(r["gap_furthest_above"] <= 0 <= r["gap_furthest_below"] for r in rows)
    heads = [c["name"] for c in view["table"]["columns"]]
    assert "Furthest above target: gap (% of target, − gives)" in heads


def test_terminal_equity_shows_gaps_with_their_sign(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["equity", "--horizon", "2023", "--out", str(tmp_path / "e")])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "e" / "equity.csv")
    before = table[(table["specialty"] == "All") & (table["stage"] == "before")].iloc[0]
    row = next(r for r in res.output.splitlines() if r.strip("│ ").startswith("before"))
    assert f"{-before['max_distance']:+.1%}" in row and f"{-before['min_distance']:+.1%}" in row
    assert before["max_distance"] > 0 > -before["max_distance"]  # above target: gives (−)
