"""From trust recommendations to named posts (issue 15): which National Post Number does what.

With the programme's own post records, a local office acts round by round on named posts. This
module turns the per-trust recommendations (``trust_posts.trust_plan``, made with each trust's
own completions from the records) into one row per post and round (docs/posts.md):

* **re-advertise**: the post falls vacant and is filled as usual; the new trainee holds it for
  the specialty's full programme length, so it next falls vacant L rounds later;
* **do not re-advertise**: the post falls vacant and is released; it moves to the area and
  trust of a new post the same round (paired within the specialty);
* **new post** at a trust from a round, with a DRAFT National Post Number the office replaces;
* **new expansion post**: a time-limited post, funded to the end of its trainee's programme;
* **funding ends**: a record's time-limited post falling vacant when a trainee starting then
  could not complete before its Funding End Date.

Only posts the plan may move are released or created: tariff-funded, with no Funding End Date
and a local office. A post can first be filled or released at the round its last placement
ends (``vacant_round``), never before the plan's first round; a post with no placement is
vacant at the first round. A post the trust rules could not place is a row with no number
(``number_status`` "to choose"), so the rows add up to the trust and area plans exactly.
Pure: tables in, tables out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Any

import pandas as pd

from fairshare.errors import FairshareError
from fairshare.model.decisions import PostChoice

NAMED_COLUMNS = [
    "area", "specialty", "year", "action", "post_change", "national_post_number",
    "number_status",
    "org_code", "org_name", "grade", "funding", "last_date_to", "held_to", "funding_end_year",
    "to_area", "to_org_code", "to_org_name", "to_post", "from_post", "from_area",
    "from_org_code", "reason",
]
READVERTISE, RELEASE, NEW, EXPANSION, FUNDING_ENDS = (
    "re-advertise", "do not re-advertise", "new post", "new expansion post", "funding ends")
RECORD, DRAFT, TO_CHOOSE = "record", "DRAFT", "to choose"


@dataclass
class _Post:
    npn: str
    grade: str
    last_date_to: str  # the record's last Date To, shown on the post's first vacancy only
    status: str = RECORD
    funding: str = "tariff"


def movable(posts: pd.DataFrame) -> pd.Series:
    """Posts the plan may release or move: tariff-funded, no Funding End Date, a local office,
    a trust."""
    org = posts["org_code"] if "org_code" in posts.columns else pd.Series("", posts.index)
    return ((posts["funding"] == "tariff") & (posts["funding_end_date"].fillna("") == "")
            & posts["local_office"].notna() & (org != ""))


def free_round(posts: pd.DataFrame, start: int) -> pd.Series:
    """The first round each post can be filled or released: its vacant round (the last Date
    To), never before the plan's first round; the first round when it has no placement."""
    rounds = pd.to_numeric(posts["vacant_round"], errors="coerce").fillna(start)
    return rounds.clip(lower=start).astype("int64")


def establishment(posts: pd.DataFrame) -> pd.DataFrame:
    """local_office, specialty, posts: the movable posts, the establishment the plan moves."""
    keep = posts[movable(posts)]
    return keep.groupby(["local_office", "specialty"], as_index=False).size().rename(
        columns={"size": "posts"}).astype({"posts": "int64"})


def area_cohorts(posts: pd.DataFrame, start: int) -> pd.DataFrame:
    """local_office, specialty, completion_year, trainees: every movable post by the round it
    can first change, so the plan's vacancies are the records' exactly."""
    keep = posts[movable(posts)].assign(completion_year=free_round(posts, start))
    return keep.groupby(["local_office", "specialty", "completion_year"], as_index=False).size(
        ).rename(columns={"size": "trainees"}).astype({"trainees": "int64"})


def trust_completions(posts: pd.DataFrame, years: range) -> pd.DataFrame:
    """area, specialty, org_code, year, completing: each trust's movable posts by first round
    (a zero row in the first year for a trust whose posts all fall vacant after the horizon)."""
    keep = posts[movable(posts)].assign(year=free_round(posts, years.start), completing=1)
    keep = keep.assign(completing=(keep["year"] < years.stop).astype("int64"))
    keep["year"] = keep["year"].where(keep["year"] < years.stop, years.start)
    return keep.groupby(["local_office", "specialty", "org_code", "year"], as_index=False)[
        "completing"].sum().rename(columns={"local_office": "area"})


def draft_number(owner_code: str, org_code: str, spec_code: str, year: int, serial: int) -> str:
    """A DRAFT National Post Number in the programme's pattern (owner / site / specialty /
    grade / serial) that no real number has: the office replaces it with its own."""
    return f"DRAFT/{owner_code}/{org_code or 'TBC'}/{spec_code}/{year}-{serial:03d}"


