"""Whole-post apportionment: published real cases, hand-computed cases, properties, an oracle.

Expected values below come from published results (cited at each case) or are computed by hand
in the comments -- never copied from this module's own output.
"""

from __future__ import annotations

import math
from fractions import Fraction

import apportionment.methods as oracle
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fairshare import apportionment as mod
from fairshare.apportionment import (
    METHODS,
    ApportionmentError,
    apportion,
    apportion_detail,
    controlled_round,
    normalise_method,
)

Num = int | float | Fraction
DIVISOR = ("webster", "huntington-hill", "dhondt", "adams")
FAST = settings(max_examples=60, deadline=None)

# --------------------------------------------------------------------------------------------
# Published case 1: the first apportionment of the US House (1790 census, Apportionment Act 1792)
# --------------------------------------------------------------------------------------------
# Apportionment population of the 1790 census (free persons + 3/5 of "other persons"), total
# 3,615,920, as tabulated in COMAP, "For All Practical Purposes" (10th ed.), ch. 14, Example 6
# (digfir-published.macmillanusa.com/fapp10e/.../example_6.html, which gives this total and the
# resulting quotas) and the textbook project "The First Apportionment of the House of
# Representatives" (tutorsglobe.com/question/...-52333663.aspx, which lists every state).
US_1790 = {
    "Connecticut": 236_841, "Delaware": 55_540, "Georgia": 70_835, "Kentucky": 68_705,
    "Maryland": 278_514, "Massachusetts": 475_327, "New Hampshire": 141_822,
    "New Jersey": 179_570, "New York": 331_589, "North Carolina": 353_523,
    "Pennsylvania": 432_879, "Rhode Island": 68_446, "South Carolina": 206_236,
    "Vermont": 85_533, "Virginia": 630_560,
}
# The Apportionment Act of 1792 (Jefferson's method, one member per 33,000, 105 seats).  Seats
# per state from St. George Tucker, Blackstone's Commentaries (1803), vol. 1, Note D, footnote 56
# ("Representation according to the First Census"; constitution.org/1-Constitution/tb/t1d04056.htm)
# and M. J. Caulfield, "Apportioning Representatives in the United States Congress -- Jefferson's
# Method", MAA Convergence (divisor 33,000; Virginia 19, Delaware 1).
JEFFERSON_1792 = {
    "New Hampshire": 4, "Massachusetts": 14, "Rhode Island": 2, "Connecticut": 7,
    "New York": 10, "New Jersey": 5, "Pennsylvania": 13, "Delaware": 1, "Maryland": 8,
    "Virginia": 19, "North Carolina": 10, "South Carolina": 6, "Georgia": 2, "Vermont": 2,
    "Kentucky": 2,
}
# The 120-seat bill by Hamilton's method that Washington vetoed on 5 April 1792 (the first veto).
# National Archives, Prologue blog, "The 1790 Census and the First Veto" (4 April 2022), and the
# same COMAP Example 6 (Table 14.5).
HAMILTON_1792_120 = {
    "New Hampshire": 5, "Massachusetts": 16, "Vermont": 3, "Rhode Island": 2, "Connecticut": 8,
    "New York": 11, "New Jersey": 6, "Pennsylvania": 14, "Delaware": 2, "Maryland": 9,
    "Virginia": 21, "Kentucky": 2, "North Carolina": 12, "South Carolina": 7, "Georgia": 2,
}


def _by_state(seats: list[int], states: list[str]) -> dict[str, int]:
    return dict(zip(states, seats, strict=True))


