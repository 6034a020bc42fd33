"""The page's state: one flat dict of control values, and its query-string form.

Everything the page shows is a function of this dict, so a view can be shared by copying the
address bar: ``state_to_query`` writes only what differs from the defaults (short links),
``query_to_state`` reads it back, filling defaults and ignoring anything it cannot use (an old
or hand-edited link still opens, with the bad value replaced by its default).

Names in a link are matched the way a person types them: any case, extra spaces, or a local
office's code (``?area=ldn``). A value that cannot be used is never replaced silently:
``read_link`` returns, beside the state, one plain sentence per value it ignored, and the page
shows them.

Sentinels keep every control a plain value: ``projection_year = 0`` means "when today's recruits
complete" (the catalogue's programme end), ``pace_cap = 0`` means no cap, ``year = 0`` means the
first plan year still to come, ``expansion = "none"`` means no time-limited expansion posts
(otherwise ``file:<name>``: the expansion programme of a scenario file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, get_args
from urllib.parse import parse_qsl, urlencode

from fairshare.scenario import ApportionmentMethod, Level, ProjectionVariant

ALL = "All specialties"
TABS = ("map", "plan", "posts", "compare", "uncertainty", "equity", "report")
LEVELS: tuple[str, ...] = get_args(Level)
METHODS: tuple[str, ...] = get_args(ApportionmentMethod)
VARIANTS: tuple[str, ...] = get_args(ProjectionVariant)
MODES = ("catalogue", "custom")
#: What the map is coloured by: the gap to target, or the scarcity designation of consultants.
MAP_COLOURS = ("gap", "scarcity")
YEAR_MIN, YEAR_MAX = 2022, 2043
HORIZON_MIN, HORIZON_MAX = 2023, 2040
#: The σ slider's range and the Monte Carlo draw counts the page offers: a link or a callback
#: cannot ask for more than the controls allow.
SIGMA_MAX = 0.5
DRAW_OPTIONS = (100, 300, 1000, 3000)

DEFAULTS: dict[str, Any] = {
    "tab": "map",
    "specialty": "General Psychiatry",
    "level": "local_office",
    "map_colour": "gap",
    "delta": 0.20,
    "weights_mode": "catalogue",
    "w_core": 0.5,
    "w_specialty": 0.25,
    "w_future": 0.25,
    "sigma_mode": "catalogue",
    "sigma": 0.05,
    "projection_year": 0,
    "variant": "principal",
    "method": "hamilton",
    "horizon": 2037,  # the Scenario default: the end of the glide path (docs/plan.md)
    "pace_cap": 0.0,
    "expansion": "none",
    "area": "London",
    "year": 0,
    "compare_a": "view",
    "compare": "default",
    "draws": 300,
}

#: Short query-string names (links stay readable and short).
QUERY_KEYS: dict[str, str] = {
    "tab": "tab",
    "specialty": "spec",
    "level": "level",
    "map_colour": "col",
    "delta": "d",
    "weights_mode": "wm",
    "w_core": "wc",
    "w_specialty": "ws",
    "w_future": "wf",
    "sigma_mode": "sm",
    "sigma": "sigma",
    "projection_year": "py",
    "variant": "var",
    "method": "m",
    "horizon": "h",
    "pace_cap": "cap",
    "expansion": "exp",
    "area": "area",
    "year": "year",
    "compare_a": "a",
    "compare": "cmp",
    "draws": "n",
}
_FROM_QUERY = {v: k for k, v in QUERY_KEYS.items()}

#: The keys that change the scenario (targets, plan); the others only choose what is shown.
SCENARIO_KEYS = ("delta", "weights_mode", "w_core", "w_specialty", "w_future", "sigma_mode",
                 "sigma", "projection_year", "variant", "method", "horizon", "pace_cap",
                 "expansion")
TARGET_KEYS = ("delta", "weights_mode", "w_core", "w_specialty", "w_future", "sigma_mode",
               "sigma", "projection_year", "variant", "method")


def _number(value: Any, lo: float, hi: float, *, integer: bool = False) -> float | int:
    x = float(value)
    if not math.isfinite(x) or not lo <= x <= hi:
        raise ValueError(f"{value!r} is outside [{lo}, {hi}]")
    if integer:
        if x != int(x):
            raise ValueError(f"{value!r} is not a whole number")
        return int(x)
    return round(x, 4)


def _choice(options: tuple[str, ...] | set[str]) -> Any:
    def check(value: Any) -> str:
        text = str(value)
        if text not in options:
            raise ValueError(f"{value!r} is not one of {sorted(options)}")
        return text
    return check


def _text(value: Any) -> str:
    text = str(value).strip()
    if not text or len(text) > 200:
        raise ValueError("empty or too long")
    return text


def _year(value: Any) -> int:
    y = int(_number(value, 0, YEAR_MAX, integer=True))
    if y != 0 and y < YEAR_MIN:
        raise ValueError(f"{value!r} is before {YEAR_MIN}")
    return y


def _draws(value: Any) -> int:
    n = int(_number(value, 1, max(DRAW_OPTIONS), integer=True))
    if n not in DRAW_OPTIONS:
        raise ValueError(f"{value!r} is not one of {', '.join(map(str, DRAW_OPTIONS))}")
    return n


#: What each setting accepts, in words (for the note that says a link value was ignored).
EXPECTED: dict[str, str] = {
    "tab": "one of " + ", ".join(TABS),
    "specialty": "a specialty name",
    "level": "icb, local_office or region",
    "map_colour": "gap or scarcity",
    "delta": "a number from 0 to 1",
    "weights_mode": "catalogue or custom",
    "w_core": "a number from 0 to 1",
    "w_specialty": "a number from 0 to 1",
    "w_future": "a number from 0 to 1",
    "sigma_mode": "catalogue or custom",
    "sigma": f"a number from 0 to {SIGMA_MAX:g}",
    "projection_year": f"a year from {YEAR_MIN} to {YEAR_MAX}, or 0",
    "variant": "one of " + ", ".join(VARIANTS),
    "method": "one of " + ", ".join(METHODS),
    "horizon": f"a year from {HORIZON_MIN} to {HORIZON_MAX}",
    "pace_cap": "a number from 0 to 1",
    "expansion": "none or a scenario file's expansion",
    "area": "a local office's name or code",
    "year": "a plan year up to the horizon, or 0",
    "compare_a": "view, default, file:NAME or run:ID",
    "compare": "default, file:NAME or run:ID",
    "draws": "one of " + ", ".join(map(str, DRAW_OPTIONS)),
}


_PARSERS: dict[str, Any] = {
    "tab": _choice(set(TABS)),
    "specialty": _text,
    "level": _choice(LEVELS),
    "map_colour": _choice(MAP_COLOURS),
    "delta": lambda v: _number(v, 0, 1),
    "weights_mode": _choice(MODES),
    "w_core": lambda v: _number(v, 0, 1),
    "w_specialty": lambda v: _number(v, 0, 1),
    "w_future": lambda v: _number(v, 0, 1),
    "sigma_mode": _choice(MODES),
    "sigma": lambda v: _number(v, 0, SIGMA_MAX),
    "projection_year": _year,
    "variant": _choice(VARIANTS),
    "method": _choice(METHODS),
    "horizon": lambda v: _number(v, HORIZON_MIN, HORIZON_MAX, integer=True),
    "pace_cap": lambda v: _number(v, 0, 1),
    "expansion": _text,
    "area": _text,
    "year": lambda v: _number(v, 0, 2060, integer=True),
    "compare_a": _text,
    "compare": _text,
    "draws": lambda v: _draws(v),
}


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def match_name(value: Any, names: list[str], codes: dict[str, str] | None = None) -> str | None:
    """The known name ``value`` means (any case or spacing, or a code), or None."""
    want = _fold(value)
    for name in names:
        if _fold(name) == want:
            return name
    for code, name in (codes or {}).items():
        if _fold(code) == want:
            return name
    return None


def clean_state(values: Mapping[str, Any] | None, *,
                specialties: list[str] | None = None,
                areas: list[str] | None = None,
                area_codes: dict[str, str] | None = None,
                notes: list[str] | None = None) -> dict[str, Any]:
    """A complete, valid state: defaults for anything missing or unusable.

    ``specialties`` / ``areas``, when given, are the names this app knows (``area_codes`` maps
    a local office's code to its name); names are matched in any case. Each value that cannot
    be used is replaced by its default and, when ``notes`` is given, explained there.
    """
    out = dict(DEFAULTS)
    if specialties:
        names = [ALL, *specialties]
        out["specialty"] = DEFAULTS["specialty"] if DEFAULTS["specialty"] in names else names[1]
    if areas:
        out["area"] = DEFAULTS["area"] if DEFAULTS["area"] in areas else areas[0]
    for key, value in (values or {}).items():
        if key not in _PARSERS or value is None:
            continue
        try:
            parsed = _PARSERS[key](value)
            if key == "specialty" and specialties:
                parsed = match_name(parsed, [ALL, *specialties])
            elif key == "area" and areas:
                parsed = match_name(parsed, areas, area_codes)
            if parsed is None:
                raise ValueError("unknown name")
        except (TypeError, ValueError, OverflowError):
            if notes is not None:
                notes.append(ignored(key, value, f"expected {EXPECTED[key]}", out[key]))
            continue
        out[key] = parsed
    if out["year"] and not YEAR_MIN <= out["year"] <= out["horizon"]:
        if notes is not None:
            notes.append(ignored("year", out["year"], f"expected {EXPECTED['year']} "
                                 f"({out['horizon']})", "first year still to come"))
        out["year"] = 0
    return out


def ignored(key: str, value: Any, why: str, used: Any) -> str:
    """One plain sentence: which link value was ignored, why, and what is shown instead."""
    shown = str(value) if len(str(value)) <= 40 else str(value)[:40] + "…"
    instead = "first year still to come" if key == "year" and used == 0 else used
    return f"Ignored {QUERY_KEYS.get(key, key)}={shown}: {why}. Showing {instead} instead."


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def state_to_query(state: Mapping[str, Any]) -> str:
    """``?key=value&...`` with only the values that differ from the defaults ('' when none)."""
    pairs = []
    for key, short in QUERY_KEYS.items():
        if key not in state:
            continue
        value = state[key]
        if _format(value) != _format(DEFAULTS[key]):
            pairs.append((short, _format(value)))
    return "?" + urlencode(pairs) if pairs else ""


def read_link(search: str | None, **known: Any) -> tuple[dict[str, Any], list[str]]:
    """(the state a query string describes, one note per value it ignored).

    ``known``: the names and codes ``clean_state`` matches against.
    """
    notes: list[str] = []
    values: dict[str, Any] = {}
    for short, value in parse_qsl((search or "").lstrip("?"), keep_blank_values=True):
        if short not in _FROM_QUERY:
            notes.append(f"Ignored {short[:40]}={value[:40]}: not a setting of this page.")
        elif value.strip():
            values[_FROM_QUERY[short]] = value
    return clean_state(values, notes=notes, **known), notes


def query_to_state(search: str | None, **known: Any) -> dict[str, Any]:
    """The state a query string describes (defaults for whatever it leaves out or cannot use)."""
    return read_link(search, **known)[0]


def normalised_weights(state: Mapping[str, Any]) -> tuple[float, float, float] | None:
    """Custom component weights scaled to sum to 1, or None for the catalogue's weights."""
    if state.get("weights_mode") != "custom":
        return None
    raw = [float(state.get(k) or 0.0) for k in ("w_core", "w_specialty", "w_future")]
    total = sum(raw)
    if total <= 0:
        raise ValueError("the component weights are all zero: give at least one a weight")
    core, spec = raw[0] / total, raw[1] / total
    return core, spec, 1.0 - core - spec


def key_of(state: Mapping[str, Any], keys: tuple[str, ...] | list[str]) -> str:
    """A short text key of some state values (what a view was last drawn for)."""
    return "|".join(f"{k}={_format(state.get(k))}" for k in keys)
