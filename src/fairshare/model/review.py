"""A run with review decisions: what each did, and which rows it steered (issue 17).

``review`` makes the trust split (and the named posts) twice: without the decisions, to know the
recommendations they refer to (``decisions.resolve``), then with them. ``outcomes`` says, per
decision, what the decided trust moved before and after and whether the decision was honoured
(and why not); ``label_trusts`` and ``label_named`` add ``decision`` and ``decision_basis`` to
the rows a decision put first, kept or handed to the rule's next trust or post. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from fairshare.inputs.decisions import ACCEPT, DECISION_COLUMNS, DRAFT_PREFIX, PROPOSE
from fairshare.model.decisions import Key, Records, RoundSteer, Steering, moved_posts, resolve

OUTCOME_COLUMNS = [*DECISION_COLUMNS, "target_change_before", "target_change_after",
                   "proposed_change_after", "outcome", "finding"]
HONOURED, PARTLY, NOT_HONOURED = "honoured", "partly honoured", "not honoured"
#: ``decision`` column values on the steered rows
ACCEPTED, PROPOSED, AFTER_REJECTION, REJECTED = (
    "accepted", "proposed", "after rejection", "rejected")


@dataclass(frozen=True)
class Reviewed:
    """A run with decisions: the rows as steered, the rows without decisions, and each
    decision's outcome (``OUTCOME_COLUMNS``)."""

    trusts: pd.DataFrame
    named: pd.DataFrame | None
    before: pd.DataFrame
    outcomes: pd.DataFrame


def label_trusts(rows: pd.DataFrame, steering: Steering) -> pd.DataFrame:
    """The trust rows with ``decision`` and ``decision_basis``: the rows a decision put first,
    and the other rows of a round in which a review rejected a trust or post."""
    decision = pd.Series("", index=rows.index, dtype=object)
    basis = pd.Series("", index=rows.index, dtype=object)
    recs = steering.decisions.to_dict("records")
    keys = list(zip(rows["area"], rows["specialty"], rows["year"], strict=True))
    for j, (area, spec, year) in enumerate(keys):
        steer = steering.rounds.get((str(area), str(spec), int(year)))
        org = str(rows["org_code"].iat[j])
        if steer is None or rows["change"].iat[j] == 0:
            continue
        mine = [i for o, _, i in steer.first if o == org and i not in steering.refused]
        if mine:
            decision.iat[j] = ACCEPTED if recs[mine[0]]["decision"] == ACCEPT else PROPOSED
            basis.iat[j] = "; ".join(_first_basis(recs[i]) for i in mine)
        elif steer.rejects():
            decision.iat[j] = AFTER_REJECTION
            basis.iat[j] = _after_basis(steer, recs)
    return rows.assign(decision=decision, decision_basis=basis)


def _first_basis(rec: Mapping[str, object]) -> str:
    if rec["decision"] == ACCEPT:
        return f"accepted by review ({rec['recommendation']}): used first"
    return (f"proposed by review in place of {rec['target']} (rejected: "
            f"{rec['reason'] or 'no reason given'}): used first, within the same rules")


def _after_basis(steer: RoundSteer, recs: list[dict[str, object]]) -> str:
    told = "; ".join(f"{recs[i]['target']} rejected by review ({recs[i]['reason'] or 'no reason'})"
                     for i in steer.rejected)
    return f"{told}: the posts follow the rule's next trust or post"


