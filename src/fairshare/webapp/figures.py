"""Figures as plain plotly dicts: maps drawn from the bundled boundaries, plan and interval charts.

The map is England's areas drawn as filled polygons (``scatter`` traces, ``fill="toself"``) on
equal-aspect axes, straight from the simplified GeoJSON shipped in ``fairshare/data``: no tile
server, no map projection library and no world topojson, so the app never fetches anything from
outside. Each area is one trace, which makes hover-anywhere-in-the-area work (``hoveron="fills"``
shows the trace's ``text``) and lets a test count the areas drawn.

Colours are colour-blind safe throughout: ColorBrewer PuOr in seven fixed classes for the gap
as % of target (``GAP_CLASSES``; orange: above target, gives posts; purple: below target,
receives), BrBG for differences between two views, and the Okabe-Ito palette for lines and
bars. Figures are returned as dicts (no plotly
validation on the hot path: building the ICB map this way costs about a millisecond).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from plotly.colors import sample_colorscale

from fairshare.inputs.bundle import data_file

#: ColorBrewer BrBG (7 classes), brown (lower here than in the reference) to teal (higher).
CHANGE_SCALE = [[0.0, "#8c510a"], [1 / 6, "#d8b365"], [2 / 6, "#f6e8c3"], [0.5, "#f5f5f5"],
                [4 / 6, "#c7eae5"], [5 / 6, "#5ab4ac"], [1.0, "#01665e"]]
NO_DATA = "#d9d9d9"
#: Okabe-Ito colours.
BLUE, ORANGE, VERMILLION, BLACK, SKY, GREEN = ("#0072B2", "#E69F00", "#D55E00", "#000000",
                                               "#56B4E9", "#009E73")

LEVEL_FILES = {"icb": "icb_boundaries.geojson", "local_office": "local_office_boundaries.geojson",
               "region": "region_boundaries.geojson"}
LEVEL_NAMES = {"icb": "ICB", "local_office": "local office", "region": "NHS region"}
LEVEL_PLURALS = {"icb": "ICBs", "local_office": "local offices", "region": "NHS regions"}
#: At ~52.5°N a degree of longitude is cos(52.5°) of a degree of latitude.
ASPECT = 1 / math.cos(math.radians(52.5))
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", "size": 14}


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------

_SHAPES_LOCK = threading.Lock()


def shapes(level: str) -> tuple[dict[str, Any], ...]:
    """Each area's outline (parsed once per process: the cache is locked, so a burst of
    requests on a fresh server waits for one parse instead of each parsing the boundaries)."""
    with _SHAPES_LOCK:
        return _shapes(level)


def warm() -> None:
    """Parse every level's boundaries now (the server calls this before its first request)."""
    for level in LEVEL_FILES:
        shapes(level)


