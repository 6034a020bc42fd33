"""A review's decisions file (`--decisions FILE`, CSV or Excel): one row per recommendation.

Columns: ``recommendation`` (the key ``area|specialty|year|org_code or National Post Number``,
as the service stores it and as the outputs' ``recommendation`` column builds it) or the four
columns ``area``, ``specialty``, ``year``, ``target``; ``decision`` (accept, reject, propose);
``reason`` (needed to reject); ``proposed`` (another trust's ODS code or a National
Post Number; needed to propose). Every problem is reported at once by file, row and column, with
"did you mean" for a trust code or a name. A well-formed decision that does not fit the run (a
trust in another area, a round outside the plan) is not an error here: the run reports it as a
decision it could not honour (``model.decisions``).

The service stores decisions in its database (``store.decisions.decisions_for``); ``from_store``
turns that table into the same decisions table, so a run reads them as it reads a file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from fairshare.errors import InputError, Problem, quote
from fairshare.inputs.posts import cell_text, parse_year, read_table
from fairshare.names import did_you_mean

DECISION_COLUMNS = ["recommendation", "area", "specialty", "year", "target", "decision",
                    "reason", "proposed"]
ACCEPT, REJECT, PROPOSE = "accept", "reject", "propose"
DRAFT_PREFIX = "DRAFT/"  # a new post's number (named_posts.draft_number): its trust is inside
WORDS = {ACCEPT: ACCEPT, "accepted": ACCEPT, REJECT: REJECT, "rejected": REJECT,
         PROPOSE: PROPOSE, "proposed": PROPOSE}
KEY_PARTS = ("area", "specialty", "year", "target")


def recommendation_key(area: str, specialty: str, year: int, target: str) -> str:
    """The key the service stores a decision under (store/schema.py ``decisions``)."""
    return f"{area}|{specialty}|{int(year)}|{target}"


def recommendation_keys(rows: pd.DataFrame) -> pd.Series:
    """The recommendation key of each row of a trust plan (``org_code``) or a named-post plan
    (``national_post_number``), as a reviewer's decision refers to it; '' on a row with
    neither (a post not placed at a trust: the office chooses, nothing to decide on)."""
    target = (rows["national_post_number"] if "national_post_number" in rows.columns
              else rows["org_code"]).fillna("").astype(str)
    keys = (rows["area"].astype(str) + "|" + rows["specialty"].astype(str) + "|"
            + rows["year"].astype(int).astype(str) + "|" + target)
    return keys.where(target != "", "")


def decisions_digest(decisions: pd.DataFrame) -> str:
    """SHA-256 of a decisions table (any row order), for the scenario as run when the
    decisions come from the service's database rather than a file."""
    table = decisions[DECISION_COLUMNS].astype(str).sort_values(DECISION_COLUMNS)
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()


def parse_key(key: str) -> tuple[str, str, int, str] | None:
    """``area|specialty|year|target`` -> its parts, or None if it is not of that form."""
    parts = [p.strip() for p in str(key).split("|")]
    if len(parts) != 4 or not all(parts) or not parts[2].lstrip("-").isdigit():
        return None
    return parts[0], parts[1], int(parts[2]), parts[3]


def from_store(table: pd.DataFrame) -> pd.DataFrame:
    """The service's decisions (``store.decisions.decisions_for``: recommendation, area,
    specialty, decision, reason, proposed, …) as a decisions table (``DECISION_COLUMNS``).

    The year and target are read from the recommendation key; a key not of the form
    ``area|specialty|year|target`` keeps year -1 and an empty target, and ``resolve`` reports it
    as a decision that cannot be honoured (never dropped)."""
    rows = []
    for rec in table.to_dict("records"):
        key = str(rec.get("recommendation") or "")
        parts = parse_key(key)
        area, spec, year, target = parts if parts else (
            str(rec.get("area") or ""), str(rec.get("specialty") or ""), -1, "")
        rows.append({"recommendation": key, "area": area, "specialty": spec, "year": year,
                     "target": target, "decision": str(rec.get("decision") or "").lower(),
                     "reason": _text(rec.get("reason")), "proposed": _text(rec.get("proposed"))})
    return pd.DataFrame(rows, columns=DECISION_COLUMNS).astype({"year": "int64"})


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)



def read_decisions(path: str | Path, *, offices: dict[str, str], specialties: list[str],
                   trusts: Iterable[str], post_numbers: Iterable[str] = ()) -> pd.DataFrame:
    """The decisions table (``model.decisions.DECISION_COLUMNS``) from a user's file.

    offices: accepted spellings (lower case) -> local office (``posts.area_lookup``).
    trusts: every ODS code a decision may name. post_numbers: the records' National Post
    Numbers (``posts plan``); without them a number (a text with '/') is accepted as given.
    """
    name = str(path)
    df = read_table(path)
    columns = set(df.columns)
    has_parts = all(c in columns for c in KEY_PARTS)
    missing = [] if "recommendation" in columns or has_parts else ["recommendation"]
    missing += [] if "decision" in columns else ["decision"]
    if missing:
        found = ", ".join(map(str, df.columns[:12]))
        raise InputError([Problem(name, 1, c, "required column missing: expected "
                                  "recommendation (or area, specialty, year, target), "
                                  f"decision, reason, proposed (found: {found})")
                          for c in missing])
    check = _Checker(name, offices, specialties, sorted(set(trusts)), set(post_numbers))
    rows = [check.row(i, rec) for i, rec in enumerate(df.to_dict("records"), start=2)]
    if check.problems:
        raise InputError(check.problems)
    return pd.DataFrame(rows, columns=DECISION_COLUMNS).astype({"year": "int64"})


