"""The report's charts as inline SVG: the map (with a London inset), the gap bars, the plan.

Drawn here rather than by a plotting library so the report stays one self-contained file that
prints exactly as it shows. Every chart uses the report's one sign convention: the gap is
target − current, **+ receives** (purple, right, up) and **− gives** (orange, left, down). Each
returns an ``<svg role="img">`` whose ``aria-label`` says in words what it shows, area by area.

The map is an equirectangular projection with longitude scaled by cos 54°, which is close enough
at England's latitudes. London, the largest giver in most specialties, is a few millimetres wide
at England scale, so the map carries an enlarged inset of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from fairshare.publish.report_format import percent, signed

__all__ = ["GAP_CLASSES", "PALETTE", "gap_bars_svg", "gap_colour", "map_svg", "plan_svg"]

#: Class edges of |gap as % of target| on the map (5% matches "within ±5% of target").
GAP_CLASSES = (0.05, 0.10, 0.20, 0.40)

#: ColorBrewer PuOr, colour-blind safe: orange gives (over target), purple receives.
PALETTE: dict[str, Any] = {
    "gives": ("#fee0b6", "#fdb863", "#e08214", "#b35806"),  # 5-10%, 10-20%, 20-40%, >40%
    "receives": ("#d8daeb", "#b2abd2", "#8073ac", "#542788"),
    "neutral": "#f7f7f7",
    "no_data": "#d9d9d9",
    "give_line": "#a14f05",  # text and lines: 4.5:1 or better on white
    "receive_line": "#542788",
}

# Boundary file, property holding the area's name and property holding its code, per level.
_BOUNDARIES = {
    "local_office": ("local_office_boundaries.geojson", "local_office", "lo_code"),
    "region": ("region_boundaries.geojson", "NHSER22NM", "NHSER22CD"),
    "icb": ("icb_boundaries.geojson", "ICB23NM", "ICB23CD"),
}
_KX = math.cos(math.radians(54.0))
_INSET_WORD = "london"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def gap_colour(gap_share: float) -> str:
    """Fill for a gap as a share of target (+ receives, − gives)."""
    if gap_share is None or not math.isfinite(gap_share):
        return str(PALETTE["no_data"])
    k = sum(abs(gap_share) >= edge for edge in GAP_CLASSES)
    if k == 0:
        return str(PALETTE["neutral"])
    return str(PALETTE["receives" if gap_share > 0 else "gives"][k - 1])


@dataclass(frozen=True)
class _Feature:
    name: str
    code: str
    rings: tuple[np.ndarray, ...]  # lon, lat

    @property
    def inset(self) -> bool:
        return _INSET_WORD in self.name.lower()


@cache
def _features(level: str) -> tuple[_Feature, ...]:
    """The embedded boundaries of a level (empty when there are none)."""
    from fairshare.inputs.bundle import data_file

    if level not in _BOUNDARIES:
        return ()
    fname, name_key, code_key = _BOUNDARIES[level]
    path = data_file(fname)
    if not path.exists():
        return ()
    out = []
    for feat in json.loads(path.read_text(encoding="utf-8")).get("features", []):
        geom, props = feat.get("geometry") or {}, feat.get("properties") or {}
        kind, coords = geom.get("type"), geom.get("coordinates") or []
        polys = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
        rings = tuple(np.asarray(ring, dtype=float)[:, :2] for poly in polys for ring in poly)
        out.append(_Feature(str(props.get(name_key, "")), str(props.get(code_key, "")), rings))
    return tuple(out)


def _simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on a ring (iterative), keeping the first and last point."""
    n = len(points)
    if n < 4:
        return points
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        seg, p, d = points[a + 1:b], points[a], points[b] - points[a]
        norm = math.hypot(d[0], d[1])
        dist = (np.hypot(seg[:, 0] - p[0], seg[:, 1] - p[1]) if norm == 0 else
                np.abs(d[0] * (seg[:, 1] - p[1]) - d[1] * (seg[:, 0] - p[0])) / norm)
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            keep[a + 1 + i] = True
            stack += [(a, a + 1 + i), (a + 1 + i, b)]
    return points[keep]


def _centroid(ring: np.ndarray) -> tuple[float, float, float]:
    """(area, cx, cy) of a closed ring in screen units."""
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    if abs(area) < 1e-9:
        return 0.0, float(x.mean()), float(y.mean())
    return (abs(area), float(((x[:-1] + x[1:]) * cross).sum() / (6 * area)),
            float(((y[:-1] + y[1:]) * cross).sum() / (6 * area)))