@cache
def _shapes(level: str) -> tuple[dict[str, Any], ...]:
    """Each area's outline as x/y lists (rings separated by None), largest first.

    Keys: code (the targets table's ``area_code``), name, x, y, label_x, label_y. Largest first
    so that a small area is drawn (and hovered) on top of any larger one around it.
    """
    if level not in LEVEL_FILES:
        raise ValueError(f"no boundaries for level {level!r}")
    gj = json.loads(data_file(LEVEL_FILES[level]).read_text(encoding="utf-8"))
    out = []
    for feature in gj["features"]:
        props, geom = feature["properties"], feature["geometry"]
        if level == "icb":
            code, name = props["ICB23CD"], props["ICB23NM"]
        elif level == "local_office":
            code, name = props["lo_code"], props["local_office"]
        else:
            code, name = props["NHSER22CD"], props["NHSER22NM"]
        polygons = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        xs: list[float | None] = []
        ys: list[float | None] = []
        best, best_area = None, -1.0
        total = 0.0
        for polygon in polygons:
            ring = np.asarray(polygon[0], dtype=float)  # exterior ring (the data has no holes)
            if xs:
                xs.append(None)
                ys.append(None)
            xs.extend(ring[:, 0].round(4).tolist())
            ys.extend(ring[:, 1].round(4).tolist())
            a = _ring_area(ring)
            total += a
            if a > best_area:
                best, best_area = ring, a
        assert best is not None
        lx, ly = _label_point(best) if level != "icb" else (None, None)  # no ICB labels
        out.append({"code": code, "name": name, "x": xs, "y": ys, "label_x": lx, "label_y": ly,
                    "area": total})
    out.sort(key=lambda s: -s["area"])
    return tuple(out)


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def _label_point(ring: np.ndarray, grid: int = 40) -> tuple[float, float]:
    """A point well inside the polygon for its label (an approximate pole of inaccessibility).

    The centroid of a crescent (South East around London) lies outside it, so instead: the point
    of a grid over the polygon, inside it, furthest from its outline (distances in km-like units,
    longitude scaled by cos 52.5°).
    """
    x, y = ring[:, 0], ring[:, 1]
    gx, gy = np.meshgrid(np.linspace(x.min(), x.max(), grid), np.linspace(y.min(), y.max(), grid))
    px, py = gx.ravel(), gy.ravel()
    inside = np.zeros(px.size, dtype=bool)
    x0, y0, x1, y1 = x, y, np.roll(x, -1), np.roll(y, -1)
    for a, b, c, d in zip(x0, y0, x1, y1, strict=True):  # ray casting, one edge at a time
        crosses = ((b > py) != (d > py)) & (px < (c - a) * (py - b) / ((d - b) or 1e-12) + a)
        inside ^= crosses
    if not inside.any():
        return round(float(x.mean()), 4), round(float(y.mean()), 4)
    px, py = px[inside], py[inside]
    scale = 1 / ASPECT
    dist = np.min(((px[:, None] - x[None, :]) * scale) ** 2 + (py[:, None] - y[None, :]) ** 2,
                  axis=1)
    best = int(np.argmax(dist))
    return round(float(px[best]), 4), round(float(py[best]), 4)


# --------------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------------

def _nice_range(values: np.ndarray, step: float, floor: float) -> float:
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return max(floor, math.ceil(top / step - 1e-9) * step)


def _colours(values: np.ndarray, scale: list[list[Any]], rng: float) -> list[str]:
    out = []
    for v in values:
        if not np.isfinite(v):
            out.append(NO_DATA)
            continue
        pos = min(max((v + rng) / (2 * rng), 0.0), 1.0)
        out.append(sample_colorscale(scale, [pos], colortype="rgb")[0])
    return out


#: The main map's share of the panel's width; the London inset takes the rest.
MAIN_DOMAIN, INSET_DOMAIN = [0.0, 0.66], [0.68, 1.0]

#: Classes of the gap as % of target (a judgement, fixed so that one outlier never washes every
#: other area out, as public-health map tools such as OHID's Fingertips class their maps):
#: (upper bound, colour, label), ColorBrewer PuOr 7, orange gives (−), purple receives (+).
#: Each class runs from the bound before it (included) to its own (excluded), so −5% is
#: "−5% to +5%" and +5% is "+5% to +20%". The middle class is the equity table's "within ±5%".
GAP_CLASSES: list[tuple[float, str, str]] = [
    (-0.5, "rgb(179, 88, 6)", "under −50%"),
    (-0.2, "rgb(241, 163, 64)", "−50 to −20%"),
    (-0.05, "rgb(254, 224, 182)", "−20 to −5%"),
    (0.05, "rgb(247, 247, 247)", "−5 to +5%: at target"),
    (0.2, "rgb(216, 218, 235)", "+5 to +20%"),
    (0.5, "rgb(153, 142, 195)", "+20 to +50%"),
    (math.inf, "rgb(84, 39, 136)", "+50% or more"),
]


def gap_class(gap_pct: float) -> int | None:
    """The index in ``GAP_CLASSES`` of a gap as a share of target (None: no figure)."""
    if not np.isfinite(gap_pct):
        return None
    return next(k for k, (top, _, _) in enumerate(GAP_CLASSES) if gap_pct < top)
INSET_TITLE = "London, enlarged"


def _bbox(shape: dict[str, Any]) -> tuple[float, float, float, float]:
    xs = [x for x in shape["x"] if x is not None]
    ys = [y for y in shape["y"] if y is not None]
    return min(xs), max(xs), min(ys), max(ys)


def inset_box() -> tuple[float, float, float, float]:
    """London's bounding box with a margin: the inset's window (the same at every level)."""
    london = next(s for s in shapes("local_office") if s["code"] == "LDN")
    x0, x1, y0, y1 = _bbox(london)
    mx, my = 0.12 * (x1 - x0), 0.12 * (y1 - y0)
    return x0 - mx, x1 + mx, y0 - my, y1 + my