@pytest.mark.parametrize("alias", ["dhondt", "jefferson", "D'Hondt", "DHONDT"])
def test_us_house_1792_jefferson(alias: str) -> None:
    states = list(US_1790)
    seats = apportion(list(US_1790.values()), 105, alias)
    assert _by_state(seats, states) == JEFFERSON_1792
    # The Act's rule "one for every thirty-three thousand" is the same thing, state by state.
    assert seats == [p // 33_000 for p in US_1790.values()]


@pytest.mark.parametrize("alias", ["hamilton", "largest-remainder", "Hare"])
def test_us_house_1792_vetoed_hamilton_bill(alias: str) -> None:
    states = list(US_1790)
    assert _by_state(apportion(list(US_1790.values()), 120, alias), states) == HAMILTON_1792_120


def test_us_house_1792_hamilton_at_105_seats() -> None:
    # Caulfield (MAA Convergence, above): "If Hamilton's method had been applied in 1792 to a House
    # of size 105, 13 of the 15 states would have been assigned the same number ... Delaware would
    # have gained a seat under Hamilton that it instead lost to Virginia."
    states = list(US_1790)
    got = _by_state(apportion(list(US_1790.values()), 105, "hamilton"), states)
    expected = dict(JEFFERSON_1792, Delaware=2, Virginia=18)
    assert got == expected


# --------------------------------------------------------------------------------------------
# Published case 2: New Zealand general election 2020, 120 seats by Sainte-Laguë
# --------------------------------------------------------------------------------------------
# Only parties over 5% or with an electorate seat share the 120 seats (no overhang in 2020).
NZ_PARTIES = ["Labour", "National", "Green", "ACT", "Maori"]
# Election-night party votes and seats: Electoral Commission press release "Election Night
# Results For The 2020 General Election", 18 Oct 2020 (scoop.co.nz/stories/PO2010/S00218).
NZ_2020_NIGHT_VOTES = [1_169_397, 638_393, 180_224, 190_106, 23_938]
NZ_2020_NIGHT_SEATS = [64, 35, 10, 10, 1]
# Official result: Electoral Commission, "2020 General Election official results", 6 Nov 2020
# (elections.nz/media-and-news/2020/2020-general-election-official-results): Labour 65,
# National 33, Green 10, ACT 10, Maori Party 2; the official party votes as given in Wikipedia's
# "2020 New Zealand general election" infobox (Labour 1,443,545; National 738,275; Green 226,757;
# ACT 219,031; Maori Party 33,630).
NZ_2020_FINAL_VOTES = [1_443_545, 738_275, 226_757, 219_031, 33_630]
NZ_2020_FINAL_SEATS = [65, 33, 10, 10, 2]


@pytest.mark.parametrize(
    ("votes", "seats"),
    [(NZ_2020_NIGHT_VOTES, NZ_2020_NIGHT_SEATS), (NZ_2020_FINAL_VOTES, NZ_2020_FINAL_SEATS)],
)
@pytest.mark.parametrize("alias", ["webster", "sainte-lague", "Sainte-Laguë"])
def test_new_zealand_2020_sainte_lague(votes: list[int], seats: list[int], alias: str) -> None:
    detail = apportion_detail(votes, 120, alias)
    assert detail.seats == seats
    assert detail.method == "webster"
    assert detail.ties == []


# --------------------------------------------------------------------------------------------
# Published case 3: US House 2020, 435 seats by Huntington-Hill (equal proportions), 1 minimum
# --------------------------------------------------------------------------------------------
# Apportionment population = resident population + federally affiliated overseas population,
# Census Bureau 2020 Census apportionment Table 1, as transcribed in
# github.com/GPHemsley/house-apportionment data/2020_census.csv; cross-checked against figures
# the Census Bureau published: total 331,108,434; Alabama 5,030,053; California 39,576,757;
# Colorado 5,782,171; Florida 21,570,527; Illinois 12,822,739; Michigan 10,084,442;
# Montana 1,085,407; New York 20,215,751; Minnesota 5,709,752.
US_2020 = {  # state: (resident, overseas)
    "Alabama": (5024279, 5774), "Alaska": (733391, 2690), "Arizona": (7151502, 7421),
    "Arkansas": (3011524, 2232), "California": (39538223, 38534),
    "Colorado": (5773714, 8457), "Connecticut": (3605944, 2354), "Delaware": (989948, 889),
    "Florida": (21538187, 32340), "Georgia": (10711908, 13366), "Hawaii": (1455271, 4866),
    "Idaho": (1839106, 2271), "Illinois": (12812508, 10231), "Indiana": (6785528, 4752),
    "Iowa": (3190369, 2037), "Kansas": (2937880, 2985), "Kentucky": (4505836, 3506),
    "Louisiana": (4657757, 3711), "Maine": (1362359, 1223), "Maryland": (6177224, 8054),
    "Massachusetts": (7029917, 3552), "Michigan": (10077331, 7111),
    "Minnesota": (5706494, 3258), "Mississippi": (2961279, 2635), "Missouri": (6154913, 5368),
    "Montana": (1084225, 1182), "Nebraska": (1961504, 1829), "Nevada": (3104614, 3848),
    "New Hampshire": (1377529, 1560), "New Jersey": (9288994, 5499),
    "New Mexico": (2117522, 2698), "New York": (20201249, 14502),
    "North Carolina": (10439388, 14560), "North Dakota": (779094, 608),
    "Ohio": (11799448, 9400), "Oklahoma": (3959353, 4163), "Oregon": (4237256, 4244),
    "Pennsylvania": (13002700, 9144), "Rhode Island": (1097379, 784),
    "South Carolina": (5118425, 6287), "South Dakota": (886667, 1103),
    "Tennessee": (6910840, 6057), "Texas": (29145505, 37785), "Utah": (3271616, 3636),
    "Vermont": (643077, 426), "Virginia": (8631393, 23149), "Washington": (7705281, 10665),
    "West Virginia": (1793716, 1329), "Wisconsin": (5893718, 3755), "Wyoming": (576851, 868),
}
# Seats from the 2020 apportionment (Census Bureau, 26 April 2021): Britannica "United States
# House of Representatives Seats by State" (2010 table) plus the 13 published changes (TX +2;
# CO, FL, MT, NC, OR +1; CA, IL, MI, NY, OH, PA, WV -1), which agree with NCSL "2020 Apportionment
# of Congressional Seats" and the lists of the largest delegations (CA 52, TX 38, FL 28, NY 26,
# IL 17, PA 17, OH 15, GA 14, NC 14, MI 13, NJ 12, WA 10; six states with one seat).
US_2020_SEATS = {
    "Alabama": 7, "Alaska": 1, "Arizona": 9, "Arkansas": 4, "California": 52, "Colorado": 8,
    "Connecticut": 5, "Delaware": 1, "Florida": 28, "Georgia": 14, "Hawaii": 2, "Idaho": 2,
    "Illinois": 17, "Indiana": 9, "Iowa": 4, "Kansas": 4, "Kentucky": 6, "Louisiana": 6,
    "Maine": 2, "Maryland": 8, "Massachusetts": 9, "Michigan": 13, "Minnesota": 8,
    "Mississippi": 4, "Missouri": 8, "Montana": 2, "Nebraska": 3, "Nevada": 4,
    "New Hampshire": 2, "New Jersey": 12, "New Mexico": 3, "New York": 26,
    "North Carolina": 14, "North Dakota": 1, "Ohio": 15, "Oklahoma": 5, "Oregon": 6,
    "Pennsylvania": 17, "Rhode Island": 2, "South Carolina": 7, "South Dakota": 1,
    "Tennessee": 9, "Texas": 38, "Utah": 4, "Vermont": 1, "Virginia": 11, "Washington": 10,
    "West Virginia": 2, "Wisconsin": 8, "Wyoming": 1,
}
STATES_2020 = list(US_2020)
POP_2020 = [r + o for r, o in US_2020.values()]


def test_us_2020_apportionment_populations_match_published_figures() -> None:
    pop = dict(zip(STATES_2020, POP_2020, strict=True))
    assert sum(POP_2020) == 331_108_434
    assert pop["Alabama"] == 5_030_053
    assert pop["New York"] == 20_215_751
    assert pop["Minnesota"] == 5_709_752


@pytest.mark.parametrize("alias", ["huntington-hill", "hill", "Huntington_Hill"])
def test_us_house_2020_huntington_hill(alias: str) -> None:
    # The statute gives every state one seat first; with Huntington-Hill's infinite first-seat
    # priority the answer is the same with or without the explicit minimum.
    for minimum in (1, 0):
        seats = apportion(POP_2020, 435, alias, minimum=minimum)
        assert _by_state(seats, STATES_2020) == US_2020_SEATS


def test_us_house_2020_last_seat_margins() -> None:
    # Census Bureau (K. Koslap, 26 April 2021 briefing; Washington Post, West Central Tribune):
    # seat 435 went to Minnesota; New York would have needed 89 more people to take it instead.
    # Election Data Services: had Minnesota counted 26 fewer people, New York would have got it.
    ny, mn = STATES_2020.index("New York"), STATES_2020.index("Minnesota")

    def ny_mn(change: dict[int, int]) -> tuple[int, int]:
        pop = [p + change.get(i, 0) for i, p in enumerate(POP_2020)]
        seats = apportion(pop, 435, "huntington-hill", minimum=1)
        return seats[ny], seats[mn]

    assert ny_mn({}) == (26, 8)
    assert ny_mn({ny: 88}) == (26, 8)
    assert ny_mn({ny: 89}) == (27, 7)
    assert ny_mn({mn: -26}) == (27, 7)


# --------------------------------------------------------------------------------------------
# Hand-computed cases
# --------------------------------------------------------------------------------------------


def test_alabama_paradox_textbook_case() -> None:
    # Populations 6, 6, 2 (total 14).
    # 10 seats: quotas 60/14 = 4.286, 4.286, 20/14 = 1.429 -> floors 4, 4, 1 (9); the 10th seat
    #           goes to the largest remainder, C (.429 > .286): 4, 4, 2.
    # 11 seats: quotas 66/14 = 4.714, 4.714, 22/14 = 1.571 -> floors 4, 4, 1 (9); the two left go
    #           to A and B (.714 > .571): 5, 5, 1.  One more seat in total costs C a seat.
    assert apportion([6, 6, 2], 10, "hamilton") == [4, 4, 2]
    assert apportion([6, 6, 2], 11, "hamilton") == [5, 5, 1]
    detail = apportion_detail([6, 6, 2], 10, "hamilton")
    assert detail.quotas == [Fraction(30, 7), Fraction(30, 7), Fraction(10, 7)]
    assert detail.ties == []


def test_exact_arithmetic_beats_floats() -> None:
    # D'Hondt, 2 seats, weights A = 2e17 - 1 and B = 1e17 (as exact integers).
    # Seat 1: A (2e17 - 1 > 1e17).  Seat 2: A's second bid (2e17 - 1)/2 = 1e17 - 0.5 < B's 1e17,
    # so B: [1, 1].  In float64 2e17 - 1 rounds to 2e17, making it a tie that A would win.
    assert apportion([2 * 10**17 - 1, 10**17], 2, "dhondt") == [1, 1]
    # One seat, weights 1e17 and 1e17 + 1: the second is larger, although floats see a tie.
    detail = apportion_detail([10**17, 10**17 + 1], 1, "dhondt")
    assert detail.seats == [0, 1]
    assert detail.ties == []
    # A true tie is reported and broken by the rule: equal weights -> earlier unit.
    detail = apportion_detail([10**17, 10**17], 1, "dhondt")
    assert detail.seats == [1, 0]
    assert detail.ties == [(0, 1)]
    # Hamilton, 3 seats: quotas 3e17 / (2e17 + 1) = 1.4999999999999999925 and
    # 3 (1e17 + 1) / (2e17 + 1) = 1.5000000000000000075; floors 1, 1 and the last seat to the
    # (barely) larger remainder, the second unit.
    assert apportion([10**17, 10**17 + 1], 3, "hamilton") == [1, 2]


def test_huntington_hill_compares_geometric_means_exactly() -> None:
    # Two units holding 1 and 8 seats bid w/sqrt(1*2) and w'/sqrt(8*9); with w' = 6w these are
    # exactly equal (36/72 = 1/2), a tie no float square root can be trusted to see.
    # Weights 10 and 60, 10 seats: after 1 + 8 seats the 10th seat is that exact tie; the larger
    # weight (60) wins: [1, 9].  (Priorities for seats 2..9 of B: 60/sqrt(2)=42.4 ... 60/sqrt(56)
    # = 8.02 all beat A's 10/sqrt(2) = 7.07 and are not tied with it.)
    detail = apportion_detail([10, 60], 10, "huntington-hill")
    assert detail.seats == [1, 9]
    assert detail.ties == [(0, 1)]
    # With A slightly heavier (10 + 1e-9 as an exact fraction) A wins the 10th seat.
    assert apportion([Fraction(10) + Fraction(1, 10**9), 60], 10, "huntington-hill") == [2, 8]


def test_tie_rule_larger_weight_then_earlier_unit() -> None:
    # D'Hondt, weights 2 and 1, 2 seats: seat 1 to A (2); seat 2: A's bid 2/2 = 1 ties B's 1/1;
    # the larger weight wins, wherever it is in the input.
    assert apportion_detail([2, 1], 2, "dhondt").seats == [2, 0]
    assert apportion_detail([1, 2], 2, "dhondt").seats == [0, 2]
    assert apportion_detail([1, 2], 2, "dhondt").ties == [(0, 1)]
    # Hamilton, weights 1 and 3, 2 seats: quotas 1/2 and 3/2, equal remainders 1/2; the larger
    # weight takes the last seat, in either order.
    assert apportion_detail([1, 3], 2, "hamilton").seats == [0, 2]
    assert apportion_detail([3, 1], 2, "hamilton").seats == [2, 0]
    assert apportion_detail([3, 1], 2, "hamilton").ties == [(0, 1)]
    # Equal weights: the earlier unit wins (Hamilton: three equal remainders of 2/3).
    detail = apportion_detail([5, 5, 5], 2, "hamilton")
    assert detail.seats == [1, 1, 0]
    assert detail.ties == [(0, 1, 2)]
    # Webster, 6, 6, 2 and 10 seats: after 4, 4, 1 the bids are 6/4.5 = 2/1.5 = 4/3 for all three:
    # a three-way tie, won by the first of the two largest.
    detail = apportion_detail([6, 6, 2], 10, "webster")
    assert detail.seats == [5, 4, 1]
    assert detail.ties == [(0, 1, 2)]


def test_huntington_hill_fewer_seats_than_units() -> None:
    # Every first seat has infinite priority: all three are tied; the largest weights win.
    detail = apportion_detail([1, 3, 2], 2, "huntington-hill")
    assert detail.seats == [0, 1, 1]
    assert detail.ties == [(0, 1, 2)]


def test_adams_gives_every_positive_unit_a_seat() -> None:
    # Adams bids w/n: the first seat is infinite for all, so 1, 1, 1 first; then 100/1 beats
    # 2/1 and 1/1, then 100/2 = 50, ... : [8, 1, 1] for 10 seats.
    assert apportion([100, 2, 1], 10, "adams") == [8, 1, 1]
    assert apportion([100, 0, 1], 3, "adams") == [2, 0, 1]
    with pytest.raises(ApportionmentError, match="Adams gives every unit with positive weight"):
        apportion([3, 2, 1], 2, "adams")


def test_minimum_hand_computed() -> None:
    # Weights 1, 1, 8 and 10 seats, minimum 2: plain quotas 1, 1, 8; A and B are fixed at 2 and C
    # takes the other 6 (Hamilton: bounded quotas 2, 2, 6; D'Hondt: C's bids 8/3 .. 8/6 beat
    # A's and B's 1/3).
    for method in ("hamilton", "dhondt", "webster", "huntington-hill", "adams"):
        assert apportion([1, 1, 8], 10, method, minimum=2) == [2, 2, 6], method
    assert apportion_detail([1, 1, 8], 10, minimum=2).quotas == [2, 2, 6]
    # Per-unit minimums.
    assert apportion([1, 1, 8], 10, "hamilton", minimum=[0, 3, 0]) == [1, 3, 6]


def test_maximum_hand_computed() -> None:
    # Weights 5, 3, 2, 10 seats, A capped at 3.  Hamilton: A's quota 5 > 3, so A is fixed at 3 and
    # B, C share 7 as 3:2 -> quotas 4.2, 2.8 -> floors 4, 2, the last seat to C (.8): [3, 4, 3].
    detail = apportion_detail([5, 3, 2], 10, "hamilton", maximum=[3, 10, 10])
    assert detail.seats == [3, 4, 3]
    assert detail.quotas == [3, Fraction(21, 5), Fraction(14, 5)]
    # D'Hondt stops A at 3; the other 7 seats go by 3/1, 2/1, 3/2, 3/3=2/2, ... -> B 4, C 3
    # (bids in order 3, 2, 1.5, 1 (B), 1 (C), 0.75, 0.667): [3, 4, 3].
    assert apportion([5, 3, 2], 10, "dhondt", maximum=[3, 10, 10]) == [3, 4, 3]


def test_zero_weights() -> None:
    assert apportion([0, 1], 3, "webster") == [0, 3]
    assert apportion([0, 1], 3, "webster", minimum=[1, 0]) == [1, 2]
    # Units with weight get their caps first; the rest must go to zero-weight units, in order.
    detail = apportion_detail([1, 0, 0], 4, "dhondt", maximum=[1, 5, 5])
    assert detail.seats == [1, 3, 0]
    assert detail.ties == [(1, 2)]
    assert apportion([0, 0], 2, "hamilton", minimum=1) == [1, 1]
    assert apportion([], 0) == []


def test_float_and_exact_inputs_agree() -> None:
    floats = [0.1, 0.2, 0.3, 0.15, 0.25]
    exact = [Fraction(f) for f in floats]  # the exact binary values the floats hold
    for method in METHODS:
        assert apportion(floats, 17, method) == apportion(exact, 17, method)
        assert apportion(np.array(floats), 17, method) == apportion(exact, 17, method)


# --------------------------------------------------------------------------------------------
# Clear errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": [1, -1], "seats": 2}, "weight 1 must be >= 0"),
        ({"weights": [1, float("nan")], "seats": 2}, "weight 1 must be finite"),
        ({"weights": [1, float("inf")], "seats": 2}, "weight 1 must be finite"),
        ({"weights": [1, "2"], "seats": 2}, "weight 1 must be a number"),
        ({"weights": [True, 1], "seats": 2}, "weight 0 must be a number"),
        ({"weights": [1, 2], "seats": -1}, "seats must be >= 0"),
        ({"weights": [1, 2], "seats": 2.0}, "seats must be a whole number"),
        ({"weights": [0, 0], "seats": 1}, "all weights are zero"),
        ({"weights": [], "seats": 1}, "among no units"),
        ({"weights": [1, 2], "seats": 3, "minimum": 2}, "minimums add up to 4"),
        ({"weights": [1, 2], "seats": 3, "minimum": [1]}, "minimum has 1 entries"),
        ({"weights": [1, 2], "seats": 3, "minimum": -1}, "minimum must be >= 0"),
        ({"weights": [1, 2], "seats": 3, "maximum": [1, 1]}, "maximums add up to 2"),
        ({"weights": [1, 2], "seats": 3, "minimum": [2, 0], "maximum": [1, 9]}, "below its"),
        ({"weights": [1, 2], "seats": 3, "maximum": [5]}, "maximum has 1 entries"),
        ({"weights": [1, 2], "seats": 3, "method": "banzhaf"}, "unknown apportionment method"),
        ({"weights": "12", "seats": 3}, "weights must be a sequence"),
    ],
)
def test_bad_input_raises_clear_value_error(kwargs: dict[str, object], match: str) -> None:
    weights = kwargs.pop("weights")
    seats = kwargs.pop("seats")
    with pytest.raises(ValueError, match=match):
        apportion(weights, seats, **kwargs)  # type: ignore[arg-type]