@dataclass(frozen=True)
class _Frame:
    """A projection of lon/lat onto a box of the SVG: origin, scale and offset."""

    lon0: float
    lat0: float
    scale: float
    x: float
    y: float

    def project(self, ring: np.ndarray) -> np.ndarray:
        return np.column_stack([(ring[:, 0] - self.lon0) * _KX * self.scale + self.x,
                                (self.lat0 - ring[:, 1]) * self.scale + self.y])


def _bounds(features: Sequence[_Feature]) -> tuple[float, float, float, float]:
    pts = np.concatenate([r for f in features for r in f.rings])
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), \
        float(pts[:, 1].max())


def _fit(bounds: tuple[float, float, float, float], x: float, y: float, w: float, h: float,
         pad: float = 0.0) -> tuple[_Frame, float, float]:
    """The frame that fits ``bounds`` (plus ``pad`` share) in a w×h box; its drawn size."""
    lon_a, lat_a, lon_b, lat_b = bounds
    dx, dy = (lon_b - lon_a) * pad, (lat_b - lat_a) * pad
    lon_a, lon_b, lat_a, lat_b = lon_a - dx, lon_b + dx, lat_a - dy, lat_b + dy
    scale = min(w / ((lon_b - lon_a) * _KX), h / (lat_b - lat_a))
    return (_Frame(lon_a, lat_b, scale, x, y), (lon_b - lon_a) * _KX * scale,
            (lat_b - lat_a) * scale)


def _shapes(features: Sequence[_Feature], frame: _Frame, fills: dict[str, str],
            titles: dict[str, str], clip: tuple[float, float, float, float] | None,
            ) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """One ``<path>`` per feature (inside ``clip`` when given) and each feature's label point."""
    paths, anchors = [], {}
    for f in features:
        parts, best = [], (0.0, 0.0, 0.0)
        for ring in f.rings:
            pts = frame.project(ring)
            if clip is not None and (pts[:, 0].max() < clip[0] or pts[:, 0].min() > clip[2]
                                     or pts[:, 1].max() < clip[1] or pts[:, 1].min() > clip[3]):
                continue
            area, cx, cy = _centroid(pts)
            best = max(best, (area, cx, cy))
            pts = _simplify(pts, 0.4)
            if len(pts) >= 4 and area >= 0.3:
                parts.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[:-1]) + "Z")
        if parts:
            paths.append(f'<path d="{" ".join(parts)}" fill="{fills[f.name]}" '
                         f'fill-rule="evenodd"><title>{_e(titles[f.name])}</title></path>')
            anchors[f.name] = (best[1], best[2])
    return paths, anchors


def map_svg(areas: pd.DataFrame, level: str, area_word: str) -> str:
    """Choropleth of each area's gap as % of target, with a London inset and the colour key.

    ``areas`` has ``area`` (and ``area_code``), ``gap`` (posts) and ``gap_share`` (gap / target).
    Empty string when the level has no boundaries.
    """
    features = _features(level)
    if not features:
        return ""
    rows = {str(r.area): r for r in areas.itertuples(index=False)}
    codes = ({str(r.area_code): r for r in areas.itertuples(index=False)}
             if "area_code" in areas.columns else {})
    fills, titles, shares, alt = {}, {}, {}, []
    for f in features:
        row = rows.get(f.name) or codes.get(f.code)
        share = float(row.gap_share) if row is not None else float("nan")
        fills[f.name] = gap_colour(share)
        shares[f.name] = share
        if row is None:
            titles[f.name] = f"{f.name}: no data"
        else:
            words = f"gap {percent(share)} of target, {signed(row.gap)} posts"
            titles[f.name] = f"{f.name}: {words}"
            alt.append(f"{f.name} {percent(share)}")
    main, _mw, mh = _fit(_bounds(features), 4, 4, 330, 460)
    paths, anchors = _shapes(features, main, fills, titles, None)
    out = ['<g stroke="#425563" stroke-width="0.6" stroke-linejoin="round">'
           + "".join(paths) + "</g>"]
    labels = level == "local_office"
    if labels:
        out += [_label(f.code, shares.get(f.name), *anchors[f.name])
                for f in features if not f.inset and f.name in anchors]
    inset = [f for f in features if f.inset]
    width, height = 560.0, max(mh + 8, 440.0)
    if inset:
        out.append(_inset(features, inset, main, (fills, titles, shares), labels,
                          (350, 232, 205, 200)))
    out.append(_colour_key(350, 14))
    summary = (f"Map of England by {area_word}, coloured by gap as a percentage of target "
               "(+ receives, − gives), with London enlarged in an inset: " + "; ".join(alt) + ".")
    return (f'<svg class="map" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="{_e(summary)}">\n' + "\n".join(out) + "\n</svg>")