class _Checker:
    """Checks one row at a time, collecting every problem."""

    def __init__(self, name: str, offices: dict[str, str], specialties: list[str],
                 trusts: list[str], numbers: set[str]) -> None:
        self.name, self.offices, self.specialties = name, offices, specialties
        self.by_spec = {s.lower(): s for s in specialties}
        self.trusts, self.known = trusts, set(trusts)
        self.numbers = numbers
        self.problems: list[Problem] = []
        self.seen: dict[str, int] = {}

    def row(self, i: int, rec: dict[str, object]) -> dict[str, object]:
        key = cell_text(rec.get("recommendation", ""))
        parts = self._parts(i, key, rec)
        area, spec, year, target = parts
        word = cell_text(rec.get("decision")).lower()
        decision = WORDS.get(word, "")
        reason = cell_text(rec.get("reason", ""))
        proposed = cell_text(rec.get("proposed", ""))
        if not decision:
            self._add(i, "decision", f"'{quote(word)}' is not a decision: expected accept, "
                      "reject or propose" if word else "empty: expected accept, reject or "
                      "propose")
        if decision == REJECT and not reason:
            self._add(i, "reason", "a decision to reject needs a reason")
        if decision == PROPOSE and not proposed:
            self._add(i, "proposed", "a proposal needs the proposed trust (ODS code) or "
                      "National Post Number")
        if decision != PROPOSE and proposed:
            self._add(i, "proposed", f"only a proposal names another trust or post (this row "
                      f"is '{decision or word}')")
        if target:
            self._target(i, "target" if not key else "recommendation", target)
        if proposed:
            self._target(i, "proposed", proposed)
        target = target.upper() if _is_code(target) else target
        full = recommendation_key(area, spec, year, target) if year else key
        if full in self.seen:
            self._add(i, "recommendation", f"{full} is decided twice (rows {self.seen[full]} "
                      f"and {i}): keep one")
        self.seen.setdefault(full, i)
        return {"recommendation": full, "area": area, "specialty": spec, "year": year,
                "target": target,
                "decision": decision, "reason": reason,
                "proposed": proposed.upper() if _is_code(proposed) else proposed}

    def _parts(self, i: int, key: str, rec: dict[str, object]) -> tuple[str, str, int, str]:
        """area, specialty, year, target from the key (checked against the four columns when
        both are given) or from the four columns."""
        given = {c: cell_text(rec.get(c, "")) for c in KEY_PARTS}
        if key:
            parsed = parse_key(key)
            if parsed is None:
                self._add(i, "recommendation", f"'{quote(key)}' is not a recommendation key: "
                          "expected area|specialty|year|org_code or National Post Number, e.g. "
                          "London|Cardiology|2027|R1H")
                return "", "", 0, ""
            raw = dict(zip(KEY_PARTS, map(str, parsed), strict=True))
            for c in KEY_PARTS:
                if given[c] and given[c].lower() != raw[c].lower():
                    self._add(i, c, f"'{quote(given[c])}' differs from the recommendation key's "
                              f"'{quote(raw[c])}'")
            col = "recommendation"
        else:
            raw, col = given, ""
        area = self.offices.get(raw["area"].lower(), "")
        if not area:
            self._add(i, col or "area", f"'{quote(raw['area'])}' is not a local office"
                      f"{did_you_mean(raw['area'], sorted(set(self.offices.values())))}")
        spec = self.by_spec.get(raw["specialty"].lower(), "")
        if not spec:
            self._add(i, col or "specialty", f"'{quote(raw['specialty'])}' is not a specialty"
                      f"{did_you_mean(raw['specialty'], self.specialties)}; see `fairshare "
                      "specialties`")
        year = parse_year(raw["year"])
        if isinstance(year, str):
            self._add(i, col or "year", year)
            year = 0
        if not raw["target"]:
            self._add(i, col or "target", "empty: expected the recommendation's trust (ODS "
                      "code) or National Post Number")
        return area, spec, year, raw["target"]

    def _target(self, i: int, column: str, text: str) -> None:
        if _is_code(text):
            if text.upper() not in self.known:
                self._add(i, column, f"'{quote(text)}' is not a trust (ODS code) of the run"
                          f"{did_you_mean(text.upper(), self.trusts)}")
        elif self.numbers and text not in self.numbers and not text.upper().startswith(
                DRAFT_PREFIX):
            self._add(i, column, f"'{quote(text)}' is not a National Post Number of the "
                      f"records{did_you_mean(text, self.numbers)}")

    def _add(self, i: int, column: str, message: str) -> None:
        self.problems.append(Problem(self.name, i, column, message))


def _is_code(text: str) -> bool:
    """A trust's ODS code (no '/'), not a National Post Number."""
    return bool(text) and "/" not in text
