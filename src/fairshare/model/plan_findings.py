"""What limits a plan, in the planner's words: prechecks, relaxations, shortfalls."""

from __future__ import annotations

import numpy as np

from fairshare.model.cohorts import vacancies_after_moves
from fairshare.model.plan_inputs import ENGLAND, Finding, PlanData
from fairshare.model.plan_model import Block, Slack, cohort_lines, glide_window, year_caps

#: How each per-year limit is named in a finding, for a giving and a receiving area.
LIMIT_NAMES = {
    "vacancies": "its vacancies",
    "cohort_share": "the cohort share (most of a completing cohort released a year)",
    "capacity": "its capacity",
    "intake_growth": "its intake growth limit",
    "pace_cap": "the pace cap",
    "glide": "the glide path",
    "min_posts": "the minimum viable programme",
    "target": "the target",
}
NOT_PHASED = "specialty not phased"
LATE_PHASE = "phase starts after the deadline"
MINIMUM = LIMIT_NAMES["min_posts"]


def span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def line_totals(limit: np.ndarray, lengths: np.ndarray, n_t: int) -> np.ndarray:
    """Most a giver can release over the first n_t block years along its cohort lines: the
    limit at the last year of each line (releases along a line are nested sums)."""
    out = np.zeros(limit.shape[0], dtype=np.int64)
    for a in range(limit.shape[0]):
        length = int(lengths[a])
        last = range(max(0, n_t - length), n_t)
        out[a] = sum(int(limit[a, t]) for t in last)
    return out


def precheck_data(data: PlanData) -> list[Finding]:
    """Necessary conditions for every phased area to reach target by the deadline
    (``require_target_by``, else the horizon); see ``plan.precheck``."""
    options = data.options
    deadline = options.require_target_by or options.horizon
    findings: list[Finding] = []
    for spec in data.specialties:
        rows = data.rows_of[spec]
        gap = data.target[rows] - data.current[rows]
        if not (gap != 0).any():
            continue
        first = data.first_year(spec)
        if first is None or first > deadline:
            findings.append(_phase_finding(data, spec, first, deadline, gap))
            continue
        findings.extend(_spec_precheck(data, spec, rows[gap != 0], gap[gap != 0], first,
                                       deadline))
    return findings


def _phase_finding(data: PlanData, spec: str, first: int | None, deadline: int,
                   gap: np.ndarray) -> Finding:
    size = int(np.abs(gap).sum()) // 2
    if first is None:
        return Finding("phase", ENGLAND, spec, None, size,
                       f"{spec} is not phased: its posts do not move, so "
                       f"{int((gap != 0).sum())} areas stay off target", NOT_PHASED)
    return Finding("phase", ENGLAND, spec, data.phase_start[spec], size,
                   f"{spec} cannot move any posts by {deadline}: its phase starts in "
                   f"{data.phase_start[spec]}", LATE_PHASE)