def _label(code: str, share: float | None, x: float, y: float) -> str:
    """An area's code and its gap as % of target, on the map."""
    value = "" if share is None or not math.isfinite(share) else percent(share, 1)
    return (f'<text x="{x:.1f}" y="{y - 4:.1f}" class="maplabel">{_e(code)}'
            f'<tspan x="{x:.1f}" dy="10" class="mapvalue">{_e(value)}</tspan></text>')


def _inset(features: Sequence[_Feature], inset: Sequence[_Feature], main: _Frame,
           style: tuple[dict[str, str], dict[str, str], dict[str, float]], labels: bool,
           box: tuple[float, float, float, float]) -> str:
    """London enlarged in ``box`` (x, y, w, h), its neighbours clipped, linked to the main map."""
    fills, titles, shares = style
    x, y, w, h = box
    head = 16.0
    frame, fw, fh = _fit(_bounds(inset), x + 2, y + head + 2, w - 4, h - head - 4, pad=0.12)
    ox, oy = x + 2 + (w - 4 - fw) / 2, y + head + 2 + (h - head - 4 - fh) / 2
    frame = _Frame(frame.lon0, frame.lat0, frame.scale, ox, oy)
    clip = (x, y + head, x + w, y + h)
    paths, anchors = _shapes(features, frame, fills, titles, clip)
    marks = _shapes(inset, main, fills, titles, None)[1]
    parts = [f'<clipPath id="inset-clip"><rect x="{x:.1f}" y="{y + head:.1f}" width="{w:.1f}" '
             f'height="{h - head:.1f}"/></clipPath>',
             f'<text x="{x:.1f}" y="{y + 11:.1f}" class="panel-title">London, enlarged</text>',
             '<g clip-path="url(#inset-clip)" stroke="#425563" stroke-width="0.8" '
             'stroke-linejoin="round">' + "".join(paths) + "</g>",
             f'<rect x="{x:.1f}" y="{y + head:.1f}" width="{w:.1f}" height="{h - head:.1f}" '
             'fill="none" stroke="#212b32" stroke-width="1"/>']
    for f in inset:
        if labels and f.name in anchors:
            parts.append(_label(f.code, shares.get(f.name), *anchors[f.name]))
    if marks:
        mx = [p[0] for p in marks.values()]
        my = [p[1] for p in marks.values()]
        cx, cy = sum(mx) / len(mx), sum(my) / len(my)
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="none" stroke="#212b32" '
                     'stroke-width="1"/>')
        parts.append(f'<line x1="{cx + 7:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y + h / 2:.1f}" '
                     'stroke="#212b32" stroke-width="0.7" stroke-dasharray="3 2"/>')
    return "\n".join(parts)


def _colour_key(x0: float, y0: float) -> str:
    """The colour bar: receives at the top, gives at the bottom, labelled with class edges."""
    edges = [f"{e * 100:.0f}%" for e in GAP_CLASSES]
    entries = []
    for k in range(len(GAP_CLASSES), 0, -1):
        hi = edges[k] if k < len(edges) else None
        text = f"+{edges[k - 1]} to +{hi}" if hi else f"+{edges[k - 1]} or more"
        entries.append((PALETTE["receives"][k - 1], text))
    entries.append((PALETTE["neutral"], f"within \u00b1{edges[0]}"))
    for k in range(1, len(GAP_CLASSES) + 1):
        hi = edges[k] if k < len(edges) else None
        text = f"\u2212{edges[k - 1]} to \u2212{hi}" if hi else f"\u2212{edges[k - 1]} or more"
        entries.append((PALETTE["gives"][k - 1], text))
    out = [f'<g transform="translate({x0:.0f},{y0:.0f})" class="legend">',
           '<text x="0" y="0" class="legend-title">Gap, % of target</text>',
           '<text x="0" y="15" class="legend-side t-receive">+ below target: receives posts</text>']
    y = 22
    for colour, text in entries:
        out.append(f'<rect x="0" y="{y}" width="22" height="15" fill="{colour}" stroke="#768692" '
                   f'stroke-width="0.5"/><text x="28" y="{y + 11}">{_e(text)}</text>')
        y += 15
    out.append(f'<text x="0" y="{y + 12}" class="legend-side t-give">'
               "\u2212 above target: gives posts</text>")
    out.append(f'<rect x="0" y="{y + 20}" width="22" height="13" fill="{PALETTE["no_data"]}" '
               f'stroke="#768692" stroke-width="0.5"/><text x="28" y="{y + 30}">no data</text>')
    out.append("</g>")
    return "".join(out)