def inset_codes(level: str) -> list[str]:
    """The areas drawn again in the London inset: every area whose box meets the inset's."""
    bx0, bx1, by0, by1 = inset_box()
    out = []
    for s in shapes(level):
        x0, x1, y0, y1 = _bbox(s)
        if x0 <= bx1 and x1 >= bx0 and y0 <= by1 and y1 >= by0:
            out.append(s["code"])
    return out


def trace_codes(level: str) -> list[str | None]:
    """The area code of each trace of a map, in order (None: labels, legend), so a click's
    ``curveNumber`` names the area clicked, in the main map or the inset."""
    main = [s["code"] for s in shapes(level)]
    labels: list[str | None] = [None] if level != "icb" else []
    return [*main, *labels, *inset_codes(level), None, None]


def _map_layout(title: str, level: str, classed: bool = False) -> dict[str, Any]:
    """The map and its London inset side by side; the height follows the page (CSS).

    ``classed``: the legend lists colour classes under the inset (no colour bar below the
    map, so England takes the panel's whole height); otherwise a colour bar runs under it.
    """
    x0, x1, y0, y1 = inset_box()
    hidden = {"visible": False, "fixedrange": True}
    inset_y = [0.5, 0.95] if classed else [0.08, 0.92]
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top",
                  "font": {"size": 17}},
        "font": FONT,
        "autosize": True,
        "margin": {"l": 4, "r": 4, "t": 40 if classed else 70, "b": 4 if classed else 96},
        "xaxis": {**hidden, "domain": MAIN_DOMAIN, "constrain": "domain"},
        "yaxis": {**hidden, "scaleanchor": "x", "scaleratio": ASPECT, "constrain": "domain"},
        "xaxis2": {**hidden, "domain": INSET_DOMAIN, "range": [x0, x1], "anchor": "y2",
                   "constrain": "domain"},
        "yaxis2": {**hidden, "domain": inset_y, "range": [y0, y1], "anchor": "x2",
                   "scaleanchor": "x2", "scaleratio": ASPECT, "constrain": "domain"},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "showlegend": classed,
        "legend": {"x": INSET_DOMAIN[0], "xanchor": "left", "y": 0.45, "yanchor": "top",
                   "itemclick": False, "itemdoubleclick": False, "font": {"size": 12},
                   "bgcolor": "rgba(255, 255, 255, 0.9)", "tracegroupgap": 2},
        "hovermode": "closest",
        "hoverlabel": {"bgcolor": "#ffffff", "font": {"size": 14, "color": "#212b32"},
                       "align": "left"},
        "dragmode": False,
        "uirevision": level,
        "shapes": [{"type": "rect", "xref": "x", "yref": "y", "x0": x0, "x1": x1, "y0": y0,
                    "y1": y1, "line": {"color": "#212b32", "width": 1.5, "dash": "dot"}},
                   {"type": "rect", "xref": "x2 domain", "yref": "y2 domain", "x0": 0,
                    "x1": 1, "y0": 0, "y1": 1, "line": {"color": "#212b32", "width": 1.5}}],
        "meta": {"level": level},
    }


def _colourbar_trace(scale: list[list[Any]], rng: float, title: str,
                     ticks: list[tuple[float, str]]) -> dict[str, Any]:
    """An invisible trace whose only job is to draw the legend (a colour bar under the map)."""
    return {
        "type": "scatter", "x": [None], "y": [None], "mode": "markers", "hoverinfo": "skip",
        "name": "legend", "showlegend": False,
        "marker": {"color": [0], "colorscale": scale, "cmin": -rng, "cmax": rng,
                   "showscale": True,
                   "colorbar": {"title": {"text": title, "side": "bottom"},
                                "orientation": "h", "x": 0.0, "xanchor": "left",
                                "y": -0.02, "yanchor": "top", "len": 0.64,
                                "tickvals": [t for t, _ in ticks],
                                "ticktext": [label for _, label in ticks],
                                "thickness": 14, "outlinewidth": 0}},
    }