def outcomes(steering: Steering, before: pd.DataFrame, after: pd.DataFrame,
             named: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per decision: the target's change without and with the decisions, the
    proposal's change with them, and whether the decision was honoured (and why not)."""
    was, now = moved_posts(before), moved_posts(after)
    released = set() if named is None else set(zip(
        named.loc[named["action"] == "do not re-advertise", "national_post_number"],
        named.loc[named["action"] == "do not re-advertise", "year"], strict=True))
    rows = []
    for i, rec in enumerate(steering.decisions.to_dict("records")):
        key = (str(rec["area"]), str(rec["specialty"]), int(rec["year"]))
        org = _target_org(rec, steering, i)
        want = steering.wants.get(i)
        prop_now = now.get((*key, want[0]), 0) if want else pd.NA
        outcome, finding = _judge(i, rec, steering, (was, now), key, org, released)
        rows.append({**{c: rec[c] for c in DECISION_COLUMNS},
                     "target_change_before": was.get((*key, org), 0) if org else pd.NA,
                     "target_change_after": now.get((*key, org), 0) if org else pd.NA,
                     "proposed_change_after": prop_now, "outcome": outcome,
                     "finding": finding})
    out = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    for col in ("target_change_before", "target_change_after", "proposed_change_after"):
        out[col] = out[col].astype("Int64")
    return out


def _target_org(rec: Mapping[str, object], steering: Steering, i: int) -> str:
    target = str(rec["target"])
    if i in steering.post_of:
        return steering.post_of[i][1]
    if target.upper().startswith(DRAFT_PREFIX):
        parts = target.split("/")
        return parts[2].upper() if len(parts) > 3 else ""
    return target.upper() if "/" not in target else ""


def _judge(i: int, rec: Mapping[str, object], steering: Steering,
           moved: tuple[Mapping[tuple[str, str, int, str], int], ...], key: Key, org: str,
           released: set[tuple[str, int]]) -> tuple[str, str]:
    """(outcome, finding) of one decision after the run; ``moved``: the trusts' moves
    without and with the decisions."""
    was, now = moved
    if i in steering.refused:
        return NOT_HONOURED, steering.refused[i]
    number = steering.post_of.get(i, ("", ""))[0]
    if rec["decision"] != ACCEPT and str(rec["target"]).upper().startswith(DRAFT_PREFIX) \
            and 0 < was.get((*key, org), 0) <= now.get((*key, org), 0):
        return NOT_HONOURED, f"{org} still receives {now.get((*key, org), 0)} this round"
    if rec["decision"] != ACCEPT and org and not number and "/" not in str(rec["target"]) \
            and now.get((*key, org), 0):
        return NOT_HONOURED, f"{org} still moves posts this round"
    if rec["decision"] != ACCEPT and number and (number, key[2]) in released:
        return NOT_HONOURED, f"the post {number} is still released in {key[2]}"
    if (first := steering.preferred.get(i)) is not None:
        if (first, key[2]) in released:
            return HONOURED, ""
        return NOT_HONOURED, (f"the post {first} was not released in {key[2]}: its trust could "
                              "give no more that round (its minimum unit) or the round needed "
                              "fewer posts")
    want = steering.wants.get(i)
    if want is None:
        return HONOURED, steering.notes.get(i, "")
    got = abs(now.get((*key, want[0]), 0))
    if got >= want[1]:
        return HONOURED, ""
    verb = "give" if any(c < 0 for (a, s, y, _), c in now.items() if (a, s, y) == key) \
        else "receive"
    own = steering.own.get(i, 0)
    split = (f" ({own} of its own recommendation + {want[1] - own} in place of "
             f"{rec['target']})" if own else "")
    why = (f"{want[0]} could {verb} {got} of the {want[1]} post(s){split} this round: "
           + ("it gives only posts falling vacant (no trainee moves) and keeps its minimum unit"
              if verb == "give" else "within its supervision capacity")
           + "; the rest follows the rule (the next trust, or the local office where none can)")
    return (PARTLY if got > own else NOT_HONOURED), why


def review(run: Callable[[Steering | None], tuple[pd.DataFrame, pd.DataFrame | None]],
           decisions: pd.DataFrame, trusts: pd.DataFrame, years: range,
           records: Records | None = None) -> Reviewed:
    """Run without decisions (the recommendations they refer to), resolve the decisions against
    that run, run again with them, and say what each decision did."""
    before, _ = run(None)
    steering = resolve(decisions, trusts, before, years, records)
    after, named = run(steering)
    labelled = label_trusts(after, steering)
    named_out = None if named is None else label_named(named, steering)
    return Reviewed(trusts=labelled, named=named_out, before=before,
                    outcomes=outcomes(steering, before, after, named))


def label_named(named: pd.DataFrame, steering: Steering) -> pd.DataFrame:
    """The named-post rows with ``decision`` and ``decision_basis``: posts released first by a
    decision, posts kept (re-advertised) by a rejection, and the other posts released in a
    round where a review rejected a trust or post (the rule's next)."""
    recs = steering.decisions.to_dict("records")
    by_post: dict[tuple[str, int], tuple[str, str]] = {}
    for i, (number, _) in steering.post_of.items():
        if i in steering.refused:
            continue
        rec = recs[i]
        year = int(str(rec["year"]))
        if number == rec["target"] and rec["decision"] != ACCEPT:
            by_post[(number, year)] = (REJECTED, f"release rejected by review "
                                       f"({rec['reason'] or 'no reason given'}): re-advertised")
        elif rec["decision"] == ACCEPT:
            by_post[(number, year)] = (ACCEPTED, f"accepted by review ({rec['recommendation']})")
    for i, rec in enumerate(recs):
        if i in steering.refused or rec["decision"] != PROPOSE:
            continue
        number = str(rec["proposed"])
        by_post[(number, int(str(rec["year"])))] = (
            PROPOSED, f"proposed by review in place of {rec['target']} (rejected: "
            f"{rec['reason'] or 'no reason given'})")
    cols = [named[c].tolist() for c in ("national_post_number", "year", "area", "specialty",
                                        "action")]
    hits = []
    for number, year, area, spec, action in zip(*cols, strict=True):
        hit = by_post.get((str(number), int(year)), ("", ""))
        steer = steering.rounds.get((str(area), str(spec), int(year)))
        if not hit[0] and action == "do not re-advertise" and steer and steer.rejects():
            hit = (AFTER_REJECTION, _after_basis(steer, recs))
        hits.append(hit)
    return named.assign(decision=[h[0] for h in hits], decision_basis=[h[1] for h in hits])