def gap_bars_svg(areas: pd.DataFrame) -> str:
    """Horizontal bars of each area's gap in posts: givers left (−), receivers right (+)."""
    df = areas.sort_values("gap", kind="stable").reset_index(drop=True)
    n = len(df)
    names = [_short(a) for a in df["area"]]
    row_h = 18.0 if n <= 15 else 13.0
    top, font = 26.0, 10 if n <= 15 else 8
    label_w = max(120.0, 0.56 * font * max(len(a) for a in names) + 10)
    bar_w, value_w = 360.0, 60.0
    height = top + n * row_h + 26
    scale = (bar_w / 2) / float(max(df["gap"].abs().max(), 1))
    x0 = label_w + value_w + bar_w / 2
    summary = "; ".join(f"{r.area} {signed(r.gap)}" for r in df.itertuples(index=False))
    out = [f'<svg class="chart" viewBox="0 0 {label_w + bar_w + 2 * value_w:.0f} {height:.0f}" '
           f'role="img" aria-label="{_e("Gap by area, posts (+ receives, − gives): " + summary)}">',
           f'<text x="{x0 - 8:.0f}" y="14" text-anchor="end" class="axis-title t-give">'
           "\u2190 gives posts (\u2212)</text>",
           f'<text x="{x0 + 8:.0f}" y="14" class="axis-title t-receive">'
           "receives posts (+) \u2192</text>"]
    for i, r in enumerate(df.itertuples(index=False)):
        y, gap = top + i * row_h, float(r.gap)
        w = abs(gap) * scale
        colour = PALETTE["receive_line"] if gap > 0 else PALETTE["give_line"]
        out.append(f'<text x="{label_w - 4:.0f}" y="{y + row_h * 0.68:.1f}" text-anchor="end" '
                   f'font-size="{font}">{_e(names[i])}</text>')
        if w > 0:
            out.append(f'<rect x="{x0 if gap >= 0 else x0 - w:.1f}" y="{y + 2:.1f}" '
                       f'width="{w:.1f}" height="{row_h - 4:.1f}" fill="{colour}"/>')
        tx, anchor = (x0 + w + 4, "start") if gap >= 0 else (x0 - w - 4, "end")
        out.append(f'<text x="{tx:.1f}" y="{y + row_h * 0.68:.1f}" text-anchor="{anchor}" '
                   f'font-size="{font}">{_e(signed(gap))}</text>')
    out.append(f'<line x1="{x0:.1f}" y1="{top - 4:.0f}" x2="{x0:.1f}" '
               f'y2="{top + n * row_h + 2:.0f}" stroke="#212b32" stroke-width="1"/>')
    out.append(f'<text x="{x0:.1f}" y="{height - 6:.0f}" text-anchor="middle" '
               'class="axis-title">gap = target \u2212 current, posts (all specialties)</text>')
    out.append("</svg>")
    return "\n".join(out)


def _short(area: str) -> str:
    """An area's name for a chart label: ICB names without their common ending."""
    return area.removesuffix(" Integrated Care Board")