def test_method_names() -> None:
    assert normalise_method(" Largest_Remainder ") == "hamilton"
    assert normalise_method("SAINTE-LAGUE") == "webster"
    assert normalise_method("Jefferson") == "dhondt"
    assert normalise_method("hill") == "huntington-hill"
    assert set(METHODS) == {"hamilton", "webster", "huntington-hill", "dhondt", "adams"}


# --------------------------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------------------------

weight_values = st.one_of(
    st.integers(0, 10**6),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    st.fractions(min_value=0, max_value=1000, max_denominator=50),
)
weight_lists = st.lists(weight_values, min_size=1, max_size=12).filter(lambda w: any(w))


def _positive(weights: list[Num]) -> int:
    return sum(1 for w in weights if w > 0)


def _quotas(weights: list[Num], seats: int) -> list[Fraction]:
    exact = [Fraction(w) for w in weights]
    total = sum(exact)
    return [seats * w / total for w in exact]


@FAST
@given(weights=weight_lists, seats=st.integers(0, 150), method=st.sampled_from(METHODS))
def test_total_is_always_preserved(weights: list[Num], seats: int, method: str) -> None:
    if method == "adams" and seats < _positive(weights):
        with pytest.raises(ApportionmentError, match="Adams"):
            apportion(weights, seats, method)
        return
    result = apportion(weights, seats, method)
    assert sum(result) == seats
    assert all(s >= 0 for s in result)
    assert all(s == 0 for s, w in zip(result, weights, strict=True) if w == 0)


