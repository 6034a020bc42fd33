"""The page's state: one flat dict of control values, and its query-string form.

Everything the page shows is a function of this dict, so a view can be shared by copying the
address bar: ``state_to_query`` writes only what differs from the defaults (short links),
``query_to_state`` reads it back, filling defaults and ignoring anything it cannot use (an old
or hand-edited link still opens, with the bad value replaced by its default).

Sentinels keep every control a plain value: ``projection_year = 0`` means "when today's recruits
complete" (the catalogue's programme end), ``pace_cap = 0`` means no cap, ``year = 0`` means the
first plan year in which anything moves, ``expansion = "none"`` means no time-limited expansion
posts (otherwise ``file:<name>``: the expansion programme of a scenario file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, get_args
from urllib.parse import parse_qsl, urlencode

from fairshare.scenario import ApportionmentMethod, Level, ProjectionVariant

ALL = "All specialties"
TABS = ("map", "plan", "compare", "uncertainty", "equity", "report")
LEVELS: tuple[str, ...] = get_args(Level)
METHODS: tuple[str, ...] = get_args(ApportionmentMethod)
VARIANTS: tuple[str, ...] = get_args(ProjectionVariant)
MODES = ("catalogue", "custom")
YEAR_MIN, YEAR_MAX = 2022, 2043
HORIZON_MIN, HORIZON_MAX = 2023, 2040

DEFAULTS: dict[str, Any] = {
    "tab": "map",
    "specialty": "General Psychiatry",
    "level": "local_office",
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
    "horizon": 2031,
    "pace_cap": 0.0,
    "expansion": "none",
    "area": "London",
    "year": 0,
    "compare": "default",
    "draws": 300,
}

#: Short query-string names (links stay readable and short).
QUERY_KEYS: dict[str, str] = {
    "tab": "tab",
    "specialty": "spec",
    "level": "level",
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


_PARSERS: dict[str, Any] = {
    "tab": _choice(set(TABS)),
    "specialty": _text,
    "level": _choice(LEVELS),
    "delta": lambda v: _number(v, 0, 1),
    "weights_mode": _choice(MODES),
    "w_core": lambda v: _number(v, 0, 1),
    "w_specialty": lambda v: _number(v, 0, 1),
    "w_future": lambda v: _number(v, 0, 1),
    "sigma_mode": _choice(MODES),
    "sigma": lambda v: _number(v, 0, 1),
    "projection_year": _year,
    "variant": _choice(VARIANTS),
    "method": _choice(METHODS),
    "horizon": lambda v: _number(v, HORIZON_MIN, HORIZON_MAX, integer=True),
    "pace_cap": lambda v: _number(v, 0, 1),
    "expansion": _text,
    "area": _text,
    "year": lambda v: _number(v, 0, 2060, integer=True),
    "compare": _text,
    "draws": lambda v: _number(v, 10, 5000, integer=True),
}


def clean_state(values: Mapping[str, Any] | None, *,
                specialties: list[str] | None = None,
                areas: list[str] | None = None) -> dict[str, Any]:
    """A complete, valid state: defaults for anything missing or unusable.

    ``specialties`` / ``areas``, when given, are the names this app knows; an unknown name falls
    back to the default (or the first known name).
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
        except (TypeError, ValueError):
            continue
        if key == "specialty" and specialties and parsed not in (ALL, *specialties):
            continue
        if key == "area" and areas and parsed not in areas:
            continue
        out[key] = parsed
    if out["year"] and not YEAR_MIN <= out["year"] <= out["horizon"]:
        out["year"] = 0
    return out


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


def query_to_state(search: str | None, *, specialties: list[str] | None = None,
                   areas: list[str] | None = None) -> dict[str, Any]:
    """The state a query string describes (defaults for whatever it leaves out)."""
    raw = dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=False))
    values = {_FROM_QUERY[k]: v for k, v in raw.items() if k in _FROM_QUERY}
    return clean_state(values, specialties=specialties, areas=areas)


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