def _spec_precheck(data: PlanData, spec: str, rows: np.ndarray, gap: np.ndarray, first: int,
                   deadline: int) -> list[Finding]:
    options = data.options
    n_t = deadline - first + 1
    window = span(first, deadline)
    side = np.sign(gap)
    need = np.abs(gap)
    caps = {k: v[:, :n_t] for k, v in year_caps(data, rows, side, need, first).items()}
    lines = {k: v[:, :n_t] for k, v in cohort_lines(data, rows, side, first).items()}
    lengths = data.lengths[rows]
    per_year = np.minimum.reduce([np.minimum(c, need[:, None]) for c in caps.values()])
    findings: list[Finding] = []
    release = take = 0
    out_year = np.zeros(n_t, dtype=np.int64)
    in_year = np.zeros(n_t, dtype=np.int64)
    for i, row in enumerate(rows):
        area, n = str(data.area[row]), int(need[i])
        if side[i] < 0:
            totals = {k: int(line_totals(v[i:i + 1], lengths[i:i + 1], n_t)[0])
                      for k, v in lines.items()}
            floor = int(data.min_posts[row])
            room = max(0, int(data.current[row]) - floor)
            release += min(room, n, int(per_year[i].sum()), *totals.values())
            out_year += np.minimum(per_year[i], data.vacancies[row, first - options.start_year:][
                :n_t])
            if totals["vacancies"] < n:
                findings.append(Finding(
                    "vacancies", area, spec, deadline, n - totals["vacancies"],
                    f"{area} cannot release {n} {spec} posts by {deadline}: only "
                    f"{totals['vacancies']} fall vacant in {window}"))
            if "cohort_share" in totals and totals["cohort_share"] < n:
                findings.append(Finding(
                    "cohort_share", area, spec, deadline, n - totals["cohort_share"],
                    f"{area} cannot release {n} {spec} posts by {deadline} keeping "
                    f"{1 - options.cohort_share:.0%} of its intake: at most "
                    f"{totals['cohort_share']} in {window}"))
            if int(data.target[row]) < floor:
                findings.append(Finding(
                    "min_posts", area, spec, None, floor - int(data.target[row]),
                    f"{area} cannot go down to its {spec} target of {data.target[row]}: "
                    f"its minimum viable programme is {floor} posts"))
        else:
            in_year += per_year[i]
            take += min(n, int(per_year[i].sum()))
        for family, cap in caps.items():
            total = int(np.minimum(cap[i], n).sum())
            if total < n and (family != "capacity" or side[i] > 0) and (
                    family != "intake_growth" or side[i] > 0):
                findings.append(_cap_finding(data, family, area, spec, n, total, deadline,
                                             window, side[i] < 0))
    total = int(need.sum()) // 2
    matched = int(np.minimum(out_year, in_year).sum())
    if release < total:
        findings.append(Finding(
            "vacancies", ENGLAND, spec, deadline, total - release,
            f"Giving areas can release at most {release} {spec} posts by {deadline} but "
            f"{total} must move"))
    if take < total:
        findings.append(Finding(
            "capacity", ENGLAND, spec, deadline, total - take,
            f"Receiving areas can take at most {take} {spec} posts by {deadline} but "
            f"{total} must move"))
    if release >= total and take >= total and matched < total:
        findings.append(Finding(
            "timing", ENGLAND, spec, deadline, total - matched,
            f"At most {matched} of the {total} {spec} posts can move by {deadline}: posts "
            f"fall vacant in years when receiving areas have no capacity"))
    return findings


def _cap_finding(data: PlanData, family: str, area: str, spec: str, need: int, total: int,
                 deadline: int, window: str, giver: bool) -> Finding:
    options = data.options
    verb = "release" if giver else "take"
    if family == "capacity":
        text = (f"{area} cannot take {need} more {spec} posts by {deadline}: its capacity is "
                f"{total} in {window}")
    elif family == "pace_cap":
        text = (f"{area} cannot move {need} {spec} posts by {deadline} at a pace cap of "
                f"{options.pace_cap:.0%} of its gap ({total} in {window})")
    elif family == "glide":
        text = (f"{area} cannot {verb} {need} {spec} posts by {deadline} on the glide path to "
                f"{options.glide_until} (an even share a year: {total} by {deadline})")
    else:
        text = (f"{area} cannot take {need} more {spec} posts by {deadline} growing its intake "
                f"by at most {options.intake_growth:.0%} a year ({total} in {window})")
    return Finding(family, area, spec, deadline, need - total, text,
                   LIMIT_NAMES.get(family, family))