@FAST
@given(weights=weight_lists, seats=st.integers(0, 150))
def test_hamilton_stays_within_quota(weights: list[Num], seats: int) -> None:
    result = apportion(weights, seats, "hamilton")
    for s, q in zip(result, _quotas(weights, seats), strict=True):
        assert math.floor(q) <= s <= math.ceil(q)


@FAST
@given(weights=weight_lists, seats=st.integers(0, 120), method=st.sampled_from(DIVISOR),
       minimum=st.integers(0, 2))
def test_divisor_methods_are_house_monotone(
    weights: list[Num], seats: int, method: str, minimum: int
) -> None:
    seats += minimum * len(weights) + (_positive(weights) if method == "adams" else 0)
    now = apportion(weights, seats, method, minimum=minimum)
    more = apportion(weights, seats + 1, method, minimum=minimum)
    assert all(b >= a for a, b in zip(now, more, strict=True))
    assert sum(more) == sum(now) + 1


@st.composite
def bounded_cases(draw: st.DrawFn) -> tuple[list[Num], int, list[int], list[int]]:
    weights = draw(weight_lists)
    n = len(weights)
    mins = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    caps = [m + draw(st.integers(0, 30)) for m in mins]
    seats = draw(st.integers(sum(mins), sum(caps)))
    return weights, seats, mins, caps


