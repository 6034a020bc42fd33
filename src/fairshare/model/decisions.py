"""Review decisions feed the next run (issue 17): accept, reject or propose, per recommendation.

A task-and-finish group reviews the trust recommendations (``trust_posts.trust_plan``) and the
named-post plan (``named_posts.named_plan``) and records, per recommendation, a decision. The
recommendation key is ``"<area>|<specialty>|<year>|<org_code or National Post Number>"``. This
module turns those decisions into steering for the same rules (docs/posts.md, "Review
decisions"), so a decision never breaks an invariant:

* **reject** a trust: it gives (or receives) nothing in that area × specialty × round; the posts
  follow the rule's next trust. Reject a released post: it is re-advertised and its trust's
  other posts falling vacant, or the next trust, give instead. Reject a new (DRAFT) post: its
  trust receives one fewer that round.
* **propose** another trust or post: the rejected one is kept out as above and the proposal is
  used first, for as many posts as the rejected recommendation moved, within the same rules (a
  giving trust gives only posts falling vacant, above its minimum unit; a receiving trust within
  its supervision capacity).
* **accept**: the recommendation is fixed: its trust is used first for the posts the run without
  decisions gave it, so rejections elsewhere do not move it.

A decision that cannot be honoured (an unknown key, a proposal in another area or with no posts
falling vacant or no capacity) is an ``outcomes`` row with its reason, never dropped. The trust
rows still add up exactly to the area plan (the steering only reorders who gives within the
round's limits), and no post is released before its last placement ends (only posts falling
vacant that round can be chosen). Pure: tables in, tables out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from fairshare.inputs.decisions import (
    ACCEPT,
    DECISION_COLUMNS,
    DRAFT_PREFIX,
    PROPOSE,
    REJECT,
)

OUTCOME_COLUMNS = [*DECISION_COLUMNS, "target_change_before", "target_change_after",
                   "proposed_change_after", "outcome", "finding"]
HONOURED, PARTLY, NOT_HONOURED = "honoured", "partly honoured", "not honoured"
#: ``decision`` column values on the steered rows
ACCEPTED, PROPOSED, AFTER_REJECTION, REJECTED = (
    "accepted", "proposed", "after rejection", "rejected")

Key = tuple[str, str, int]  # area, specialty, year


@dataclass
class RoundSteer:
    """What review decisions change in one area × specialty × round of the trust split.

    exclude: org_code -> decision id: the trust gives and receives nothing this round.
    withheld: org_code -> posts of the trust not to release (rejected released posts).
    fewer: org_code -> new posts the trust is not to receive (rejected DRAFT posts).
    rejected: the ids of the decisions that keep a trust or post out of the round.
    fixed: accepted trusts: they move what was accepted, and the rule adds no more to them.
    first: (org_code, posts, decision id): used first, in this order, within the rules.
    """

    exclude: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)
    fewer: dict[str, int] = field(default_factory=dict)
    first: list[tuple[str, int, int]] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)  # decisions that keep a trust/post out
    fixed: set[str] = field(default_factory=set)  # accepted trusts: no more than accepted

    def rejects(self) -> bool:
        return bool(self.rejected)


@dataclass
class PostChoice:
    """Named posts steered in one area × specialty × trust × round: released first, or kept."""

    prefer: list[str] = field(default_factory=list)
    keep: set[str] = field(default_factory=set)


@dataclass
class Steering:
    """Every decision resolved against one run: the trust split's and named posts' steering,
    and the decisions already known not to be honoured (id -> reason)."""

    decisions: pd.DataFrame
    rounds: dict[Key, RoundSteer] = field(default_factory=dict)
    posts: dict[tuple[str, str, str, int], PostChoice] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)  # honoured, with a remark
    wants: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (org, posts)
    post_of: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (npn, org)

    def round(self, key: Key) -> RoundSteer:
        return self.rounds.setdefault(key, RoundSteer())

    def choice(self, key: Key, org: str) -> PostChoice:
        return self.posts.setdefault((key[0], key[1], org, key[2]), PostChoice())


@dataclass(frozen=True)
class Records:
    """What the post records say about each post, for decisions on National Post Numbers.

    posts: national_post_number, local_office, specialty, org_code, first (the first round it
    can change), movable (bool: the plan may release it).
    lengths: programme length per specialty (a re-advertised post falls vacant again L on).
    """

    posts: pd.DataFrame
    lengths: Mapping[str, int]


@dataclass(frozen=True)
class Reviewed:
    """A run with decisions: the rows as steered, the rows without decisions, and each
    decision's outcome (``OUTCOME_COLUMNS``)."""

    trusts: pd.DataFrame
    named: pd.DataFrame | None
    before: pd.DataFrame
    outcomes: pd.DataFrame


# ------------------------------------------------------------------ resolving