def relaxation(data: PlanData, block: Block, m: np.ndarray, slack: Slack, size: int,
               diagnosis: bool) -> Finding:
    """A finding for one relaxed constraint: what was (elastic plan) or would have to be
    (diagnosis of an infeasible requirement) broken, and by how many posts."""
    row = block.rows[slack.area]
    area, spec, year, limit = str(data.area[row]), block.specialty, slack.year, slack.limit
    if year is not None and slack.family != "target":
        t = block.years.index(year)
        moved = int(m[slack.area, t])
        length = int(block.lengths[slack.area])
        earlier = int(sum(m[slack.area, u] for u in range(t % length, t, length)))
    else:
        moved, earlier = int(m[slack.area].sum()), 0
    floor = int(data.min_posts[row])
    family = slack.family
    if family == "vacancies":
        verb = ("would have to release", "releases")
        rest = (f"{moved} {spec} posts in {year} but only {max(limit - earlier, 0)} fall vacant: "
                f"{size} current trainee{'s' if size != 1 else ''} "
                f"{'would have' if diagnosis else ('has' if size == 1 else 'have')} to move "
                f"programme")
    elif family == "cohort_share":
        verb = ("would have to release", "releases")
        rest = (f"{moved} {spec} posts in {year}, {size} more than the cohort share allows")
    elif family in ("capacity", "intake_growth"):
        verb = ("would have to take", "takes")
        what = "capacity" if family == "capacity" else "intake growth limit"
        rest = f"{moved} more {spec} trainees in {year}, {size} above its {what} of {limit}"
    elif family in ("pace_cap", "glide"):
        verb = ("would have to move", "moves")
        what = "pace cap" if family == "pace_cap" else "glide path"
        rest = f"{moved} {spec} posts in {year}, {size} above the {what} of {limit} that year"
    elif family == "min_posts":
        verb = ("would have to fall", "falls")
        rest = (f"to {int(data.current[row]) - moved} {spec} posts, {size} below its minimum "
                f"viable programme of {floor}")
    else:
        verb = ("does not reach", "does not reach")
        rest = f"its {spec} target of {int(data.target[row])} by {year}: {size} posts short"
    if diagnosis:
        text = f"To reach target by {data.options.require_target_by}, {area} {verb[0]} {rest}"
    else:
        text = f"Relaxed: {area} {verb[1]} {rest}"
    return Finding(family, area, spec, year, size, text, LIMIT_NAMES.get(family, family))


def outcome_findings(data: PlanData, planned: dict[str, tuple[Block, np.ndarray | None]],
                     moves: np.ndarray) -> list[Finding]:
    """Why areas end the plan (and the glide window) off target."""
    options = data.options
    findings: list[Finding] = []
    final = data.current + moves.sum(axis=1)
    for spec in data.specialties:
        rows = data.rows_of[spec]
        off = rows[final[rows] != data.target[rows]]
        first = data.first_year(spec)
        if spec in planned and planned[spec][1] is None:
            continue  # infeasible requirement: explained by the precheck and diagnosis
        if len(off) and (first is None or first > options.horizon):
            why = ("is not phased" if first is None
                   else f"starts in {data.phase_start[spec]}, after the horizon")
            findings.append(Finding(
                "phase", ENGLAND, spec, None,
                int(np.abs(data.target[rows] - data.current[rows]).sum()) // 2,
                f"{spec} {why}: its posts do not move, so {len(off)} areas stay off target",
                NOT_PHASED if first is None else LATE_PHASE))
            continue
        if spec not in planned:
            continue
        block, x = planned[spec]
        assert x is not None
        m = block.moves(x)
        findings.extend(_glide_findings(data, block, m))
        position = {int(r): a for a, r in enumerate(block.rows)}
        for row in off:
            findings.append(shortfall(data, block, m, position[int(row)], int(final[row]),
                                      options.horizon))
    findings.extend(_minimum_above_target(data))
    return findings


def _minimum_above_target(data: PlanData) -> list[Finding]:
    """Receiving areas whose target is below the minimum viable programme: at target they
    still hold fewer posts than a viable programme needs."""
    out = []
    low = np.flatnonzero((data.target > data.current) & (data.target < data.min_posts))
    for row in low:
        area, spec = str(data.area[row]), str(data.specialty[row])
        out.append(Finding(
            "min_posts", area, spec, None, int(data.min_posts[row] - data.target[row]),
            f"{area}'s {spec} target of {data.target[row]} is below its minimum viable "
            f"programme of {data.min_posts[row]} posts", "target below the minimum programme"))
    return out