@FAST
@given(case=bounded_cases(), method=st.sampled_from(METHODS))
def test_minimum_and_maximum_respected(
    case: tuple[list[Num], int, list[int], list[int]], method: str
) -> None:
    weights, seats, mins, caps = case
    try:
        detail = apportion_detail(weights, seats, method, minimum=mins, maximum=caps)
    except ApportionmentError as err:  # Adams with too few seats for every positive unit
        assert method == "adams"
        assert "Adams" in str(err)
        return
    assert sum(detail.seats) == seats
    assert all(lo <= s <= hi for s, lo, hi in zip(detail.seats, mins, caps, strict=True))
    if method == "hamilton":
        # Hamilton stays within its bounded quota, and the bounded quotas respect the bounds.
        assert sum(detail.quotas) == seats
        for s, q, lo, hi in zip(detail.seats, detail.quotas, mins, caps, strict=True):
            assert lo <= q <= hi
            assert math.floor(q) <= s <= math.ceil(q)


@FAST
@given(weights=weight_lists, seats=st.integers(0, 100), method=st.sampled_from(METHODS),
       data=st.data())
def test_permuting_units_permutes_seats_when_no_ties(
    weights: list[Num], seats: int, method: str, data: st.DataObject
) -> None:
    if method == "adams":
        seats += _positive(weights)
    detail = apportion_detail(weights, seats, method)
    assume(not detail.ties)
    perm = data.draw(st.permutations(range(len(weights))))
    permuted = apportion([weights[i] for i in perm], seats, method)
    assert permuted == [detail.seats[i] for i in perm]