def resolve(decisions: pd.DataFrame, trusts: pd.DataFrame, before: pd.DataFrame,
            years: range, records: Records | None = None) -> Steering:
    """Each decision against this run's trusts, its rows without decisions and the records.

    trusts: area, specialty, org_code (the trusts each area × specialty can use).
    before: the trust rows without decisions (area, specialty, year, org_code, change, kind).
    """
    out = Steering(decisions=decisions.reset_index(drop=True))
    units = {(str(a), str(s)): set(g["org_code"]) for (a, s), g in
             trusts.groupby(["area", "specialty"], sort=False)}
    home: dict[str, set[str]] = {}
    for (area, _), orgs in units.items():
        for org in orgs:
            home.setdefault(org, set()).add(area)
    moved = _moved(before)
    numbers = {} if records is None else {
        str(r["national_post_number"]): r for r in records.posts.to_dict("records")}
    ctx = _Context(out, units, home, moved, years, records, numbers)
    for i, rec in enumerate(out.decisions.to_dict("records")):
        why = ctx.apply(i, rec)
        if why:
            out.refused[i] = why
    return out


def _moved(rows: pd.DataFrame) -> dict[tuple[str, str, int, str], int]:
    """(area, specialty, year, org_code) -> posts moved by redistribution (+ in, − out)."""
    part = rows[(rows["kind"] == "redistribution") & (rows["org_code"] != "")]
    summed = part.groupby(["area", "specialty", "year", "org_code"])["change"].sum()
    return {(str(a), str(s), int(y), str(o)): int(c) for (a, s, y, o), c in summed.items()}


