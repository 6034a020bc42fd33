"""Figures as plain plotly dicts: maps drawn from the bundled boundaries, plan and interval charts.

The map is England's areas drawn as filled polygons (``scatter`` traces, ``fill="toself"``) on
equal-aspect axes, straight from the simplified GeoJSON shipped in ``fairshare/data``: no tile
server, no map projection library and no world topojson, so the app never fetches anything from
outside. Each area is one trace, which makes hover-anywhere-in-the-area work (``hoveron="fills"``
shows the trace's ``text``) and lets a test count the areas drawn.

Colours are colour-blind safe throughout: ColorBrewer PuOr for distance from target (orange:
above target, gives posts; purple: below target, receives), BrBG for differences between two
views, and the Okabe-Ito palette for lines and bars. Figures are returned as dicts (no plotly
validation on the hot path: building the ICB map this way costs about a millisecond).
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from plotly.colors import sample_colorscale

from fairshare.inputs.bundle import data_file

#: ColorBrewer PuOr (7 classes), purple (below target: receives) to orange (above: gives).
DISTANCE_SCALE = [[0.0, "#542788"], [1 / 6, "#998ec3"], [2 / 6, "#d8daeb"], [0.5, "#f7f7f7"],
                  [4 / 6, "#fee0b6"], [5 / 6, "#f1a340"], [1.0, "#b35806"]]
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

@cache
def shapes(level: str) -> tuple[dict[str, Any], ...]:
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


def _map_layout(title: str, level: str) -> dict[str, Any]:
    """The map's layout; its height follows the page (the graph's CSS), so it fits a laptop
    screen and fills a projector."""
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
        "font": FONT,
        "autosize": True,
        "margin": {"l": 4, "r": 4, "t": 78, "b": 4},
        "xaxis": {"visible": False, "fixedrange": False},
        "yaxis": {"visible": False, "scaleanchor": "x", "scaleratio": ASPECT},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "showlegend": False,
        "hovermode": "closest",
        "hoverlabel": {"bgcolor": "#ffffff", "font": {"size": 14, "color": "#111"},
                       "align": "left"},
        "dragmode": "pan",
        "uirevision": level,
        "meta": {"level": level},
    }


def _colourbar_trace(scale: list[list[Any]], rng: float, title: str,
                     ticks: list[tuple[float, str]]) -> dict[str, Any]:
    """An invisible trace whose only job is to draw the legend (colour bar)."""
    return {
        "type": "scatter", "x": [None], "y": [None], "mode": "markers", "hoverinfo": "skip",
        "name": "legend", "showlegend": False,
        "marker": {"color": [0], "colorscale": scale, "cmin": -rng, "cmax": rng,
                   "showscale": True,
                   "colorbar": {"title": {"text": title, "side": "right"},
                                "tickvals": [t for t, _ in ticks],
                                "ticktext": [label for _, label in ticks],
                                "thickness": 16, "len": 0.85, "outlinewidth": 0,
                                "x": 1.0, "xanchor": "left"}},
    }


def _area_traces(level: str, values: dict[str, float], texts: dict[str, str],
                 scale: list[list[Any]], rng: float, selected: str | None) -> list[dict[str, Any]]:
    geo = shapes(level)
    vals = np.array([values.get(s["code"], np.nan) for s in geo], dtype=float)
    colours = _colours(vals, scale, rng)
    traces = []
    for s, colour in zip(geo, colours, strict=True):
        chosen = selected is not None and selected in (s["code"], s["name"])
        traces.append({
            "type": "scatter", "x": s["x"], "y": s["y"], "mode": "lines", "fill": "toself",
            "fillcolor": colour, "name": s["name"], "hoveron": "fills", "hoverinfo": "text",
            "text": texts.get(s["code"], f"<b>{s['name']}</b><br>no figures"),
            "line": {"color": "#111111" if chosen else "#555555", "width": 3 if chosen else 0.7},
            "meta": {"area_code": s["code"], "role": "area"},
            "showlegend": False,
        })
    return traces


def _ink(fill: str) -> str:
    """Black or white text, whichever reads better on ``fill`` ("rgb(r, g, b)" or "#rrggbb")."""
    if fill.startswith("#"):
        r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(float(v)) for v in fill[fill.index("(") + 1:-1].split(","))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#111111" if luminance > 110 else "#ffffff"


def _label_trace(level: str, labels: dict[str, str],
                 traces: list[dict[str, Any]]) -> dict[str, Any] | None:
    if level == "icb":
        return None  # 42 labels would hide the map; hover names each ICB
    geo = shapes(level)
    return {"type": "scatter", "mode": "text", "hoverinfo": "skip", "showlegend": False,
            "x": [s["label_x"] for s in geo], "y": [s["label_y"] for s in geo],
            "text": [labels.get(s["code"], "") for s in geo],
            "textfont": {"size": 12, "color": [_ink(t["fillcolor"]) for t in traces]},
            "meta": {"role": "labels"}}


def _pct(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:+.1%}".replace("-", "−")


def _signed(x: float) -> str:
    return "0" if int(x) == 0 else f"{int(x):+,}".replace("-", "−")


def side(gap: float) -> str:
    """What a gap (target − current) means for an area."""
    if gap > 0:
        return "receives"
    if gap < 0:
        return "gives"
    return "at target"


def distance_map(rows: pd.DataFrame, level: str, title: str,
                 selected: str | None = None) -> dict[str, Any]:
    """Areas coloured by distance from target, (current − target) / target.

    ``rows``: one row per area with area_code, area, current, fair_share, target, gap, distance.
    """
    rng = _nice_range(rows["distance"].to_numpy(float), 0.05, 0.05)
    values, texts, labels = {}, {}, {}
    estimated = ("current_basis" in rows.columns
                 and str(rows["current_basis"].iloc[0]).startswith("estimated"))
    for r in rows.itertuples(index=False):
        d = float(r.distance) if pd.notna(r.distance) else float("nan")
        values[r.area_code] = d
        lines = [f"<b>{r.area}</b> ({r.area_code})",
                 f"Current posts: {int(r.current):,}" + (" (estimated)" if estimated else ""),
                 f"Fair share: {float(r.fair_share):,.1f}",
                 f"Target: {int(r.target):,}",
                 f"Gap (target − current): {_signed(r.gap)}: {side(r.gap)}",
                 f"Distance from target: {_pct(d)}"]
        texts[r.area_code] = "<br>".join(lines)
        labels[r.area_code] = f"{_short(r.area, level, r.area_code)}<br>{_pct(d)}"
    step = rng / 2
    ticks = [(-rng, f"{_pct(-rng)} receives"), (-step, _pct(-step)), (0.0, "0 at target"),
             (step, _pct(step)), (rng, f"{_pct(rng)} gives")]
    traces = _area_traces(level, values, texts, DISTANCE_SCALE, rng, selected)
    label = _label_trace(level, labels, traces)
    data = [*traces, *([label] if label else []),
            _colourbar_trace(DISTANCE_SCALE, rng, "Distance from target", ticks)]
    layout = _map_layout(title, level)
    layout["annotations"] = [{
        "text": ("<span style='color:#b35806'>■</span> orange: above target, <b>gives</b> posts"
                 "    <span style='color:#542788'>■</span> purple: below target, "
                 "<b>receives</b> posts"),
        "xref": "paper", "yref": "paper", "x": 0.01, "y": 1.0, "yanchor": "bottom",
        "xanchor": "left", "showarrow": False, "font": {"size": 13}}]
    layout["meta"] = {"level": level, "shapes": len(traces), "range": rng}
    return {"data": data, "layout": layout}


def change_map(rows: pd.DataFrame, level: str, title: str, this: str,
               reference: str) -> dict[str, Any]:
    """Areas coloured by the change in target, this view − reference (whole posts).

    ``rows``: area_code, area, target_previous, target_current, target_change.
    """
    change = rows["target_change"].to_numpy(float)
    rng = _nice_range(change, 1.0, 1.0)
    values, texts, labels = {}, {}, {}
    for r in rows.itertuples(index=False):
        values[r.area_code] = float(r.target_change)
        texts[r.area_code] = "<br>".join([
            f"<b>{r.area}</b> ({r.area_code})",
            f"Target, {reference}: {int(r.target_previous):,}",
            f"Target, {this}: {int(r.target_current):,}",
            f"Change: {_signed(r.target_change)} posts"])
        labels[r.area_code] = f"{_short(r.area, level, r.area_code)}<br>{_signed(r.target_change)}"
    ticks = [(-rng, f"{_signed(-rng)} lower here"), (0.0, "no change"),
             (rng, f"{_signed(rng)} higher here")]
    traces = _area_traces(level, values, texts, CHANGE_SCALE, rng, None)
    label = _label_trace(level, labels, traces)
    data = [*traces, *([label] if label else []),
            _colourbar_trace(CHANGE_SCALE, rng, "Change in target (posts)", ticks)]
    layout = _map_layout(title, level)
    layout["annotations"] = [{
        "text": ("<span style='color:#01665e'>■</span> teal: higher target in this view"
                 "    <span style='color:#8c510a'>■</span> brown: lower than the reference"),
        "xref": "paper", "yref": "paper", "x": 0.01, "y": 1.0, "yanchor": "bottom",
        "xanchor": "left", "showarrow": False, "font": {"size": 13}}]
    layout["meta"] = {"level": level, "shapes": len(traces), "range": rng}
    return {"data": data, "layout": layout}


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
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
        "font": FONT, "height": 460, "barmode": "relative",
        "margin": {"l": 60, "r": 20, "t": 60, "b": 100},
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
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
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
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
        "font": FONT, "height": 460, "margin": {"l": 60, "r": 70, "t": 60, "b": 100},
        "xaxis": {"title": {"text": "Before the plan, then after each year's moves"},
                  "type": "category"},
        "yaxis": {"title": {"text": "Gini / CV (0 = posts exactly follow need)"},
                  "rangemode": "tozero"},
        "yaxis2": {"title": {"text": "Areas within ±5%"}, "overlaying": "y", "side": "right",
                   "range": [0, 1], "tickformat": ".0%", "showgrid": False},
        "legend": {"orientation": "h", "y": -0.3, "x": 0},
        "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff"}}