@FAST
@given(weights=weight_lists, seats=st.integers(0, 100), method=st.sampled_from(METHODS),
       scale=st.integers(1, 10**12))
def test_deterministic_and_scale_free(
    weights: list[Num], seats: int, method: str, scale: int
) -> None:
    if method == "adams":
        seats += _positive(weights)
    first = apportion_detail(weights, seats, method)
    assert apportion_detail(weights, seats, method) == first
    assert apportion_detail(tuple(weights), seats, method) == first
    # Only ratios matter, exactly: multiplying every weight by the same number changes nothing.
    scaled = [Fraction(w) * scale for w in weights]
    assert apportion_detail(scaled, seats, method).seats == first.seats


@FAST
@given(weights=st.lists(st.integers(0, 12), min_size=1, max_size=10).filter(any),
       seats=st.integers(0, 60), method=st.sampled_from(DIVISOR), minimum=st.integers(0, 1))
def test_fast_divisor_path_matches_one_seat_at_a_time(
    weights: list[int], seats: int, method: str, minimum: int
) -> None:
    # Small integer weights make exact ties common, which is where a float shortcut could slip.
    seats += minimum * len(weights) + (_positive(weights) if method == "adams" else 0)
    fast = apportion_detail(weights, seats, method, minimum=minimum)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mod, "_MIN_RATIO", 2.0)  # force the exact one-seat-at-a-time reference
        slow = apportion_detail(weights, seats, method, minimum=minimum)
    assert fast == slow