def _area_traces(level: str, values: dict[str, float], texts: dict[str, str],
                 colour_of: Callable[[np.ndarray], list[str]], selected: str | None,
                 codes: list[str] | None = None, axes: str = "") -> list[dict[str, Any]]:
    geo = [s for s in shapes(level) if codes is None or s["code"] in codes]
    vals = np.array([values.get(s["code"], np.nan) for s in geo], dtype=float)
    colours = colour_of(vals)
    traces = []
    for s, colour in zip(geo, colours, strict=True):
        chosen = selected is not None and selected in (s["code"], s["name"])
        trace = {
            "type": "scatter", "x": s["x"], "y": s["y"], "mode": "lines", "fill": "toself",
            "fillcolor": colour, "name": s["name"], "hoveron": "fills", "hoverinfo": "text",
            "text": texts.get(s["code"], f"<b>{s['name']}</b><br>no figures"),
            "line": {"color": "#212b32" if chosen else "#4c6272", "width": 3 if chosen else 0.7},
            "meta": {"area_code": s["code"], "role": "inset" if axes else "area"},
            "showlegend": False,
        }
        if axes:
            trace.update({"xaxis": "x2", "yaxis": "y2"})
        traces.append(trace)
    return traces


def _ink(fill: str) -> str:
    """Black or white text, whichever reads better on ``fill`` ("rgb(r, g, b)" or "#rrggbb")."""
    if fill.startswith("#"):
        r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(float(v)) for v in fill[fill.index("(") + 1:-1].split(","))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#212b32" if luminance > 110 else "#ffffff"


#: Where a label sits when the point furthest inside its area crowds a neighbour's label (the
#: South: South West's widest point is near Bristol, beside Wessex and Thames Valley): a point
#: well inside the same area (lon, lat), or just off its own coast, so that no two labels
#: overlap at 1024 px or at 200% zoom (checked in the browser by a test).
LABEL_AT: dict[str, tuple[float, float]] = {
    "SW": (-3.55, 50.78),      # mid Devon
    "TV": (-1.05, 51.86),      # north Oxfordshire / Buckinghamshire
    "WX": (-1.45, 50.42),      # the Channel, off the Isle of Wight
    "KSS": (0.95, 50.62),      # the Channel, off Hastings
    "EOE": (0.62, 52.45),      # Breckland, Norfolk / Suffolk
    "E40000006": (-3.5, 50.85),  # South West region: Devon
}


def label_point(shape: dict[str, Any]) -> tuple[float, float]:
    """Where an area's label is drawn (``LABEL_AT``, else its furthest-inside point)."""
    return LABEL_AT.get(shape["code"], (shape["label_x"], shape["label_y"]))


def _label_trace(level: str, labels: dict[str, str], traces: list[dict[str, Any]],
                 codes: list[str] | None = None, axes: str = "") -> dict[str, Any] | None:
    """Area labels: not London in the main map (it is too small there; the inset labels it)."""
    if level == "icb":
        return None  # 42 labels would hide the map; hover names each ICB
    fills = {t["meta"]["area_code"]: t["fillcolor"] for t in traces}
    geo = [s for s in shapes(level) if (s["code"] in codes if codes is not None
                                        else s["code"] not in ("LDN", "E40000003"))]
    trace = {"type": "scatter", "mode": "text", "hoverinfo": "skip", "showlegend": False,
             "x": [label_point(s)[0] for s in geo], "y": [label_point(s)[1] for s in geo],
             "text": [labels.get(s["code"], "") for s in geo],
             "textfont": {"size": 12, "color": [_ink(fills.get(s["code"], NO_DATA))
                                                for s in geo]},
             "cliponaxis": False, "meta": {"role": "labels"}}
    if axes:
        trace.update({"xaxis": "x2", "yaxis": "y2"})
    return trace