@dataclass
class _Context:
    """The lookups ``resolve`` needs, and one method per kind of target."""

    out: Steering
    units: dict[tuple[str, str], set[str]]
    home: dict[str, set[str]]
    moved: dict[tuple[str, str, int, str], int]
    years: range
    records: Records | None
    numbers: dict[str, dict[str, object]]  # National Post Number -> its record

    def apply(self, i: int, rec: Mapping[str, object]) -> str:
        """Steer one decision; the reason it cannot be honoured, or ''."""
        area, spec, year = str(rec["area"]), str(rec["specialty"]), int(str(rec["year"]))
        target, decision = str(rec["target"]), str(rec["decision"])
        proposed = str(rec["proposed"] or "")
        if not target or year < 0:
            return f"the recommendation key '{rec['recommendation']}' is not of the form area|" \
                   "specialty|year|org_code or National Post Number"
        if decision not in (ACCEPT, REJECT, PROPOSE):
            return f"'{decision}' is not a decision: expected accept, reject or propose"
        if "/" in target and self.records is None and not target.upper().startswith(
                DRAFT_PREFIX):
            return (f"{target} is a National Post Number: decisions on named posts need the "
                    "post records (`fairshare posts plan --decisions`)")
        if (area, spec) not in self.units:
            return f"no trust in {area} trains {spec} in this run (unknown area or specialty)"
        if year not in self.years:
            return f"{year} is not a round of this run ({self.years.start}-{self.years.stop - 1})"
        if decision == PROPOSE and not proposed:
            return "a proposal needs the proposed trust or post"
        key: Key = (area, spec, year)
        if target.upper().startswith(DRAFT_PREFIX):
            return self._draft(i, key, target, decision, proposed)
        if self._post(target) is not None:
            return self._named(i, key, target, decision, proposed)
        if "/" in target:
            return f"the post {target} is not in the records"
        return self._trust(i, key, target.upper(), decision, proposed)

    # ---- a trust (fairshare posts)

    def _trust(self, i: int, key: Key, org: str, decision: str, proposed: str) -> str:
        if org not in self.units[key[:2]]:
            return self._not_here(org, key, "trust")
        base = self.moved.get((*key, org), 0)
        steer = self.out.round(key)
        if decision == ACCEPT:
            if not base:
                return (f"{org} neither gives nor receives {key[1]} in {key[0]} in {key[2]} in "
                        "this run: there is no recommendation to fix")
            steer.first.append((org, abs(base), i))
            steer.fixed.add(org)
            self.out.wants[i] = (org, abs(base))
            return ""
        steer.exclude[org] = i
        steer.rejected.append(i)
        if decision == REJECT:
            return ""
        return self._propose_trust(i, key, proposed, abs(base), org)

    def _propose_trust(self, i: int, key: Key, proposed: str, want: int, instead: str) -> str:
        post = self._post(proposed)
        if post is not None:
            return self._propose_post(i, key, proposed, post, instead)
        org = proposed.upper()
        if org not in self.units[key[:2]]:
            return self._not_here(org, key, "proposed trust")
        if not want:
            return (f"{instead} neither gives nor receives {key[1]} in {key[0]} in {key[2]} in "
                    f"this run: {org} has nothing to take over ({instead} is kept out)")
        self.out.round(key).first.append((org, want, i))
        self.out.wants[i] = (org, want)
        return ""

    def _not_here(self, org: str, key: Key, what: str) -> str:
        areas = sorted(self.home.get(org, set()))
        if areas and key[0] not in areas:
            return (f"{what} {org} is not in {key[0]} (it trains in {', '.join(areas)}): a "
                    f"proposal stays within the area's plan; raise it with that area's review")
        return (f"{what} {org} has no {key[1]} posts in {key[0]} in this run: it can neither "
                "give nor receive them")

    # ---- a named post (fairshare posts plan)

    def _post(self, number: str) -> Mapping[str, object] | None:
        return self.numbers.get(number)

    def _vacant_in(self, post: Mapping[str, object], year: int) -> str:
        """'' if the post falls vacant in that round (re-advertised as usual until then),
        else why it cannot change then."""
        if not bool(post["movable"]):
            return (f"the post {post['national_post_number']} is not one the plan moves (trust, "
                    "research or defence funding, or time-limited)")
        first = int(str(post["first"]))
        assert self.records is not None
        length = int(self.records.lengths.get(str(post["specialty"]), 1))
        if year < first or (year - first) % length:
            return (f"the post {post['national_post_number']} does not fall vacant in {year} "
                    f"(first vacant {first}, then every {length} years): a post is never "
                    "released before its last placement ends")
        return ""

    def _named(self, i: int, key: Key, number: str, decision: str, proposed: str) -> str:
        post = self._post(number)
        assert post is not None
        org = str(post["org_code"])
        if (str(post["local_office"]), str(post["specialty"])) != key[:2]:
            return (f"the post {number} is a {post['specialty']} post of {post['local_office']}, "
                    f"not of {key[0]} {key[1]}")
        why = self._vacant_in(post, key[2])
        if decision == ACCEPT:
            if why:
                return why
            self._prefer(i, key, number, org)
            return ""
        if not why:
            steer = self.out.round(key)
            steer.withheld[org] = steer.withheld.get(org, 0) + 1
            steer.rejected.append(i)
            self.out.choice(key, org).keep.add(number)
            self.out.post_of[i] = (number, org)
        else:
            self.out.notes[i] = why + "; it is not released that round in any case"
        if decision == REJECT:
            return ""
        return self._propose_trust(i, key, proposed, 1, org)

    def _propose_post(self, i: int, key: Key, number: str, post: Mapping[str, object],
                      instead: str) -> str:
        if (str(post["local_office"]), str(post["specialty"])) != key[:2]:
            return (f"the proposed post {number} is a {post['specialty']} post of "
                    f"{post['local_office']}: a proposal stays within {key[0]} {key[1]}")
        why = self._vacant_in(post, key[2])
        if why:
            return why
        self._prefer(i, key, number, str(post["org_code"]))
        return ""

    def _prefer(self, i: int, key: Key, number: str, org: str) -> None:
        self.out.round(key).first.append((org, 1, i))
        self.out.choice(key, org).prefer.append(number)
        self.out.wants[i] = (org, 1)
        self.out.post_of.setdefault(i, (number, org))

    # ---- a new post's DRAFT number (its trust is in the number)

    def _draft(self, i: int, key: Key, number: str, decision: str, proposed: str) -> str:
        parts = number.split("/")
        org = parts[2].upper() if len(parts) > 3 else ""
        if org not in self.units[key[:2]]:
            return self._not_here(org or number, key, "the new post's trust")
        if decision == ACCEPT:
            self.out.round(key).first.append((org, 1, i))
            self.out.wants[i] = (org, 1)
            return ""
        steer = self.out.round(key)
        steer.fewer[org] = steer.fewer.get(org, 0) + 1
        steer.rejected.append(i)
        if decision == REJECT:
            return ""
        return self._propose_trust(i, key, proposed, 1, org)


# ------------------------------------------------------------------ after the run


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
    was, now = _moved(before), _moved(after)
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
    want = steering.wants.get(i)
    if want is None:
        return HONOURED, steering.notes.get(i, "")
    got = abs(now.get((*key, want[0]), 0))
    if got >= want[1]:
        return HONOURED, ""
    verb = "give" if any(c < 0 for (a, s, y, _), c in now.items() if (a, s, y) == key) \
        else "receive"
    why = (f"{want[0]} could {verb} {got} of the {want[1]} post(s) this round: "
           + ("it gives only posts falling vacant (no trainee moves) and keeps its minimum unit"
              if verb == "give" else "within its supervision capacity")
           + "; the rule's next trust took the rest")
    return (PARTLY if got else NOT_HONOURED), why


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


def records_view(posts: pd.DataFrame, first: pd.Series, movable: pd.Series,
                 lengths: Mapping[str, int]) -> Records:
    """``Records`` from the post records (``inputs.tis``), their first round and movability."""
    table = posts[["national_post_number", "local_office", "specialty", "org_code"]].assign(
        first=first.to_numpy(), movable=movable.to_numpy())
    return Records(posts=table.reset_index(drop=True), lengths=dict(lengths))