def plan_svg(plan: pd.DataFrame, gaps: pd.Series, columns: int = 4) -> str:
    """Small multiples, one panel per area: posts received, given and net, year by year.

    ``plan`` has ``area``, ``year``, ``received`` and ``given``; ``gaps`` is each area's net
    gap at the start (posts). Every plan year is on the axis, the last one written in full.
    """
    years = sorted(int(y) for y in plan["year"].unique())
    per = plan.groupby(["area", "year"], sort=True)[["received", "given"]].sum()
    areas = list(gaps.sort_values(kind="stable").index)
    areas += sorted(set(per.index.get_level_values(0)) - set(areas))
    pw, ph, gx, gy = 215.0, 128.0, 12.0, 12.0
    width = columns * pw + (columns - 1) * gx
    height = math.ceil(len(areas) / columns) * (ph + gy)
    nets = []
    out = []
    for i, area in enumerate(areas):
        a = (per.loc[area].reindex(years, fill_value=0) if area in per.index.get_level_values(0)
             else pd.DataFrame({"received": 0, "given": 0}, index=years))
        panel, net = _panel(a, float(gaps.get(area, 0.0)), years, str(area),
                            (i % columns) * (pw + gx), (i // columns) * (ph + gy), pw, ph)
        out.append(panel)
        nets.append(f"{area} net {signed(net)} by {years[-1]}")
    summary = (f"Posts received (up) and given (down) by each area, cumulative, {years[0]} to "
               f"{years[-1]}: " + "; ".join(nets) + ".")
    return (f'<svg class="chart plan-chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="{_e(summary)}">\n' + "\n".join(out) + "\n</svg>")


def _panel(a: pd.DataFrame, gap: float, years: list[int], area: str, ox: float, oy: float,
           pw: float, ph: float) -> tuple[str, float]:
    """One area's panel and its net change by the last year."""
    rec = np.concatenate([[0], np.cumsum(a["received"].to_numpy(float))])
    giv = np.concatenate([[0], -np.cumsum(a["given"].to_numpy(float))])
    net = rec + giv
    hi, lo = max(rec.max(), gap, 1.0), min(giv.min(), gap, -1.0)
    hi, lo = hi + (hi - lo) * 0.08, lo - (hi - lo) * 0.08
    left, right, top, bottom = 36.0, 6.0, 26.0, 16.0
    iw, ih = pw - left - right, ph - top - bottom
    xs = [ox + left + iw * k / len(years) for k in range(len(years) + 1)]

    def y_of(v: float) -> float:
        return oy + top + (hi - v) / (hi - lo) * ih

    def poly(values: np.ndarray) -> str:
        return " ".join(f"{x:.1f},{y_of(v):.1f}" for x, v in zip(xs, values, strict=True))

    y0 = y_of(0.0)
    out = [f'<text x="{ox + 2:.1f}" y="{oy + 10:.1f}" class="panel-title">{_e(area)}</text>',
           f'<text x="{ox + 2:.1f}" y="{oy + 20:.1f}" class="tick">net {_e(signed(net[-1]))} '
           f"posts by {years[-1]}; gap at start {_e(signed(gap))}</text>",
           f'<rect x="{ox + left:.1f}" y="{oy + top:.1f}" width="{iw:.1f}" height="{ih:.1f}" '
           'fill="#f8fafb" stroke="#d8dde0" stroke-width="0.5"/>',
           f'<polygon points="{xs[0]:.1f},{y0:.1f} {poly(rec)} {xs[-1]:.1f},{y0:.1f}" '
           f'fill="{PALETTE["receives"][1]}" stroke="{PALETTE["receive_line"]}" '
           'stroke-width="0.6"/>',
           f'<polygon points="{xs[0]:.1f},{y0:.1f} {poly(giv)} {xs[-1]:.1f},{y0:.1f}" '
           f'fill="{PALETTE["gives"][1]}" stroke="{PALETTE["give_line"]}" stroke-width="0.6"/>',
           f'<line x1="{xs[0]:.1f}" y1="{y0:.1f}" x2="{xs[-1]:.1f}" y2="{y0:.1f}" '
           'stroke="#768692" stroke-width="0.6"/>',
           f'<line x1="{xs[0]:.1f}" y1="{y_of(gap):.1f}" x2="{xs[-1]:.1f}" y2="{y_of(gap):.1f}" '
           'stroke="#212b32" stroke-width="0.8" stroke-dasharray="3 2"/>',
           f'<polyline points="{poly(net)}" fill="none" stroke="#212b32" stroke-width="1.4"/>']
    placed: list[float] = []
    for v in (0, round(rec.max()), round(giv.min()), round(gap)):
        y = y_of(v)
        if all(abs(y - q) >= 9 for q in placed):
            placed.append(y)
            out.append(f'<text x="{ox + left - 3:.1f}" y="{y + 2.5:.1f}" text-anchor="end" '
                       f'class="tick">{_e(signed(v))}</text>')
    out += _year_ticks(years, xs, oy + ph - 4)
    return "\n".join(out), float(net[-1])


def _year_ticks(years: list[int], xs: list[float], y: float) -> list[str]:
    """A tick for every year, at the end of its recruitment round; labels as space allows."""
    step_w = xs[1] - xs[0]
    every = 1 if step_w >= 12 else 2 if step_w >= 6 else 5
    out = []
    for k, year in enumerate(years):
        x = xs[k + 1]
        out.append(f'<line x1="{x:.1f}" y1="{y - 9:.1f}" x2="{x:.1f}" y2="{y - 7:.1f}" '
                   'stroke="#768692" stroke-width="0.5"/>')
        if k % every == 0 or k == len(years) - 1:
            text = str(year) if k == 0 else f"\u2019{year % 100:02d}"
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" '
                       f'class="tick">{text}</text>')
    return out