def _pct(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    x = round(100 * x, 1)
    return "0%" if x == 0 else f"{x:+.1f}%".replace("-", "−")


def _pct0(x: float) -> str:
    """A map label's percentage, in whole per cent (the table and hover give one decimal)."""
    if not np.isfinite(x):
        return "–"
    x = round(100 * x)
    return "0%" if x == 0 else f"{x:+d}%".replace("-", "−")


def _signed(x: float) -> str:
    return "0" if int(x) == 0 else f"{int(x):+,}".replace("-", "−")


def side(gap: float) -> str:
    """What a gap (target − current) means for an area."""
    if gap > 0:
        return "receives"
    if gap < 0:
        return "gives"
    return "at target"


def _map(level: str, title: str, values: dict[str, float], texts: dict[str, str],
         labels: dict[str, str], colour: Callable[[np.ndarray], list[str]],
         legend: list[dict[str, Any]], key: str | None, selected: str | None,
         meta: dict[str, Any]) -> dict[str, Any]:
    """The main map, its labels, the London inset (areas and London's label) and the legend
    (a colour bar under the map, or classes listed under the inset)."""
    traces = _area_traces(level, values, texts, colour, selected)
    label = _label_trace(level, labels, traces)
    near = inset_codes(level)
    inset = _area_traces(level, values, texts, colour, selected, near, axes="2")
    london = [c for c in near if c in ("LDN", "E40000003")] if level != "icb" else []
    inset_label = _label_trace(level, labels, inset, london, axes="2") or \
        {"type": "scatter", "x": [None], "y": [None], "mode": "text", "hoverinfo": "skip",
         "showlegend": False, "xaxis": "x2", "yaxis": "y2", "meta": {"role": "labels"}}
    data = [*traces, *([label] if label else []), *inset, inset_label, *legend]
    classed = any(t.get("showlegend") for t in legend)
    layout = _map_layout(title, level, classed)
    layout["annotations"] = [
        {"text": f"<b>{INSET_TITLE}</b>", "xref": "x2 domain",
         "yref": "y2 domain", "x": 0.0, "y": 1.0, "xanchor": "left", "yanchor": "bottom",
         "showarrow": False, "font": {"size": 13}}]
    if key:
        layout["annotations"].insert(0, {
            "text": key, "xref": "paper", "yref": "paper", "x": 0.0, "y": 1.0,
            "yanchor": "bottom", "xanchor": "left", "showarrow": False, "font": {"size": 13}})
    layout["meta"] = {"level": level, "shapes": len(traces), "inset": len(inset), **meta}
    return {"data": data, "layout": layout}


def _class_legend(values: dict[str, float], title: str) -> list[dict[str, Any]]:
    """One legend entry per class (a square of its colour, its range in words and how many
    areas are in it), listed under the London inset; clicking it hides nothing."""
    counts = [0] * len(GAP_CLASSES)
    missing = 0
    for v in values.values():
        k = gap_class(v)
        if k is None:
            missing += 1
        else:
            counts[k] += 1
    entries = [(colour, f"{label} ({n})")
               for (_, colour, label), n in zip(GAP_CLASSES, counts, strict=True)]
    if missing:
        entries.append((NO_DATA, f"no figures ({missing})"))
    return _legend_entries(list(reversed(entries)), title)


def _classed(vals: np.ndarray) -> list[str]:
    out = []
    for v in vals:
        k = gap_class(float(v))
        out.append(NO_DATA if k is None else GAP_CLASSES[k][1])
    return out


def gap_map(rows: pd.DataFrame, level: str, title: str,
            selected: str | None = None) -> dict[str, Any]:
    """Areas coloured by the class of their gap as % of target (``GAP_CLASSES``): + (purple)
    receives, − (orange) gives; a legend lists the classes and how many areas each holds.

    ``rows``: one row per area with area_code, area, current, fair_share, target, gap, gap_pct.
    """
    values, texts, labels = {}, {}, {}
    estimated = ("current_basis" in rows.columns
                 and str(rows["current_basis"].iloc[0]).startswith("estimated"))
    modelled = rows["current_note"].astype(str).str.contains("modelled") \
        if "current_note" in rows.columns else pd.Series(False, index=rows.index)
    for r, model in zip(rows.itertuples(index=False), modelled, strict=True):
        d = float(r.gap_pct) if pd.notna(r.gap_pct) else float("nan")
        values[r.area_code] = d
        note = " (estimated)" if estimated else ""
        if model:
            note += " (includes modelled posts)" if "includes" in str(r.current_note) \
                else " (modelled)"
        lines = [f"<b>{r.area}</b> ({r.area_code})",
                 f"Current: {int(r.current):,} posts{note}",
                 f"Fair share: {float(r.fair_share):,.1f} posts",
                 f"Target: {int(r.target):,} posts",
                 f"Gap: {_signed(r.gap)} posts ({_pct(d)} of target): {side(r.gap)}"]
        texts[r.area_code] = "<br>".join(lines)
        labels[r.area_code] = f"{_short(r.area, level, r.area_code)} {_pct0(d)}"
    legend = _class_legend(values, f"<b>Gap, % of target</b><br>+ receives, − gives<br>"
                                   f"(number of {LEVEL_PLURALS[level]})")
    return _map(level, title, values, texts, labels, _classed, legend, None, selected,
                {"classes": [label for _, _, label in GAP_CLASSES]})


#: Colours of the scarcity designation (``model.scarcity``): ColorBrewer BrBG's ends and a
#: light middle (colour-blind safe, and not the gap map's orange/purple, so the two maps are
#: never read for each other); (designation, colour, legend label). Map labels are drawn in
#: black or white by ``_ink``, which a test holds to WCAG's 4.5:1 on every colour here.
NO_DESIGNATION = "no designation"
SCARCITY_CLASSES: list[tuple[str, str, str]] = [
    ("scarce", "#8c510a", "scarce (lowest third)"),
    ("middle", "#f6e8c3", "middle third"),
    ("well provided", "#01665e", "well provided (highest third)"),
    ("too few to designate", "#ffffff", "too few consultants to designate"),
    (NO_DESIGNATION, NO_DATA, "no designation"),
]
_SCARCITY_COLOUR = {d: c for d, c, _ in SCARCITY_CLASSES}


def _legend_entries(entries: list[tuple[str, str]], title: str) -> list[dict[str, Any]]:
    """Legend traces for (colour, name) classes, listed top to bottom in the order given."""
    out = []
    for k, (colour, name) in enumerate(entries):
        out.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                    "name": name, "showlegend": True, "hoverinfo": "skip",
                    "legendgroup": "classes", "legendrank": k,
                    "legendgrouptitle": {"text": title} if k == 0 else None,
                    "marker": {"symbol": "square", "size": 14, "color": colour,
                               "line": {"color": "#4c6272", "width": 1}},
                    "meta": {"role": "legend"}})
    return out