# --------------------------------------------------------------------------------------------
# Agreement with the `apportionment` package (independent implementation, test-only oracle)
# --------------------------------------------------------------------------------------------

ORACLE_NAME = {
    "hamilton": "largest_remainder",
    "webster": "saintelague",
    "huntington-hill": "huntington",
    "dhondt": "dhondt",
    "adams": "adams",
}


@settings(max_examples=120, deadline=None)
@given(votes=st.lists(st.integers(1, 100_000), min_size=2, max_size=9),
       seats=st.integers(1, 60), method=st.sampled_from(METHODS))
def test_agrees_with_apportionment_package(votes: list[int], seats: int, method: str) -> None:
    if method == "adams":
        seats += len(votes)
    ours = apportion_detail(votes, seats, method)
    assume(not ours.ties)
    names = [f"unit{i}" for i in range(len(votes))]
    try:
        theirs = oracle.compute(ORACLE_NAME[method], votes, seats, parties=names,
                                tiesallowed=False)
    except oracle.TiesException:
        assume(False)
    assert ours.seats == [int(s) for s in theirs]


# --------------------------------------------------------------------------------------------
# Controlled rounding
# --------------------------------------------------------------------------------------------


@st.composite
def consistent_tables(draw: st.DrawFn) -> list[list[Fraction]]:
    """An integer table with fractional mass moved around 2x2 cycles (margins stay integral)."""
    n_r = draw(st.integers(1, 7))
    n_c = draw(st.integers(1, 7))
    table = [[Fraction(draw(st.integers(0, 6))) for _ in range(n_c)] for _ in range(n_r)]
    for _ in range(draw(st.integers(0, 25))):
        i1, i2 = draw(st.integers(0, n_r - 1)), draw(st.integers(0, n_r - 1))
        j1, j2 = draw(st.integers(0, n_c - 1)), draw(st.integers(0, n_c - 1))
        if i1 == i2 or j1 == j2:
            continue
        t = draw(st.fractions(min_value=0, max_value=3, max_denominator=12))
        t = min(t, table[i1][j2], table[i2][j1])
        table[i1][j1] += t
        table[i2][j2] += t
        table[i1][j2] -= t
        table[i2][j1] -= t
    return table


def _margins(table: list[list[Fraction]]) -> tuple[list[int], list[int]]:
    rows = [sum(r, Fraction(0)) for r in table]
    cols = [sum(c, Fraction(0)) for c in zip(*table, strict=True)]
    assert all(x.denominator == 1 for x in rows + cols)
    return [int(x) for x in rows], [int(x) for x in cols]


def _check_rounding(out: list[list[int]], table: list[list[Num]], rows: list[int],
                    cols: list[int]) -> None:
    assert [sum(r) for r in out] == rows
    assert [sum(c) for c in zip(*out, strict=True)] == cols
    for got, row in zip(out, table, strict=True):
        for g, x in zip(got, row, strict=True):
            assert math.floor(x) <= g <= math.ceil(x)


