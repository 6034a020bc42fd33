"""The results data dictionary: what every output column means, its unit and sign convention.

Each output folder carries ``columns.csv`` built from this table, and every written number is
formatted from its unit: years and counts as whole numbers (never ``2031.000000``), shares at 4
decimals, fractional posts at 3, other quantities at 4, so a file reads as what it holds and
re-runs are byte-identical.

Sign convention, one for every gap-like column, in posts or as a percentage: **positive means
the area is below its fair share and gains posts** (gap, gap_share_of_target, remaining gap,
redistribution, net, change in a target); **negative means it is above and gives**. The
percentage gap shown in the terminal, the report, the workbook and the web app is
``gap_share_of_target`` = gap / target (London −59.8%). ``distance`` is NHS England's published
"distance from target", (current − target) / target, kept in the CSV as published with its
opposite sign stated on its row. See docs/outputs.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from fairshare.publish.tables import MODEL_GAP

GAP_SIGN = "positive: area below its target, gains posts; negative: above target, gives posts"
DISTANCE_SIGN = "positive: area above its target (gives); negative: below (receives)"
CHANGE_SIGN = "current minus previous: positive means higher in the current run"


@dataclass(frozen=True)
class Column:
    """One column of the data dictionary."""

    meaning: str
    unit: str = "posts"
    sign: str = ""
    decimals: int | None = None  # None: whole numbers (or text); else a fixed precision


TEXT = "text"
WHOLE_UNITS = {"posts", "year", "count", "rank", "people"}
_FRACTION = Column("", "posts (fractional)", decimals=3)


def _text(meaning: str) -> Column:
    return Column(meaning, TEXT)


def _share(meaning: str, sign: str = "") -> Column:
    return Column(meaning, "share (0-1)", sign, decimals=4)


def _posts_f(meaning: str, sign: str = "") -> Column:
    return Column(meaning, "posts (fractional)", sign, decimals=3)


COLUMNS: dict[str, Column] = {
    # labels on every row
    "basis": _text("What the numbers rest on: the establishment (public baseline, modelled rows "
                   "or the user's file named here) the run started from, and after "
                   "'; corrected: ' each baseline correction that changed the row"),
    "scenario": _text("Name of the scenario the run used"),
    "scenario_digest": _text("Digest of the fully resolved scenario: every parameter, the "
                             "command's options and the digest of each input file given "
                             "(equal digests, equal parameters and inputs); run.json lists "
                             "them"),
    "year_status": _text("'reconstruction' for a plan year already past at the run date (what "
                         "the plan would have done, not a move still to make); 'to come' else"),
    # keys
    "level": _text("Geography of the row: local_office, region or icb"),
    "area_code": _text("Code of the area (local office, region or ICB)"),
    "area": _text("Area name (local office, region or ICB, as the level says)"),
    "region_code": _text("ONS code of the NHS England region"),
    "region": _text("NHS England region"),
    "specialty": _text("Training programme (catalogue name; `fairshare specialties`)"),
    "school": _text("Postgraduate school the programme belongs to"),
    "phase": _text("Phase of the national distribution programme the specialty joins"),
    "year": Column("Training year (recruitment in August of that year)", "year"),
    "stage": _text("Before or after the plan (equity) "),
    "method": _text("Apportionment method that rounds fair shares to whole posts"),
    # targets
    "current": Column("Centrally funded posts today in the establishment the run started from"),
    "fair_share": _posts_f("Unrounded needs-based share of the specialty's national posts"),
    "target_fractional": _posts_f("Fair share after the specialised-services adjustment, "
                                  "before rounding"),
    "target": Column("Whole-post target: the fair share rounded by the apportionment method"),
    "population_share_posts": _posts_f("Posts a plain resident-population share would give"),
    "effect_need": _posts_f("Change from the population share due to need weighting", GAP_SIGN),
    "effect_projection": _posts_f("Change due to projected population growth", GAP_SIGN),
    "effect_deprivation": _posts_f("Change due to the deprivation weight", GAP_SIGN),
    "effect_rural_coastal": _posts_f("Change due to the rural and coastal need uplift "
                                     "(scenario rural_weight, coastal_weight; 0 by default)",
                                     GAP_SIGN),
    # scarcity of specialists (fairshare scarcity; also beside targets)
    "consultants": Column("Consultants in post in the area and specialty (NHS Digital, 30 Sept "
                          "2017, by trust placed on ICB pieces)", "FTE", decimals=3),
    "need_weighted_population": Column("Area's share of the specialty's need (the targets' fair "
                                       "share) x England's population", "people"),
    "consultants_per_100k_need": Column("Consultants (FTE) per 100,000 need-weighted population",
                                        "FTE per 100,000", decimals=4),
    "national_per_100k": Column("England's consultants (FTE) per 100,000 population in the "
                                "specialty", "FTE per 100,000", decimals=4),
    "consultants_expected": Column("Consultants the area would have at England's rate for its "
                                   "need; designation needs scarcity_min_consultants of them",
                                   "FTE", decimals=3),
    "scarcity_index": Column("Consultants per need in the area / England's (1 = national rate; "
                             "below 1 fewer specialists than its need)", "ratio",
                             "below 1: fewer specialists per need than England", decimals=4),
    "designation": _text("scarce / middle / well provided: the area's rank by scarcity_index "
                         "among designatable areas of its level and specialty (scenario "
                         "scarcity_cutoffs; terciles by default); 'too few to designate' below "
                         "scarcity_min_consultants expected"),
    "scarcity_designation": _text("The area's designation in `fairshare scarcity` for the "
                                  "specialty (blank: no consultants counted for it)"),
    "area_specialties": Column("Area x specialty rows of the plan with this designation",
                               "count"),
    "posts_received": Column("Posts the plan moves into these areas by the year in by_year",
                             "posts", decimals=3),
    "posts_given": Column("Posts the plan moves out of these areas by the year in by_year",
                          "posts", decimals=3),
    "net_posts": Column("posts_received - posts_given", "posts", GAP_SIGN, decimals=3),
    "by_year": Column("The plan year the moves are counted to (its last)", "year"),
    "too_few_to_designate": _text("True where the expected consultants are below "
                                  "scarcity_min_consultants (a judgement), so no designation"),
    "effect_specialised": _posts_f("Change due to specialised services held in the area",
                                   GAP_SIGN),
    "effect_rounding": _posts_f("Change due to rounding to whole posts", GAP_SIGN),
    "specialised_share": _share("Share of the specialty's posts kept for specialised services"),
    "baseline": _text("Establishment label (older name of basis)"),
    "other_funded": Column("Posts funded other than by tariff: shown, never moved"),
    "gap": Column("target - current", sign=GAP_SIGN),
    "aim": Column("The area's target after the convergence policy (equal to target by "
                  "default): what the plan moves toward"),
    "aim_gap": Column("aim - current", sign=GAP_SIGN),
    "convergence": _text("Convergence policy that turns the target into the aim"),
    "demand_driver": _text("The specialty's demand driver today (catalogue, or QOF disease "
                           "prevalence where declared and the prevalence driver is on)"),
    "core_cost_factor": _text("What the core need term did with NHS England's ICB cost factor "
                              "(about 1.07 in London; scenario core_cost_factor)"),
    "effective_deprivation_weight": _share("Deprivation weight in effect once what NHS "
                                           "England's core need already carries is counted"),
    "mode": _text("How expansion posts are placed (e.g. under-served areas first)"),
    "current_basis": _text("How the row's current posts are known (as given, or estimated)"),
    "fte": Column("Full-time equivalent staff in post the whole posts come from", "FTE",
                  decimals=2),
    "min_posts": Column("Minimum viable programme size in the area"),
    "expansion_under_served": Column("Expansion posts placed that year if given to the most "
                                     "under-served areas"),
    "expansion_offset": Column("Expansion posts placed that year if used to offset the "
                               "losses of giving areas"),
    "expansion_cushioned": Column("Expansion posts placed that year if giving areas' losses "
                                  "are cushioned first (a share of each loss) and the rest "
                                  "go to the most under-served areas"),
    "distance": Column("(current - target) / target, NHS England's distance from target "
                       "(kept as published; its sign is the opposite of the gap's)",
                       "share of target", DISTANCE_SIGN, decimals=4),
    "gap_share_of_target": Column("gap / target: the percentage gap every fairshare page, "
                                  "sheet and table shows (= -distance)", "share of target",
                                  GAP_SIGN, decimals=4),
    # plan
    "redistribution": Column("Posts moved into (+) or out of (-) the area that year",
                             sign=GAP_SIGN),
    "expansion": Column("New time-limited expansion posts placed that year"),
    "expansion_in_post": Column("Expansion posts still running that year"),
    # expected fill of the posts an area receives (fill.csv, docs/fill.md; modelled rates)
    "received": Column("Posts the area gains that year: redistribution in plus expansion"),
    "received_expansion": Column("Expansion posts the area gains that year"),
    "expected_filled": Column("Modelled: sum over specialties of posts received x the fill "
                              "rate of the area and specialty (docs/fill.md)",
                              "posts (fractional)", decimals=3),
    "expected_unfilled": Column("Modelled: received - expected_filled, posts likely to be "
                                "left empty", "posts (fractional)", decimals=3),
    "expected_unfilled_expansion": Column("Modelled: expansion posts received x (1 - fill "
                                          "rate), expansion posts likely to be left empty",
                                          "posts (fractional)", decimals=3),
    "expected_fill": Column("Modelled: expected_filled / received, the expected fill of the "
                            "posts the area receives", "share", decimals=4),
    "fill_basis": _text("What the fill rates rest on: modelled (the default, docs/fill.md) "
                        "or the --fill-rates file given"),
    "fill_rate": Column("Share of posts filled at recruitment (accepts / posts); modelled by "
                        "default", "share", decimals=4),
    "net": Column("redistribution + expansion that year", sign=GAP_SIGN),
    "cumulative": Column("Net posts gained since the plan began (end of year)", sign=GAP_SIGN),
    "posts": Column("Posts in the area at the end of the year (after moves)"),
    "remaining_gap": Column("target - posts at the end of the year", sign=GAP_SIGN),
    "vacancies": Column("Posts falling vacant as trainees complete (posts that can move)"),
    "vacancies_used": Column("Vacancies released to other areas that year"),
    "capacity": Column("Supervision capacity: most posts the area can hold that year"),
    "capacity_used": Column("Posts held against that capacity"),
    "priority": _text("Priority group of the expansion tranche (e.g. cancer and diagnostics)"),
    "reason": _text("Why the expansion posts could not be placed"),
    # findings
    "kind": _text("What kind of binding constraint or problem the finding reports"),
    "size": Column("Posts involved (shortfall, relaxation, ...)"),
    "message": _text("The finding in a planner's words"),
    "cause": _text("What held the area back (the limit reached most often), in words shared by "
                   "every finding of the same cause"),
    "findings": Column("Number of findings in the group", "count"),
    "specialties": Column("Number of specialties the group's findings touch", "count"),
    "largest": _text("The group's largest finding (most posts involved)"),
    # equity
    "gini": _share("Gini coefficient of posts per fair share across areas (0 = equal)"),
    "cv": Column("Coefficient of variation of posts per fair share across areas", "ratio",
                 decimals=4),
    "max_distance": Column("Largest distance from target across areas", "share of target",
                           DISTANCE_SIGN, decimals=4),
    "min_distance": Column("Smallest distance from target across areas", "share of target",
                           DISTANCE_SIGN, decimals=4),
    "share_within_5pct": _share("Share of areas within 5% of target"),
    "areas": Column("Number of areas", "count"),
    # uncertainty
    "target_mean": _posts_f("Mean target over the Monte Carlo draws"),
    "target_sd": _posts_f("Standard deviation of the target over the draws"),
    "p_gives": _share("Probability the area is above target (gives posts)"),
    "p_receives": _share("Probability the area is below target (receives posts)"),
    "p_at_target": _share("Probability the area is at its aim by the horizon"),
    "interval_covers": _text("What the interval covers (sources of uncertainty drawn, their "
                             "ranges, the level) and what it does not"),
    "draws": Column("Monte Carlo draws", "count"),
    "seed": Column("Random seed (same seed, same answer)", "count"),
    # sensitivity
    "rank": Column("Rank by influence (1 = most)", "rank"),
    "parameter": _text("Scenario parameter varied"),
    "low": Column("Lowest value tried", "parameter units", decimals=4),
    "high": Column("Highest value tried", "parameter units", decimals=4),
    "mu_star_total": _posts_f("Morris mu*: mean absolute effect on targets, summed"),
    "mu_star_max": _posts_f("Largest mu* on one area and specialty"),
    "mu_star": _posts_f("Morris mu*: mean absolute elementary effect on the target"),
    "mu": _posts_f("Morris mu: mean elementary effect on the target", GAP_SIGN),
    "sigma": _posts_f("Morris sigma: spread of the elementary effects"),
    "mu_star_conf": _posts_f("Bootstrap confidence half-width of mu*"),
    "affected_targets": _text("Targets moved most by the parameter"),
    "affected_specialties": _text("Specialties moved most by the parameter"),
    "affected_areas": _text("Areas moved most by the parameter"),
    # calibration
    "meaning": _text("What the parameter means"),
    "start": Column("Value the fit started from", "parameter units", decimals=4),
    "fitted": Column("Value that best reproduces the published figures", "parameter units",
                     decimals=4),
    "std_error": Column("Standard error of the fitted value", "parameter units", decimals=4),
    "identified": _text("Whether the published figures pin the parameter down"),
    "published_gap": Column("Gap the programme published", sign=GAP_SIGN),
    "gap_before": Column("Modelled gap before calibration", sign=GAP_SIGN),
    "gap_after": Column("Modelled gap after calibration", sign=GAP_SIGN),
    "residual_after": Column("gap_after - published_gap", sign="positive: model above "
                             "the published gap"),
    "model": _text("Model checked: the base scenario, one scale factor on its gaps, or the "
                   "calibrated fit"),
    "parameters": Column("Parameters fitted to the published figures", "count"),
    "rmse_in_sample": _posts_f("Root mean square error on the rows the model was fitted to"),
    "rmse_leave_one_out": _posts_f("Root mean square error predicting each row after "
                                   "refitting without it (out of sample)"),
    # outcome
    "programme_years": Column("Programme length in years", "count"),
    "need_share": _share("Area's share of the specialty's weighted need"),
    "weighted_population": Column("Weighted population (need)", "people", decimals=1),
    "posts_in_training": _posts_f("Posts in training that year"),
    "completing": _posts_f("Trainees expected to complete that year"),
    "settling_here": _posts_f("Completers settling where they trained"),
    "settling_from_elsewhere": _posts_f("Completers from other areas settling here"),
    "new_specialists": _posts_f("New specialists settling in the area that year"),
    "new_specialists_cumulative": _posts_f("New specialists since the first year"),
    "new_specialists_per_100k_need": Column("Cumulative new specialists per 100,000 weighted "
                                            "need", "per 100,000 need", decimals=3),
    "per_100k_need": Column("New specialists per 100,000 weighted need", "per 100,000 need",
                            decimals=3),
    "effect": _posts_f("Plan minus status quo", "positive: more with the plan"),
    "effect_per_100k_need": Column("Plan minus status quo per 100,000 weighted need",
                                   "per 100,000 need", "positive: more with the plan", 3),
    "gini_plan": _share("Gini of new specialists per need with the plan"),
    "gini_status_quo": _share("Gini of new specialists per need with no moves"),
    "change": Column("Difference the table is about (see its own row in columns.csv)",
                     "as the row", decimals=4),
    # fairshare posts (trust level, docs/posts.md)
    "org_code": _text("ODS code of the trust (2017 code, as NHS Digital counted its staff)"),
    "org_name": _text("Name of the trust ('(not placed at a trust)' on a row the trust rules "
                      "could not place)"),
    "icb_code": _text("ONS code of the ICB the trust is placed in (ODS)"),
    "posts_before": Column("Trust's posts of the specialty before the round (trust split "
                           "modelled)"),
    "posts_after": Column("Trust's posts after the round: posts_before + change (empty on an "
                          "expansion row: time-limited posts are not moved by the plan)"),
    "min_unit": Column("Trust's minimum viable unit: it never gives below this (judgement; "
                       "--trust-min FILE)"),
    "min_unit_source": _text("Where min_unit comes from: a minimum-unit file, by name and "
                             "SHA-256 (the web app's Posts tab, as --trust-min), for the "
                             "trusts it names; else the scenario default trust_min_posts "
                             "(a judgement)"),
    "catchment_distance": _share("Share-weighted distance from fair share, (posts - fair "
                                 "target) / fair target, of the ICBs the trust's patients come "
                                 "from, at the start of the round", DISTANCE_SIGN),
    # fairshare posts import (TIS post records, docs/posts.md)
    "local_office": _text("Local office (NHS England postgraduate deanery; in TIS records the "
                          "Owner, as ../shared/formats/tis/owners.csv maps it)"),
    "funding": _text("Funding kind: tariff (redistributable), trust, research or defence "
                     "(shown, never moved), from the record's Funding Type"),
    "grade": _text("Approved grade of the post"),
    "national_post_number": _text("The post's National Post Number (an identifier)"),
    "completion_year": Column("Round the post falls vacant: its last placement's Date To "
                              "(by 31 August: that year's round; later: the next)", "year"),
    "trainees": Column("Posts held by a placement that fall vacant in that round", "count"),
    "funding_end_date": _text("Funding End Date of a time-limited post (ISO date)"),
    "funding_end_year": Column("Year the post's funding ends", "year"),
    "last_date_to": _text("Last placement's Date To (ISO date; empty: no placement)"),
    "vacant_round": Column("Round the post falls vacant (from last_date_to)", "year"),
    "funding_start_date": _text("Funding Start Date of the post (ISO date)"),
    "employer": _text("The record's Employing body: the trust that employs the post's trainee"),
    # fairshare posts plan (named posts, docs/posts.md)
    "action": _text("What to do with the post that round: re-advertise, do not re-advertise "
                    "(it moves), new post, new expansion post, funding ends"),
    "post_change": Column("-1: a post not re-advertised (released); +1: a new post; 0: a post "
                          "re-advertised or whose funding ends. The rows of an area, specialty "
                          "and round add up to its net change in the area plan", sign=GAP_SIGN),
    "number_status": _text("record (the office's own National Post Number), DRAFT (a number "
                           "for the office to replace) or 'to choose' (the trust rules could "
                           "not name a post: the office chooses)"),
    "held_to": Column("Round the trainee who starts in the post that round completes (the "
                      "full programme length): the post's next vacancy", "year"),
    "to_area": _text("Local office a released post moves to"),
    "to_org_code": _text("ODS code of the trust a released post moves to"),
    "to_org_name": _text("Trust a released post moves to"),
    "to_post": _text("DRAFT National Post Number of the new post a released post becomes"),
    "from_post": _text("National Post Number of the released post a new post replaces"),
    "from_area": _text("Local office of the released post a new post replaces"),
    "from_org_code": _text("ODS code of the trust that released the post a new post replaces"),
    # review decisions (--decisions FILE, docs/posts.md "Review decisions")
    "decision": _text("The review decision this row carries out: accepted (the recommendation "
                      "fixed, used first), proposed (a reviewer's trust or post used first in "
                      "place of a rejected one), after rejection (the rule's next trust or post, "
                      "because a review rejected another this round), rejected (a release "
                      "rejected: the post is re-advertised); empty: the rules alone"),
    "decision_basis": _text("Which review decision, and its reason, steered this row"),
    "recommendation": _text("The recommendation decided on: area|specialty|year|org_code or "
                            "National Post Number (the key the service stores decisions by)"),
    "proposed": _text("The trust (ODS code) or National Post Number a reviewer proposed in "
                      "place of the rejected one"),
    "target_change_before": Column("Posts the decided trust moved that round in the run "
                                   "without decisions (- gives, + receives)", sign=GAP_SIGN),
    "target_change_after": Column("Posts the decided trust moves that round with the "
                                  "decisions (- gives, + receives)", sign=GAP_SIGN),
    "proposed_change_after": Column("Posts the trust used first (accepted or proposed) moves "
                                    "that round with the decisions", sign=GAP_SIGN),
    "outcome": _text("honoured, partly honoured or not honoured: whether the run could follow "
                     "the decision within the rules"),
    "finding": _text("Why a decision was not (fully) honoured, or a remark on it"),
    # monitoring
    "metric": _text("Impact metric name"),
    "value": Column("Value of the metric", "metric units", decimals=4),
    "good_direction": _text("Whether up or down is better for the metric"),
    "baseline_year": Column("Year the metric is compared with", "year"),
    "percent_change": _share("(value - baseline) / baseline", "positive: higher than baseline"),
    "direction": _text("better, worse, no change or unknown"),
    "worse_than_baseline": _text("True when worse than baseline by more than the threshold"),
    "posts_moved_cumulative": Column("Posts moved into (+) or out of (-) the area so far",
                                     sign=GAP_SIGN),
    "note": _text("Why a value could not be judged"),
    # compare
    "presence": _text("both, previous only or current only (a missing row counts as 0)"),
    # deanery layouts
    "School": _text("Postgraduate school (or a total row)"),
    "Specialty": _text("Training programme"),
    "Phase": _text("Programme phase"),
    "Previous": Column("Value in the previous run", sign=GAP_SIGN),
    "Current": Column("Value in the current run", sign=GAP_SIGN),
    "Change": Column("Current - Previous", sign=CHANGE_SIGN),
    "Redistribution": Column("Posts moved in (+) or out (-) that year", sign=GAP_SIGN),
    "Time-limited expansion": Column("Expansion posts placed that year"),
    "Net gain/loss": Column("Redistribution + expansion", sign=GAP_SIGN),
    "Specialty (phase)": _text("Programme and its phase"),
    MODEL_GAP: Column("The model's target - current posts before the plan (not the "
                      "programme's own published figure)", sign=GAP_SIGN),
    "Total moved": Column("Posts moved over the whole plan", sign=GAP_SIGN),
    "previous_run": _text("The run compared from"),
    "current_run": _text("The run compared with"),
}

#: Columns whose meaning depends on the table they are in.
TABLE_COLUMNS: dict[tuple[str, str], Column] = {
    ("outcome_equity", "change"): Column("gini_plan - gini_status_quo", "Gini points",
                                         "negative: fairer with the plan", decimals=4),
    ("impact", "change"): Column("value - baseline", "metric units",
                                 "positive: higher than baseline", decimals=4),
    ("findings_groups", "rank"): Column("Rank of the group by the posts its findings involve "
                                        "(1 = most)", "rank"),
    ("findings_groups", "posts"): Column("Posts involved, summed over the group's findings"),
    ("trust_posts", "change"): Column("Posts the trust gives (-) or receives (+) that round; "
                                      "the rows of an area, specialty and round add up to "
                                      "its net change (redistribution + expansion)",
                                      sign=GAP_SIGN),
    ("trust_posts", "kind"): _text("redistribution (a post moved by the plan) or expansion "
                                   "(a new time-limited post)"),
    ("trust_posts", "reason"): _text("Why this trust gives or receives (or why a post could "
                                     "not be placed at a trust)"),
    ("trust_posts", "vacancies"): Column("Trust's posts falling vacant that round after "
                                         "earlier moves (area rule: posts / programme length "
                                         "a year, or its cohorts, shared over trusts; in "
                                         "`posts plan` the trust's own records)"),
    ("trust_posts", "capacity"): Column("Receiving trust's supervision capacity that round: "
                                        "capacity_headroom x its posts, at least 1"),
    ("named_posts", "reason"): _text("Why: when the post falls vacant (its last placement), "
                                     "the trust recommendation it follows, where it moves or "
                                     "what funds it"),
    ("named_posts", "funding_end_year"): Column("Year a time-limited post's funding ends (a "
                                                "new expansion post: its trainee's programme "
                                                "end)", "year"),
    ("named_posts", "last_date_to"): _text("The record's last placement Date To (ISO date), "
                                           "on the post's first vacancy; empty after that or "
                                           "for a new post"),
    ("decisions", "target"): _text("The trust (ODS code) or National Post Number the "
                                   "recommendation names"),
    ("decisions", "year"): Column("Recruitment round of the recommendation", "year"),
    ("establishment", "posts"): Column("Posts in the records of this local office, "
                                       "specialty and funding"),
    ("establishment_by_grade", "posts"): Column("Posts in the records of this local office, "
                                                "specialty and approved grade"),
    ("explanation", "change"): _text("One scenario parameter, input file, data vintage or "
                                     "version that differs between the two runs"),
    # reviewers' decisions on a run's recommendations (store/decisions.py)
    ("decisions", "id"): Column("Number of the decision in the service's database (a later "
                                "decision on the same recommendation has a higher number)",
                                "count"),
    ("decisions", "run_id"): _text("The stored run whose recommendation was decided on"),
    ("decisions", "recommendation"): _text("The recommendation decided on: area|specialty|"
                                           "year|trust code or post number"),
    ("decisions", "decision"): _text("accept, reject (with a reason) or propose (another post "
                                     "or trust, in 'proposed'); the newest decision on a "
                                     "recommendation is the one in force"),
    ("decisions", "reason"): _text("The reviewer's reason (required for a rejection)"),
    ("decisions", "proposed"): _text("For 'propose': the post number or trust code proposed "
                                     "instead"),
    ("decisions", "decided_by"): Column("Account number of the reviewer who decided", "count"),
    ("decisions", "decided_by_name"): _text("User name of the reviewer who decided"),
    ("decisions", "decided_at"): _text("When the decision was recorded (UTC)"),
    # the service's audit log, as an admin exports it (store/audit.py, /admin/audit.csv)
    ("audit_log", "id"): Column("Number of the entry; entries are only ever added, in order",
                                "count"),
    ("audit_log", "at"): _text("When it happened (UTC)"),
    ("audit_log", "actor"): _text("The user name that did it, or 'system' / 'cli'"),
    ("audit_log", "action"): _text("What was done: sign_in, sign_in_failed, account_locked, "
                                   "role_changed, return_submitted, published, "
                                   "decision_recorded ..."),
    ("audit_log", "target"): _text("What it was done to: 'account NAME', 'return ID', "
                                   "'run ID'"),
    ("audit_log", "detail"): _text("The change's particulars (never a password, token or file "
                                   "content)"),
    ("audit_log", "client"): _text("The client address the request came from"),
}

_SUFFIXES = {"_mean": "mean over the Monte Carlo draws",
             "_previous": "in the previous run", "_current": "in the current run",
             "_change": "current minus previous", "_status_quo": "with no moves (status quo)"}
_PERCENTILE = re.compile(r"^(?P<base>.+)_p(?P<p>\d+)$")


def describe(name: object) -> Column | None:
    """The dictionary entry of a column, including derived names (gap_p5, target_change)."""
    text = str(name)
    if text in COLUMNS:
        return COLUMNS[text]
    if re.fullmatch(r"\d{4}", text):
        return Column(f"Posts moved in {text} (in + / out -)", sign=GAP_SIGN)
    found = _PERCENTILE.match(text)
    if found and (base := describe(found["base"])) is not None:
        return Column(f"{found['p']}th percentile over the draws of: {base.meaning}",
                      base.unit if base.unit not in WHOLE_UNITS else "posts (fractional)",
                      base.sign, 3 if base.decimals is None else base.decimals)
    for suffix, what in _SUFFIXES.items():
        if text.endswith(suffix) and (base := describe(text[: -len(suffix)])) is not None:
            sign = CHANGE_SIGN if suffix == "_change" else base.sign
            return Column(f"{base.meaning}, {what}", base.unit, sign, base.decimals)
    return None


def dictionary(columns: Iterable[object], table: str = "") -> pd.DataFrame:
    """Dictionary rows (table, column, meaning, unit, sign convention) for one table."""
    rows = []
    for name in columns:
        col = TABLE_COLUMNS.get((table, str(name))) or describe(name) \
            or Column("(not described)", "")
        rows.append({"table": table, "column": str(name), "meaning": col.meaning,
                     "unit": col.unit, "sign_convention": col.sign})
    return pd.DataFrame(rows, columns=["table", "column", "meaning", "unit", "sign_convention"])


def dictionary_of(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``columns.csv`` of an output folder: every column of every table it holds."""
    return pd.concat([dictionary(df.columns, name) for name, df in tables.items()],
                     ignore_index=True)


def formatted(df: pd.DataFrame, *, as_text: bool = True) -> pd.DataFrame:
    """Numbers as what they are: whole numbers as integers, the rest at a fixed precision.

    ``as_text`` writes the fixed precision as text (CSV: trailing zeros kept, byte-stable);
    otherwise the values are rounded numbers (JSON).
    """
    out = df.copy()
    for name in out.columns:
        series = out[name]
        if not pd.api.types.is_float_dtype(series):
            continue
        col = describe(name)
        whole = series.dropna()
        is_whole = bool(((whole % 1) == 0).all()) if len(whole) else True
        if (col is None or col.decimals is None) and is_whole:
            out[name] = series.round().astype("Int64")
            continue
        decimals = col.decimals if col is not None and col.decimals is not None else (
            3 if col is not None and col.unit == "posts" else 4)
        rounded = series.round(decimals) + 0.0  # no "-0.000"
        out[name] = rounded.map(lambda v, d=decimals: "" if pd.isna(v) else f"{v:.{d}f}") \
            if as_text else rounded
    return out