def scarcity_map(rows: pd.DataFrame, level: str, title: str,
                 selected: str | None = None) -> dict[str, Any]:
    """Areas coloured by their scarcity designation for one specialty (``model.scarcity``):
    consultants per need-weighted population ranked into thirds; a legend counts the areas of
    each class. ``rows``: the scarcity table's rows of one level and specialty (area_code,
    area, consultants, consultants_expected, scarcity_index, designation); an area drawn but
    not in ``rows`` has no designation."""
    codes = [s["code"] for s in shapes(level)]
    found = {r.area_code: r for r in rows.itertuples(index=False)}
    designation = {c: str(found[c].designation) if c in found else NO_DESIGNATION
                   for c in codes}
    texts, labels = {}, {}
    for code, r in found.items():
        index = float(r.scarcity_index)
        shown = f"{index:.2f}" if np.isfinite(index) else "–"
        texts[code] = "<br>".join([
            f"<b>{r.area}</b> ({code})",
            f"Consultants: {float(r.consultants):,.1f} FTE (Sept 2017)",
            f"At England's rate for its need: {float(r.consultants_expected):,.1f} FTE",
            f"Scarcity index: {shown} (1 = England's rate)",
            f"Designation: {r.designation}"])
        labels[code] = f"{_short(str(r.area), level, code)} {shown}"
    order = {d: k for k, (d, _, _) in enumerate(SCARCITY_CLASSES)}
    values = {c: float(order[d]) for c, d in designation.items()}
    counts = [sum(d == name for d in designation.values()) for name, _, _ in SCARCITY_CLASSES]
    # the three designations always (a count of 0 says something), the rest when there are any
    entries = [(colour, f"{label} ({n})") for k, ((_, colour, label), n)
               in enumerate(zip(SCARCITY_CLASSES, counts, strict=True)) if n or k < 3]
    legend = _legend_entries(entries, f"<b>Consultants per need</b><br>thirds of "
                                      f"{LEVEL_PLURALS[level]} (number)")

    def colour(vals: np.ndarray) -> list[str]:
        return [SCARCITY_CLASSES[int(v)][1] if np.isfinite(v) else NO_DATA for v in vals]

    return _map(level, title, values, texts, labels, colour, legend, None, selected,
                {"classes": [d for d, _, _ in SCARCITY_CLASSES], "colour_by": "scarcity",
                 "designations": designation})