@FAST
@given(table=consistent_tables())
def test_controlled_round_keeps_margins_and_rounds_each_cell(table: list[list[Fraction]]) -> None:
    rows, cols = _margins(table)
    _check_rounding(controlled_round(table, rows, cols), table, rows, cols)
    # The same table as floats (margins now only approximately integral).
    floats = [[float(x) for x in r] for r in table]
    _check_rounding(controlled_round(floats, rows, cols), floats, rows, cols)


@FAST
@given(table=consistent_tables(), data=st.data())
def test_controlled_round_with_rounded_column_totals(
    table: list[list[Fraction]], data: st.DataObject
) -> None:
    # Perturb within rows (row totals stay exact), then round the column sums by Hamilton -- the
    # way model.targets uses it.  Margins must be met exactly; cells may need one step more
    # than floor/ceiling only when no floor/ceiling table exists.
    n_c = len(table[0])
    for row in table:
        for _ in range(data.draw(st.integers(0, 3))):
            j1, j2 = data.draw(st.integers(0, n_c - 1)), data.draw(st.integers(0, n_c - 1))
            t = min(row[j1], data.draw(st.fractions(0, 2, max_denominator=7)))
            row[j1] -= t
            row[j2] += t
    rows = [int(sum(r, Fraction(0))) for r in table]
    col_sums = [sum(c, Fraction(0)) for c in zip(*table, strict=True)]
    assume(sum(col_sums) > 0)
    cols = apportion(col_sums, sum(rows), "hamilton")
    out = controlled_round(table, rows, cols)
    assert [sum(r) for r in out] == rows
    assert [sum(c) for c in zip(*out, strict=True)] == cols
    for got, row in zip(out, table, strict=True):
        for g, x in zip(got, row, strict=True):
            assert g >= 0
            assert abs(g - x) < 2


def test_controlled_round_prefers_largest_fractions() -> None:
    # Row totals 1, 1; column totals 1, 1.  Cells .9 .1 / .1 .9: the round-ups go to the .9s.
    table = [[0.9, 0.1], [0.1, 0.9]]
    assert controlled_round(table, [1, 1], [1, 1]) == [[1, 0], [0, 1]]
    table = [[0.1, 0.9], [0.9, 0.1]]
    assert controlled_round(table, [1, 1], [1, 1]) == [[0, 1], [1, 0]]


def test_controlled_round_when_floor_or_ceiling_is_impossible() -> None:
    # Table .5 0 / 0 .5 with row totals 1, 0 and column totals 0, 1 (each a rounding of .5): the
    # top-left cell would have to be 1 (row) and 0 (column), so some cell must leave
    # floor/ceiling: the only table is 0 1 / 0 0.
    assert controlled_round([[0.5, 0], [0, 0.5]], [1, 0], [0, 1]) == [[0, 1], [0, 0]]


@pytest.mark.parametrize(
    ("table", "rows", "cols", "match"),
    [
        ([[1, 2]], [3], [1, 1], "row totals add up to 3 but column totals add up to 2"),
        ([[1, 2]], [4], [2, 2], "the table adds up to 3 but the totals add up to 4"),
        ([[1, 2], [2, 1]], [1, 5], [3, 3], "row 0 adds up to 3, too far from its total 1"),
        ([[1, 2], [2, 1]], [3, 3], [1, 5], "column 0 adds up to 3, too far"),
        ([[1, -2]], [-1], [1, -2], "row total 0 must be >= 0"),
        ([[1, -2]], [1], [1, 0], r"cell \(0, 1\) must be >= 0"),
        ([[1, float("nan")]], [1], [1, 0], r"cell \(0, 1\) must be finite"),
        ([[1, 2]], [3, 0], [1, 2], "1 rows but 2 row totals"),
        ([[1, 2], [3]], [3, 3], [4, 2], "row 1 has 1 cells"),
    ],
)
def test_controlled_round_clear_errors(
    table: list[list[float]], rows: list[int], cols: list[int], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        controlled_round(table, rows, cols)


def test_controlled_round_national_size_table() -> None:
    """A 65 x 45 table (the national size) keeps both margins; speed is in benchmarks/."""
    rng = np.random.default_rng(7)
    x = rng.gamma(0.7, 3.0, (65, 45))
    rows = np.round(x.sum(axis=1) * 3).astype(int)
    x *= (rows / x.sum(axis=1))[:, None]
    cols = apportion(list(x.sum(axis=0)), int(rows.sum()), "hamilton")
    out = controlled_round(x.tolist(), rows.tolist(), cols)
    assert [sum(r) for r in out] == rows.tolist()
    assert [sum(c) for c in zip(*out, strict=True)] == cols
    assert (np.abs(np.array(out) - x) < 1).all()