def named_plan(posts: pd.DataFrame, trust_rows: pd.DataFrame, years: range,
               lengths: Mapping[str, int], owner_codes: Mapping[str, str],
               spec_codes: Mapping[str, str],
               choices: Mapping[tuple[str, str, str, int], PostChoice] | None = None,
               ) -> pd.DataFrame:
    """One row per post and round of the local offices the records cover: ``NAMED_COLUMNS``.

    posts: the post records (``inputs.tis.PostRecords.posts`` with org_code and org_name).
    trust_rows: the trust plan (area, specialty, year, org_code, org_name, change, kind). Rows
    of other local offices (no records) name where a released post goes or what funds a new
    one, and are not rows of their own.
    choices: review decisions per (area, specialty, org_code, round) (``decisions.resolve``):
    posts a trust releases first, posts it keeps (re-advertises) unless it must give them.
    Raises FairshareError if the trust plan asks a trust for more posts than fall vacant there
    (the two would then disagree on the records' vacancies).
    """
    offices = set(posts["local_office"].dropna())
    plan = _Builder(years, lengths, owner_codes, spec_codes, offices)
    plan.choices = choices or {}
    keep = movable(posts)
    plan.load(posts[keep].assign(free=free_round(posts[keep], years.start)))
    redistribution = trust_rows[trust_rows["kind"] == "redistribution"]
    for y in years:
        plan.round(y, redistribution[redistribution["year"] == y])
    plan.expansion(trust_rows[trust_rows["kind"] == "expansion"])
    plan.pair()
    plan.fixed(posts[~keep & posts["local_office"].notna()])
    out = pd.concat([pd.DataFrame(plan.rows, columns=NAMED_COLUMNS),
                     pd.DataFrame(plan.bulk, columns=NAMED_COLUMNS)], ignore_index=True)
    for col in ("held_to", "funding_end_year"):
        out[col] = out[col].astype("Int64")
    out = out.astype({"year": "int64", "post_change": "int64"})
    order = {a: i for i, a in enumerate((RELEASE, NEW, EXPANSION, FUNDING_ENDS, READVERTISE))}
    out["_o"] = out["action"].map(order)
    return (out.sort_values(["area", "specialty", "year", "_o", "org_code",
                             "national_post_number"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


class _Builder:
    """The round-by-round state: each trust's posts by the round they next fall vacant."""

    def __init__(self, years: range, lengths: Mapping[str, int], owner_codes: Mapping[str, str],
                 spec_codes: Mapping[str, str], offices: set[str]) -> None:
        self.years, self.lengths, self.offices = years, lengths, offices
        self.owner_codes, self.spec_codes = owner_codes, spec_codes
        self.buckets: dict[tuple[str, str, str], dict[int, list[_Post]]] = defaultdict(
            lambda: defaultdict(list))
        self.names: dict[str, str] = {}
        self.rows: list[dict[str, object]] = []  # moves: paired after the rounds
        self.bulk: list[tuple[object, ...]] = []  # re-advertise and funding-ends rows
        self.released: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
        self.created: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
        self.serial: dict[tuple[str, str, str, int], int] = defaultdict(int)
        self.choices: Mapping[tuple[str, str, str, int], PostChoice] = {}

    def load(self, posts: pd.DataFrame) -> None:
        posts = posts.sort_values("national_post_number")
        cols = [posts[c].astype(object).fillna("").to_numpy(object).tolist() for c in (
            "local_office", "specialty", "org_code", "org_name", "national_post_number",
            "grade", "last_date_to")]
        free = posts["free"].to_numpy().tolist()
        for area, spec, org, name, npn, grade, last, y in zip(*cols, free, strict=True):
            self.names[org] = name
            self.buckets[(area, spec, org)][int(y)].append(_Post(npn, grade, last))

    def round(self, y: int, rows: pd.DataFrame) -> None:
        """Release what the trust rows give; re-advertise the rest; create what they receive."""
        ours = rows["area"].isin(self.offices)
        for r in rows[~ours].itertuples(index=False):  # another office's moves: partners only
            for _ in range(abs(int(r.change))):
                self._elsewhere(r, y)
        rows = rows[ours]
        gives = {(str(r.area), str(r.specialty), str(r.org_code)): -int(r.change)
                 for r in rows[(rows["change"] < 0) & (rows["org_code"] != "")].itertuples()}
        for key, bucket in self.buckets.items():
            falling = bucket.pop(y, None)
            if not falling and key not in gives:
                continue  # nothing falls vacant at this trust this round
            falling = self._order(falling or [], (*key, y))
            n = gives.pop(key, 0)
            if n > len(falling):
                raise FairshareError(f"{key[2]} ({key[0]}, {key[1]}) is to give {n} posts in "
                                     f"{y} but only {len(falling)} fall vacant there")
            length = int(self.lengths[key[1]])
            for post in falling[:n]:
                self._release(key, y, post, len(falling), n)
            tail = (f"re-advertise as usual; the next trainee holds it for the full {length}-year "
                    f"programme, to {y + length}")
            name = self.names.get(key[2], "")
            for post in falling[n:]:
                self.bulk.append((key[0], key[1], y, READVERTISE, 0, post.npn, post.status,
                                  key[2], name, post.grade, post.funding, post.last_date_to,
                                  y + length, None, "", "", "", "", "", "", "",
                                  self._vacant(post, y) + tail))
                post.last_date_to = ""  # shown on the post's first vacancy only
                bucket[y + length].append(post)
        if gives:
            key, n = next(iter(gives.items()))
            raise FairshareError(f"{key[2]} ({key[0]}, {key[1]}) is to give {n} posts in {y} "
                                 "but holds none in the records")
        for r in rows.itertuples(index=False):
            if r.org_code == "":
                for _ in range(abs(int(r.change))):
                    self._unnamed(str(r.area), str(r.specialty), y, int(r.change) // abs(
                        int(r.change)), str(r.reason))
            elif r.change > 0:
                for _ in range(int(r.change)):
                    self._create((str(r.area), str(r.specialty), str(r.org_code)), y, NEW,
                                 str(r.org_name))

    def _order(self, falling: list[_Post], key: tuple[str, str, str, int]) -> list[_Post]:
        """The posts falling vacant in the order they are released: by National Post Number,
        except that review decisions put some first (accepted, proposed) and some last
        (rejected: re-advertised unless the trust must give every post falling vacant)."""
        choice = self.choices.get(key)
        if choice is None:
            return sorted(falling, key=attrgetter("npn"))
        rank = {npn: i for i, npn in enumerate(choice.prefer)}
        return sorted(falling, key=lambda p: (rank.get(p.npn, len(rank)),
                                              p.npn in choice.keep, p.npn))

    def expansion(self, rows: pd.DataFrame) -> None:
        """Time-limited posts: a DRAFT number each, funded to the end of its programme."""
        for r in rows[rows["area"].isin(self.offices)].itertuples(index=False):
            for _ in range(int(r.change)):
                if r.org_code == "":
                    self._unnamed(str(r.area), str(r.specialty), int(r.year), 1, str(r.reason),
                                  EXPANSION)
                else:
                    self._create((str(r.area), str(r.specialty), str(r.org_code)), int(r.year),
                                 EXPANSION, str(r.org_name))

    def pair(self) -> None:
        """Each released post moves to a new post of the same specialty and round."""
        for key, gone in self.released.items():
            new = sorted(self.created.get(key, []), key=lambda r: (r["area"], r["org_code"],
                                                                   r["national_post_number"]))
            gone.sort(key=lambda r: (r["area"], r["org_code"], r["national_post_number"]))
            for a, b in zip(gone, new, strict=False):
                a.update(to_area=b["area"], to_org_code=b["org_code"],
                         to_org_name=b["org_name"], to_post=b["national_post_number"])
                b.update(from_post=a["national_post_number"], from_area=a["area"],
                         from_org_code=a["org_code"])
                a["reason"] = f"{a['reason']}; moves to {_where(b)}"
                b["reason"] = f"{b['reason']}; funded by the post {_where(a)} releases"

    def fixed(self, posts: pd.DataFrame) -> None:
        """Posts the plan never moves: other funding, or time-limited (funding end checked)."""
        last = self.years.stop - 1
        for r in posts.sort_values("national_post_number").itertuples(index=False):
            length = int(self.lengths.get(str(r.specialty), 1))
            key = (str(r.local_office), str(r.specialty), str(getattr(r, "org_code", "")))
            self.names.setdefault(key[2], str(getattr(r, "org_name", "")))
            post = _Post(str(r.national_post_number), str(r.grade), str(r.last_date_to or ""),
                         funding=str(r.funding))
            end = str(r.funding_end_date or "")
            y = max(int(r.vacant_round) if pd.notna(r.vacant_round) else self.years.start,
                    self.years.start)
            while y <= last:
                if end and date.fromisoformat(end) < date(y + length, 7, 31):
                    self._row(key, y, FUNDING_ENDS, 0, post, end_year=int(end[:4]),
                              reason=self._vacant(post, y) + f"time-limited: its funding ends "
                              f"{end}, before a trainee starting now would complete in "
                              f"{y + length}: not re-advertised unless the funding is extended",
                              bulk=True)
                    break
                why = (f"time-limited (funding to {end}), " if end else
                       f"{r.funding}-funded: not moved by the plan; ")
                self._row(key, y, READVERTISE, 0, post, held_to=y + length,
                          end_year=int(end[:4]) if end else None,
                          reason=self._vacant(post, y) + why + "re-advertise as usual", bulk=True)
                post = _Post(post.npn, post.grade, "", funding=post.funding)
                y += length

    # -------------------------------------------------------------- rows

    def _release(self, key: tuple[str, str, str], y: int, post: _Post, falling: int,
                 n: int) -> None:
        row = self._row(key, y, RELEASE, -1, post, reason=self._vacant(post, y) + (
            f"not re-advertised: the trust gives {n} of its {falling} posts of "
            f"{key[1]} falling vacant this round (trust recommendation, fairshare posts)"
            + (f"; the first {n} by National Post Number: the office may choose others among "
               "them" if falling > n else "")))
        self.released[(key[1], y)].append(row)

    def _create(self, key: tuple[str, str, str], y: int, action: str, org_name: str) -> None:
        length = int(self.lengths[key[1]])
        owner = self.owner_codes.get(key[0], "TBC")
        spec = self.spec_codes.get(key[1], "TBC")
        self.serial[(owner, key[2], spec, y)] += 1
        npn = draft_number(owner, key[2], spec, y, self.serial[(owner, key[2], spec, y)])
        self.names.setdefault(key[2], org_name)
        grade = self._grade(key)
        post = _Post(npn, grade, "", DRAFT)
        expansion = action == EXPANSION
        row = self._row(key, y, action, 1, post, held_to=y + length,
                        end_year=y + length if expansion else None,
                        reason=(f"new {'time-limited ' if expansion else ''}post from the {y} "
                                f"round (trust recommendation, fairshare posts); DRAFT number: "
                                "replace with the office's own"
                                + (f"; funded to the end of its trainee's {length}-year "
                                   f"programme ({y + length})" if expansion else "")))
        if expansion:
            return
        self.created[(key[1], y)].append(row)
        self.buckets[key][y + length].append(post)

    def _elsewhere(self, r: Any, y: int) -> None:
        """A post another local office (no records here) releases or receives: a partner for
        pairing, not a row."""
        row: dict[str, object] = {"area": str(r.area), "org_code": str(r.org_code),
                                  "org_name": str(r.org_name), "national_post_number": "",
                                  "reason": ""}
        (self.released if int(r.change) < 0 else self.created)[(str(r.specialty), y)].append(row)

    def _unnamed(self, area: str, spec: str, y: int, sign: int, why: str,
                 action: str | None = None) -> None:
        action = action or (RELEASE if sign < 0 else NEW)
        row = self._row((area, spec, ""), y, action, sign, _Post("", "", "", TO_CHOOSE),
                        reason=f"not named: {why}")
        if action == RELEASE:
            self.released[(spec, y)].append(row)
        elif action == NEW:
            self.created[(spec, y)].append(row)

    def _grade(self, key: tuple[str, str, str]) -> str:
        """A new post's grade: the most common grade of the trust's posts of the specialty."""
        grades = [p.grade for posts in self.buckets[key].values() for p in posts if p.grade]
        return max(sorted(set(grades)), key=grades.count) if grades else ""

    @staticmethod
    def _vacant(post: _Post, y: int) -> str:
        if post.last_date_to:
            return f"falls vacant for the {y} round (last placement ends {post.last_date_to}): "
        if post.status == TO_CHOOSE:
            return ""
        return f"falls vacant for the {y} round: "

    def _row(self, key: tuple[str, str, str], y: int, action: str, change: int, post: _Post,
             reason: str, held_to: int | None = None,
             end_year: int | None = None, bulk: bool = False) -> dict[str, object]:
        row: dict[str, object] = {
            "area": key[0], "specialty": key[1], "year": y, "action": action,
            "post_change": change, "national_post_number": post.npn, "number_status": post.status,
            "org_code": key[2], "org_name": self.names.get(key[2], "") if key[2] else "",
            "grade": post.grade, "funding": post.funding, "last_date_to": post.last_date_to,
            "held_to": held_to, "funding_end_year": end_year, "to_area": "", "to_org_code": "",
            "to_org_name": "", "to_post": "", "from_post": "", "from_area": "",
            "from_org_code": "", "reason": reason}
        if bulk:
            self.bulk.append(tuple(row.values()))
        else:
            self.rows.append(row)
        return row


def _where(row: Mapping[str, object]) -> str:
    number = row["national_post_number"] or "(number to choose)"
    org = row["org_name"] or "(trust to choose)"
    return f"{number} at {org}, {row['area']}"