def change_map(rows: pd.DataFrame, level: str, title: str, this: str,
               reference: str) -> dict[str, Any]:
    """Areas coloured by the change in target, ``this`` − ``reference`` (whole posts).

    ``rows``: area_code, area, target_previous (the reference's), target_current, target_change.
    """
    change = rows["target_change"].to_numpy(float)
    rng = _nice_range(change, 1.0, 1.0)
    values, texts, labels = {}, {}, {}
    for r in rows.itertuples(index=False):
        values[r.area_code] = float(r.target_change)
        texts[r.area_code] = "<br>".join([
            f"<b>{r.area}</b> ({r.area_code})",
            f"Target {this}: {int(r.target_current):,} posts",
            f"Target {reference}: {int(r.target_previous):,} posts",
            f"Change {this} − {reference}: {_signed(r.target_change)} posts"])
        labels[r.area_code] = f"{_short(r.area, level, r.area_code)} {_signed(r.target_change)}"
    ticks = [(-rng, f"{_signed(-rng)} lower in {this}"), (0.0, "no change"),
             (rng, f"{_signed(rng)} higher in {this}")]
    key = (f"<span style='color:#01665e'>■</span> teal: higher target in {this}"
           f"    <span style='color:#8c510a'>■</span> brown: lower in {this} than in {reference}")
    bar = _colourbar_trace(CHANGE_SCALE, rng, f"Change in target, {this} − {reference} (posts)",
                           ticks)
    return _map(level, title, values, texts, labels,
                lambda vals: _colours(vals, CHANGE_SCALE, rng), [bar], key, None,
                {"range": rng})


_REGION_SHORT = {"North East and Yorkshire": "NE & Yorks", "East of England": "East",
                 "South East": "South East", "South West": "South West", "North West":
                 "North West", "Midlands": "Midlands", "London": "London"}


def _short(name: str, level: str, code: str) -> str:
    if level == "local_office":
        return code
    if level == "region":
        return _REGION_SHORT.get(name, name)
    return name


