"""The plan's findings: grouped by kind and cause, ranked by posts, years printed as years."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

import fairshare.cli.common as common
from fairshare.cli import app
from fairshare.model.pipeline import findings_groups


def _finding(kind: str, cause: str, area: str, spec: str, size: int) -> dict[str, object]:
    return {"kind": kind, "cause": cause, "area": area, "specialty": spec, "year": 2030,
            "size": size, "message": f"{area} {spec} {size}"}


def test_groups_count_sum_and_rank_by_posts() -> None:
    # Hand-made: two capacity findings (3 + 4 = 7 posts, 2 areas, 1 specialty), one large
    # cohort finding (9 posts), three small phase findings (1 + 1 + 2 = 4 posts).
    rows = [_finding("horizon", "its capacity", "A", "S", 3),
            _finding("horizon", "its capacity", "B", "S", 4),
            _finding("glide", "the cohort share", "A", "T", 9),
            _finding("phase", "specialty not phased", "England", "U", 1),
            _finding("phase", "specialty not phased", "England", "V", 1),
            _finding("phase", "specialty not phased", "England", "W", 2)]
    groups = findings_groups(pd.DataFrame(rows))
    assert list(groups["cause"]) == ["the cohort share", "its capacity", "specialty not phased"]
    assert list(groups["rank"]) == [1, 2, 3]
    assert list(groups["findings"]) == [1, 2, 3]
    assert list(groups["posts"]) == [9, 7, 4]
    assert list(groups["areas"]) == [1, 2, 1]
    assert list(groups["specialties"]) == [1, 1, 3]
    assert list(groups["largest"]) == ["A T 9", "B S 4", "England W 2"]


def test_year_of_a_nullable_column_prints_as_a_whole_year(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=buffer, width=200))
    frame = pd.DataFrame({"year": pd.array([2030, None], dtype="Int64").astype(float),
                          "size": [1, 2]})
    common.show_table(frame, "t", ["year", "size"])
    assert "2030" in buffer.getvalue() and "2030.0" not in buffer.getvalue()


def test_plan_command_groups_every_finding(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    res = CliRunner().invoke(app, ["plan", "--out", str(out)])
    assert res.exit_code == 0, res.output
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    groups = pd.read_csv(out / "findings_groups.csv")
    # every finding is in exactly one group, and the posts add up (recomputed here)
    assert groups["findings"].sum() == len(findings)
    assert groups["posts"].sum() == findings["size"].astype(int).sum()
    recount = findings.groupby(["kind", "cause"]).size()
    assert dict(recount) == {(k, c): n for k, c, n in
                             groups[["kind", "cause"]].assign(n=groups["findings"]).itertuples(
                                 index=False)}
    assert groups["posts"].is_monotonic_decreasing
    # years are whole years (a finding without a year is blank), never "2030.0"
    assert findings["year"].str.fullmatch(r"(\d{4})?").all()
    assert f"{len(findings)} findings in {len(groups)} groups" in " ".join(res.output.split())
    columns = pd.read_csv(out / "columns.csv")
    described = columns[columns["table"] == "findings_groups"]
    assert not described["meaning"].str.contains("not described").any()
