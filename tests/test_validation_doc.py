"""docs/validation.md keeps conservation: every scenario's column adds to zero over the offices.

Redistribution moves posts between areas and never adds or removes them, so in both office
tables (today's gap, planned 2023-2030 change) each column must add to zero over the 11 local
offices, and the England row must say so. The check parses the published page, so a page
written from a broken run, or edited by hand, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
OFFICES = 11


def _number(cell: str) -> int:
    return int(cell.strip().strip("*").replace("−", "-").replace(",", "").replace("+", ""))


def _office_tables() -> list[tuple[list[str], list[list[int]], list[int]]]:
    """(column names, office rows, England row) of every table headed 'Local office'."""
    tables = []
    for block in re.split(r"\n\s*\n", DOC.read_text(encoding="utf-8")):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if not lines or not lines[0].startswith("| Local office"):
            continue
        head = [c.strip() for c in lines[0].strip("|").split("|")][1:]
        rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
        offices = [[_number(c) for c in r[1:]] for r in rows if r[0] != "**England**"]
        england = [_number(c) for r in rows if r[0] == "**England**" for c in r[1:]]
        tables.append((head, offices, england))
    return tables


def test_every_column_of_both_office_tables_adds_to_zero() -> None:
    tables = _office_tables()
    assert len(tables) == 2  # today's gap; planned change 2023-2030
    for head, offices, england in tables:
        assert len(offices) == OFFICES and {"default", "full", "as built"} <= set(head)
        for k, name in enumerate(head):
            assert sum(row[k] for row in offices) == 0, name
            assert england[k] == 0, name