def empty_figure(message: str, height: int = 420) -> dict[str, Any]:
    """A blank figure carrying a message (used when there is nothing to draw)."""
    return {"data": [], "layout": {
        "height": height, "font": FONT, "xaxis": {"visible": False},
        "yaxis": {"visible": False}, "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff",
        "annotations": [{"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "showarrow": False, "font": {"size": 16}}]}}


# --------------------------------------------------------------------------------------------
# Plan and intervals
# --------------------------------------------------------------------------------------------

def _title(text: str) -> dict[str, Any]:
    """A chart title pinned to the top of the figure, clear of the plot and its axes."""
    return {"text": text, "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top",
            "yref": "container", "font": {"size": 17}}


def plan_chart(by_year: pd.DataFrame, title: str) -> dict[str, Any]:
    """One area's plan over the years: moves as bars, net and remaining gap as lines.

    ``by_year``: year, redistribution, expansion, net, remaining_gap (summed over specialties).
    """
    years = [int(y) for y in by_year["year"]]
    data = [
        {"type": "bar", "name": "Redistribution (+ received, − given)", "x": years,
         "y": by_year["redistribution"].astype(int).tolist(), "marker": {"color": BLUE},
         "hovertemplate": "%{x}: %{y:+d} posts redistributed<extra></extra>"},
        {"type": "bar", "name": "Time-limited expansion", "x": years,
         "y": by_year["expansion"].astype(int).tolist(), "marker": {"color": ORANGE},
         "hovertemplate": "%{x}: %{y:+d} expansion posts<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Net change", "x": years,
         "y": by_year["net"].astype(int).tolist(), "line": {"color": BLACK, "width": 2},
         "marker": {"symbol": "diamond", "size": 8},
         "hovertemplate": "%{x}: net %{y:+d}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Remaining gap (target − posts)",
         "x": years, "y": by_year["remaining_gap"].astype(int).tolist(),
         "line": {"color": VERMILLION, "width": 3, "dash": "dash"},
         "marker": {"symbol": "circle-open", "size": 9},
         "hovertemplate": "%{x}: %{y:+d} still to close<extra></extra>"},
    ]
    return {"data": data, "layout": {
        "title": _title(title),
        "font": FONT, "height": 460, "barmode": "relative",
        "margin": {"l": 60, "r": 20, "t": 80, "b": 100},
        "xaxis": {"title": {"text": "Recruitment year"}, "dtick": 1},
        "yaxis": {"title": {"text": "Posts"}, "zeroline": True, "zerolinecolor": "#444",
                  "zerolinewidth": 1},
        "legend": {"orientation": "h", "y": -0.28, "x": 0},
        "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff", "hovermode": "x unified"}}


def interval_chart(rows: pd.DataFrame, title: str) -> dict[str, Any]:
    """Per area: the 5-95% interval of the whole target, the scenario's target and today's posts.

    ``rows``: area, current, target, target_p5, target_p50, target_p95.
    """
    rows = rows.sort_values("target", ascending=True)
    areas = rows["area"].tolist()
    lo, hi = rows["target_p5"].to_numpy(float), rows["target_p95"].to_numpy(float)
    mid = rows["target"].to_numpy(float)
    data = [
        {"type": "scatter", "mode": "markers", "name": "Target (this view), 5–95% interval",
         "x": mid.tolist(), "y": areas, "marker": {"color": BLUE, "size": 11},
         "error_x": {"type": "data", "symmetric": False, "array": (hi - mid).tolist(),
                     "arrayminus": (mid - lo).tolist(), "color": BLUE, "thickness": 3,
                     "width": 6},
         "hovertemplate": "%{y}: target %{x}<extra></extra>"},
        {"type": "scatter", "mode": "markers", "name": "Current posts", "x":
         rows["current"].tolist(), "y": areas,
         "marker": {"color": VERMILLION, "symbol": "x", "size": 11},
         "hovertemplate": "%{y}: current %{x}<extra></extra>"},
    ]
    return {"data": data, "layout": {
        "title": _title(title),
        "font": FONT, "height": max(360, 34 * len(areas) + 140),
        "margin": {"l": 190, "r": 20, "t": 60, "b": 60},
        "xaxis": {"title": {"text": "Whole posts"}}, "yaxis": {"automargin": True},
        "legend": {"orientation": "h", "y": -0.15, "x": 0},
        "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff"}}


def equity_chart(rows: pd.DataFrame, title: str) -> dict[str, Any]:
    """Gini and coefficient of variation (left axis) and areas within ±5% of target (right).

    ``rows``: stage ("before", "plan", "after"), year, gini, cv, share_within_5pct; the "before"
    row is drawn first, labelled "Before".
    """
    labels = ["Before" if st == "before" else str(int(y))
              for st, y in zip(rows["stage"], rows["year"], strict=True)]
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": "Gini (posts per need)",
         "x": labels, "y": rows["gini"].round(4).tolist(), "line": {"color": BLUE, "width": 3},
         "hovertemplate": "%{x}: Gini %{y:.3f}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Coefficient of variation",
         "x": labels, "y": rows["cv"].round(4).tolist(),
         "line": {"color": VERMILLION, "width": 3, "dash": "dash"},
         "hovertemplate": "%{x}: CV %{y:.3f}<extra></extra>"},
        {"type": "bar", "name": "Areas within ±5% of target", "x": labels,
         "y": rows["share_within_5pct"].round(4).tolist(), "yaxis": "y2",
         "marker": {"color": SKY, "opacity": 0.45},
         "hovertemplate": "%{x}: %{y:.0%} of areas within ±5%<extra></extra>"},
    ]
    return {"data": data, "layout": {
        "title": _title(title),
        "font": FONT, "height": 460, "margin": {"l": 60, "r": 70, "t": 80, "b": 100},
        "xaxis": {"title": {"text": "Before the plan, then after each year's moves"},
                  "type": "category"},
        "yaxis": {"title": {"text": "Gini / CV (0 = posts exactly follow need)"},
                  "rangemode": "tozero"},
        "yaxis2": {"title": {"text": "Areas within ±5% of target"}, "overlaying": "y",
                   "side": "right", "range": [0, 1], "tickformat": ".0%", "showgrid": False,
                   "tickmode": "array", "tickvals": [0, 0.25, 0.5, 0.75, 1]},
        "legend": {"orientation": "h", "y": -0.3, "x": 0},
        "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff"}}