def _glide_findings(data: PlanData, block: Block, m: np.ndarray) -> list[Finding]:
    """Areas that do not reach target by the end of the glide window, and why."""
    options = data.options
    if not options.glide:
        return []
    end = block.years[0] + glide_window(options, block.years[0]) - 1
    if end >= options.horizon:
        return []
    t_end = block.years.index(end)
    out = []
    for a in range(block.n_areas):
        moved = int(m[a, :t_end + 1].sum())
        if moved < int(block.need[a]):
            posts = int(data.current[block.rows[a]]) + int(block.side[a]) * moved
            found = shortfall(data, block, m[:, :t_end + 1], a, posts, end)
            if found.kind != "horizon":
                continue  # stopped at its minimum size: said once, at the horizon
            out.append(Finding("glide", found.area, found.specialty, end, found.size,
                               found.message.replace(f"in {end},", f"in {end} (end of the "
                                                     f"glide window),").replace(
                                   f"by {end},", f"by {end} (end of the glide window),"),
                               found.cause))
    return out


def _limits_hit(block: Block, m: np.ndarray, a: int) -> list[str]:
    """The limit each year's move reached (or "other side" when none did)."""
    giver = block.side[a] < 0
    n_t = m.shape[1]
    length = int(block.lengths[a])
    after = vacancies_after_moves(block.base[a:a + 1, :n_t], -m[a:a + 1] if giver else m[a:a + 1],
                                  np.array([length]))[0]
    reasons = []
    for t in range(n_t):
        line = int(sum(m[a, u] for u in range(t % length, t + 1, length)))
        hit = "other side"
        if giver and m[a, t] >= after[t]:
            hit = "vacancies"
        elif giver and "cohort_share" in block.lines and line >= block.lines["cohort_share"][a, t]:
            hit = "cohort_share"
        else:
            for family, cap in block.caps.items():
                if (family not in ("capacity", "intake_growth") or not giver) and \
                        m[a, t] >= cap[a, t]:
                    hit = family
                    break
        reasons.append(hit)
    return reasons


def shortfall(data: PlanData, block: Block, m: np.ndarray, a: int, posts: int,
              year: int) -> Finding:
    """A "horizon" (or "min_posts") finding for an area off target at ``year``."""
    row = block.rows[a]
    area, spec = str(data.area[row]), block.specialty
    target, current = int(data.target[row]), int(data.current[row])
    short = abs(target - posts)
    giver = block.side[a] < 0
    floor = int(data.min_posts[row])
    if giver and int(m[a].sum()) >= block.room[a] and block.room[a] < block.need[a]:
        if current <= floor:
            text = (f"{area} keeps its {current} {spec} posts ({short} above its target of "
                    f"{target}): it is already at or below its minimum viable programme of "
                    f"{floor}")
        else:
            text = (f"{area} stops at its minimum viable programme of {floor} {spec} posts, "
                    f"{short} above its target of {target}")
        return Finding("min_posts", area, spec, None, short, text, MINIMUM)
    reasons = _limits_hit(block, m, a)
    if "glide" in block.caps and any(r != "glide" for r in reasons):
        # a year on the glide path is the plan, not what held the area back
        reasons = [r for r in reasons if r != "glide"]
    counts = {r: reasons.count(r) for r in set(reasons)}
    reason = max(counts, key=lambda k: (counts[k], k != "other side", k))
    if reason == "other side":
        why = "what receiving areas can take" if giver else "what giving areas can release"
    else:
        why = LIMIT_NAMES[reason]
    n = m.shape[1]
    held = f"held back by {why} in {counts[reason]} of {n} plan year{'s' if n != 1 else ''}"
    if giver:
        text = (f"{area} still holds {posts} {spec} posts in {year}, {short} above its "
                f"target of {target}: {held}")
    else:
        text = (f"{area} reaches {posts} of its {target} {spec} posts by {year}, {short} "
                f"short: {held}")
    return Finding("horizon", area, spec, year, short, text, why)
