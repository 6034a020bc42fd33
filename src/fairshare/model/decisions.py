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
  used first, for its own recommendation plus as many posts as the rejected one moved (a
  proposed post: that post first), within the same rules (a
  giving trust gives only posts falling vacant, above its minimum unit; a receiving trust within
  its supervision capacity).
* **accept**: the recommendation is fixed: its trust is used first for the posts the run without
  decisions gave it, so rejections elsewhere do not move it.

A decision that cannot be honoured (an unknown key, a proposal in another area or with no posts
falling vacant or no capacity) is refused here with its reason, and ``review`` (model/review.py)
reports it as an outcome row, never dropped. The trust
rows still add up exactly to the area plan (the steering only reorders who gives within the
round's limits), and no post is released before its last placement ends (only posts falling
vacant that round can be chosen). Pure: tables in, tables out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from fairshare.inputs.decisions import (
    ACCEPT,
    DRAFT_PREFIX,
    PROPOSE,
    REJECT,
)

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
    own: dict[int, int] = field(default_factory=dict)  # id -> the proposed trust's own moves
    preferred: dict[int, str] = field(default_factory=dict)  # id -> post released first
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
    moved = moved_posts(before)
    numbers = {} if records is None else {
        str(r["national_post_number"]): r for r in records.posts.to_dict("records")}
    ctx = _Context(out, units, home, moved, years, records, numbers)
    for i, rec in enumerate(out.decisions.to_dict("records")):
        why = ctx.apply(i, rec)
        if why:
            out.refused[i] = why
    return out


def moved_posts(rows: pd.DataFrame) -> dict[tuple[str, str, int, str], int]:
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
        own = abs(self.moved.get((*key, org), 0))  # its own recommendation, kept
        self.out.round(key).first.append((org, want + own, i))
        self.out.wants[i] = (org, want + own)
        self.out.own[i] = own
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
        self.out.preferred[i] = number
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


def records_view(posts: pd.DataFrame, first: pd.Series, movable: pd.Series,
                 lengths: Mapping[str, int]) -> Records:
    """``Records`` from the post records (``inputs.tis``), their first round and movability."""
    table = posts[["national_post_number", "local_office", "specialty", "org_code"]].assign(
        first=first.to_numpy(), movable=movable.to_numpy())
    return Records(posts=table.reset_index(drop=True), lengths=dict(lengths))

