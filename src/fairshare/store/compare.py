"""Previous versus current: what changed between two runs, and why.

The programme republishes its redistribution numbers whenever data or parameters change, and
planners must be able to say how each area's numbers moved and what caused it. A comparison
therefore has three parts:

* ``table``: per area x specialty, each value (current posts, target, gap, ...) previous,
  current and the change. A row present in only one run counts as 0 in the other and is
  flagged, so nothing silently disappears.
* ``by_school``: the programme's "previous vs current" layout, School | Specialty | Phase |
  Previous | Current | Change, with a subtotal row per school and an overall total.
* ``explanation``: every scenario parameter, input file, data vintage and package version that
  differs, so a change in the numbers can be traced to a cause.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from fairshare.errors import FairshareError

if TYPE_CHECKING:
    from fairshare.store.runs import RunStore
    from fairshare.store.sql_runs import SqlRunStore

DEFAULT_KEYS = ("area", "specialty")
DEFAULT_VALUES = ("current", "target", "gap")
DEFAULT_CARRY = ("school", "phase")
PRESENCE = "presence"
BOTH, PREVIOUS_ONLY, CURRENT_ONLY = "both", "previous only", "current only"
SUBTOTAL = "total"  # "<School> total", as in fairshare.publish.tables
TOTAL = "Total"
SCHOOL_COLUMNS = ["School", "Specialty", "Phase", "Previous", "Current", "Change"]

INPUT_LABELS = {
    "posts": "establishment",
    "population": "population",
    "growth": "population projections (growth factors)",
    "growth_variants": "population projection variants",
    "weighted_population": "weighted populations (need)",
    "icbs": "ICB list",
    "local_offices": "local offices",
    "icb_local_office": "ICB to local office mapping",
    "profiles": "utilisation profiles",
    "specialties": "specialty catalogue",
    "capacity": "supervision capacity (--capacity)",
    "cohorts": "trainee cohorts (--cohorts)",
    "min_posts": "minimum programme sizes (--min-posts)",
    "impact_metrics": "impact metrics",
    "calibration": "published figures for calibration",
}


@dataclass(frozen=True)
class TableSpec:
    """How one stored result table is compared: its row keys, its values, and the value the
    school summary totals (None: no school summary, as for equity)."""

    keys: tuple[str, ...]
    values: tuple[str, ...]
    summary: str | None


#: The tables `compare --table` accepts; any other is refused with this list.
COMPARABLE = {
    "targets": TableSpec(("area", "specialty"), ("current", "target", "gap"), "target"),
    "plan": TableSpec(("area", "specialty", "year"), ("posts", "redistribution", "remaining_gap"),
                      None),
    "equity": TableSpec(("specialty", "stage", "year"), ("gini", "cv", "share_within_5pct"),
                        None),
}


def table_spec(table: str) -> TableSpec:
    """The comparison rules of a table, or an error listing what can be compared."""
    if table not in COMPARABLE:
        raise CompareError(f"--table {table!r} cannot be compared; choose one of: "
                           f"{', '.join(COMPARABLE)} (findings are sentences: read them "
                           "with `fairshare runs show`/`runs export`)")
    return COMPARABLE[table]


def area_changes(table: pd.DataFrame, area: str | None = None) -> pd.DataFrame:
    """Per-area change (or, for one area, per-specialty change) from a ``compare_tables``
    result: the values summed over specialties, only rows where something changed, the
    largest changes first. Plan comparisons are read at their last year."""
    if "area" not in table.columns:
        return table[_changed(table)].reset_index(drop=True)
    work = table
    if "year" in work.columns:
        work = work[work["year"] == work["year"].max()]
    if area is not None:
        work = work[work["area"] == area]
    by = "specialty" if area is not None else "area"
    cols = [c for c in work.columns if c.endswith(("_previous", "_current", "_change"))]
    view = work.groupby(by, as_index=False, sort=True)[cols].sum()
    view = view[_changed(view)]
    moved = [c.removesuffix("_change") for c in cols
             if c.endswith("_change") and view[c].any()]
    keep = [f"{v}_{side}" for v in moved for side in ("previous", "current", "change")]
    if keep:
        view, cols = view[[by, *keep]], keep
    change = next((c for c in cols if c.startswith("target") and c.endswith("_change")),
                  next(c for c in cols if c.endswith("_change")))
    return view.reindex(view[change].abs().sort_values(ascending=False, kind="stable").index
                        ).reset_index(drop=True)


def _changed(table: pd.DataFrame) -> pd.Series:
    changes = [c for c in table.columns if c.endswith("_change")]
    return (table[changes].fillna(0) != 0).any(axis=1)


class CompareError(FairshareError):
    """Two tables that cannot be compared (missing columns, duplicated rows, other levels)."""


@dataclass
class Comparison:
    """Previous versus current for one result table, with what explains the difference."""

    previous: str
    current: str
    table: pd.DataFrame
    by_school: pd.DataFrame
    explanation: list[str]
    value: str | None = "target"
    redistribution: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The comparison's tables by file name, ready for ``outputs.write_csv`` or Excel."""
        out = {"comparison": self.table}
        if not self.by_school.empty:
            out["by_school"] = self.by_school
        if self.redistribution is not None:
            out["redistribution"] = self.redistribution
        out["explanation"] = pd.DataFrame({"change": self.explanation}, dtype=object)
        return out

    @property
    def unchanged(self) -> bool:
        """True when every compared value is equal and no row is missing on either side."""
        changes = [c for c in self.table.columns if c.endswith("_change")]
        same = bool((self.table[changes].fillna(0) == 0).all().all()) if changes else True
        return same and bool((self.table[PRESENCE] == BOTH).all())


def compare_tables(previous: pd.DataFrame, current: pd.DataFrame, *,
                   keys: Sequence[str] = DEFAULT_KEYS,
                   values: Sequence[str] = DEFAULT_VALUES,
                   carry: Sequence[str] = DEFAULT_CARRY) -> pd.DataFrame:
    """Outer join on ``keys``: ``<value>_previous``, ``<value>_current``, ``<value>_change``.

    ``carry`` columns (school, phase) are taken from the current table, or the previous one
    for rows that no longer exist. A row missing on one side counts as 0 there; the
    ``presence`` column says "both", "previous only" or "current only". Rows are sorted by
    the keys so the result does not depend on either table's order.
    """
    keys, values = list(keys), list(values)
    if not keys:
        raise CompareError("compare needs at least one key column")
    if not values:
        raise CompareError("compare needs at least one value column")
    for label, df in (("previous", previous), ("current", current)):
        missing = [c for c in [*keys, *values] if c not in df.columns]
        if missing:
            raise CompareError(f"the {label} table has no column(s) {missing}; it has "
                               f"{list(df.columns)}")
        for v in values:
            if not pd.api.types.is_numeric_dtype(df[v]) or pd.api.types.is_bool_dtype(df[v]):
                raise CompareError(f"the {label} table's '{v}' column is not numeric")
        dup = df[df.duplicated(keys, keep=False)]
        if len(dup):
            sample = dup[keys].drop_duplicates().head(3).to_dict("records")
            raise CompareError(f"the {label} table has more than one row per {keys}, e.g. "
                               f"{sample}; compare tables at a single level")
    _check_levels(previous, current)
    carried = [c for c in carry if c not in keys and (c in previous.columns
                                                      or c in current.columns)]

    def side(df: pd.DataFrame, suffix: str) -> pd.DataFrame:
        cols = [*keys, *[c for c in carried if c in df.columns], *values]
        return df[cols].rename(columns={c: f"{c}_{suffix}" for c in [*carried, *values]})

    merged = side(previous, "previous").merge(side(current, "current"), on=keys, how="outer",
                                              indicator=True, sort=True)
    only_prev = merged["_merge"] == "left_only"
    only_cur = merged["_merge"] == "right_only"
    out = merged[keys].copy()
    for c in carried:
        cur = merged.get(f"{c}_current")
        prev = merged.get(f"{c}_previous")
        if cur is None:
            out[c] = prev
        elif prev is None:
            out[c] = cur
        else:
            out[c] = cur.where(~only_prev, prev)
    for v in values:
        prev, cur = merged[f"{v}_previous"].copy(), merged[f"{v}_current"].copy()
        prev[only_cur] = 0
        cur[only_prev] = 0
        if (pd.api.types.is_integer_dtype(previous[v]) and pd.api.types.is_integer_dtype(current[v])
                and not prev.isna().any() and not cur.isna().any()):
            prev, cur = prev.astype("int64"), cur.astype("int64")
        out[f"{v}_previous"] = prev
        out[f"{v}_current"] = cur
        out[f"{v}_change"] = cur - prev
    out[PRESENCE] = BOTH
    out.loc[only_prev, PRESENCE] = PREVIOUS_ONLY
    out.loc[only_cur, PRESENCE] = CURRENT_ONLY
    return out.reset_index(drop=True)


def _check_levels(previous: pd.DataFrame, current: pd.DataFrame) -> None:
    """Refuse to line up, say, local offices against regions: the keys would not mean the same."""
    if "level" in previous.columns and "level" in current.columns:
        a, b = sorted(set(previous["level"].dropna())), sorted(set(current["level"].dropna()))
        if a != b:
            raise CompareError(f"the tables are at different levels ({', '.join(map(str, a))} "
                               f"vs {', '.join(map(str, b))}); compare runs made at one level")


def school_table(table: pd.DataFrame, value: str = "target", *,
                 positive_only: bool = False) -> pd.DataFrame:
    """The programme's layout from a ``compare_tables`` result: per specialty, school, total.

    Each specialty row sums ``value`` over areas (and any other key such as year); a
    "<School> total" row follows each school (the layout of ``publish.tables``) and a final
    "Total" row covers everything.
    ``positive_only`` sums only positive amounts per row, which for ``gap`` gives the posts to
    be redistributed (gaps over areas sum to zero when a specialty's total is unchanged).
    """
    prev_col, cur_col = f"{value}_previous", f"{value}_current"
    missing = [c for c in (prev_col, cur_col) if c not in table.columns]
    if missing:
        raise CompareError(f"the comparison has no '{value}' value (columns {missing} missing)")
    if "specialty" not in table.columns:
        raise CompareError("a school table needs a 'specialty' column")
    work = pd.DataFrame({
        "School": _text(table, "school"),
        "Specialty": table["specialty"].astype(str),
        "Phase": _text(table, "phase"),
        "Previous": table[prev_col].clip(lower=0) if positive_only else table[prev_col],
        "Current": table[cur_col].clip(lower=0) if positive_only else table[cur_col],
    })
    specs = (work.groupby(["School", "Specialty", "Phase"], as_index=False, sort=True)
             [["Previous", "Current"]].sum())
    parts = []
    for school, rows in specs.groupby("School", sort=True):
        parts.append(rows)
        parts.append(pd.DataFrame([{"School": f"{school} {SUBTOTAL}", "Specialty": "",
                                    "Phase": "",
                                    "Previous": rows["Previous"].sum(),
                                    "Current": rows["Current"].sum()}]))
    parts.append(pd.DataFrame([{"School": TOTAL, "Specialty": "", "Phase": "",
                                "Previous": specs["Previous"].sum(),
                                "Current": specs["Current"].sum()}]))
    out = pd.concat(parts, ignore_index=True)
    if pd.api.types.is_integer_dtype(work["Previous"]) and \
            pd.api.types.is_integer_dtype(work["Current"]):
        out = out.astype({"Previous": "int64", "Current": "int64"})
    out["Change"] = out["Current"] - out["Previous"]
    return out[SCHOOL_COLUMNS]


def _text(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table.columns:
        return pd.Series([""] * len(table), index=table.index, dtype=object)
    return table[column].astype(object).where(table[column].notna(), "").astype(str)


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


_ABSENT = object()


def _diff_params(previous: Any, current: Any, key: str = "") -> list[str]:
    """Differing parameters as "key: old -> new"; nested dicts give dotted keys (weights.core)."""
    if previous == current and type(previous) is type(current):
        return []
    if isinstance(previous, Mapping) and isinstance(current, Mapping):
        lines = []
        for k in sorted(set(previous) | set(current), key=str):
            lines += _diff_params(previous.get(k, _ABSENT), current.get(k, _ABSENT),
                                  f"{key}.{k}" if key else str(k))
        return lines
    numbers = (int, float)
    if isinstance(previous, numbers) and isinstance(current, numbers) \
            and not isinstance(previous, bool) and previous == current:
        return []  # 1 vs 1.0 after a JSON round trip is not a change
    old = "(not set)" if previous is _ABSENT else _fmt(previous)
    new = "(not set)" if current is _ABSENT else _fmt(current)
    return [f"{key}: {old} -> {new}"]


def explain(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Everything in two runs' metadata that differs and could explain a change in results.

    Lines come in a fixed order: scenario parameters (e.g. "deprivation_weight: 0.2 -> 0.3"),
    the establishment, input files ("establishment file changed"), data vintages, then the
    package version. An empty list means the runs were made from the same things.
    """
    # the scenario's ``inputs`` (file digests) are explained below, by file, in words
    lines = _diff_params({k: v for k, v in _mapping(previous, "scenario").items()
                          if k != "inputs"},
                         {k: v for k, v in _mapping(current, "scenario").items()
                          if k != "inputs"})
    if previous.get("establishment") != current.get("establishment"):
        lines.append(f"establishment: {_fmt(previous.get('establishment'))} -> "
                     f"{_fmt(current.get('establishment'))}")
    demo_a = previous.get("demonstration_baseline")
    demo_b = current.get("demonstration_baseline")
    if demo_a != demo_b:
        lines.append(f"demonstration baseline: {_yes(demo_a)} -> {_yes(demo_b)}")
    ins_a, ins_b = _mapping(previous, "input_digests"), _mapping(current, "input_digests")
    for key in sorted(set(ins_a) | set(ins_b)):
        label = INPUT_LABELS.get(key, key)
        a, b = ins_a.get(key), ins_b.get(key)
        if a == b:
            continue
        if a is None:
            lines.append(f"{label} file added ({key})")
        elif b is None:
            lines.append(f"{label} file removed ({key})")
        else:
            lines.append(f"{label} file changed ({key}: {str(a)[:12]} -> {str(b)[:12]})")
    vin_a, vin_b = _mapping(previous, "data_vintages"), _mapping(current, "data_vintages")
    for key in sorted(set(vin_a) | set(vin_b)):
        if vin_a.get(key) != vin_b.get(key):
            lines.append(f"data vintage {key}: {_fmt(vin_a.get(key))} -> "
                         f"{_fmt(vin_b.get(key))}")
    ver_a, ver_b = previous.get("fairshare_version"), current.get("fairshare_version")
    if ver_a != ver_b:
        lines.append(f"fairshare version: {_fmt(ver_a)} -> {_fmt(ver_b)}")
    return lines


def _mapping(meta: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = meta.get(key)
    return value if isinstance(value, Mapping) else {}


def _yes(flag: Any) -> str:
    return "unknown" if flag is None else ("yes" if flag else "no")


def compare_results(previous: pd.DataFrame, current: pd.DataFrame,
                    previous_meta: Mapping[str, Any], current_meta: Mapping[str, Any], *,
                    previous_label: str = "previous", current_label: str = "current",
                    keys: Sequence[str] = DEFAULT_KEYS,
                    values: Sequence[str] | None = None,
                    value: str | None = "target") -> Comparison:
    """Compare two result tables with their metadata (a stored run against a fresh calculation).

    ``values`` defaults to those of current, target and gap present in both tables. ``value``
    is the one summarised by school. When gap is compared, ``redistribution`` holds the same
    layout for the posts to be moved (positive gaps).
    """
    if values is None:
        values = [v for v in DEFAULT_VALUES if v in previous.columns and v in current.columns]
        if not values:
            raise CompareError(f"neither table has any of {list(DEFAULT_VALUES)} to compare; "
                               f"name the values to compare")
    table = compare_tables(previous, current, keys=keys, values=values)
    return Comparison(
        previous=previous_label,
        current=current_label,
        table=table,
        by_school=school_table(table, value) if value else pd.DataFrame(columns=SCHOOL_COLUMNS),
        explanation=explain(previous_meta, current_meta),
        value=value,
        redistribution=school_table(table, "gap", positive_only=True)
        if "gap" in values else None,
    )


def compare_runs(store: RunStore | SqlRunStore, previous: str, current: str, *,
                 table: str = "targets", keys: Sequence[str] | None = None,
                 values: Sequence[str] | None = None, value: str | None = None) -> Comparison:
    """Compare one table of two stored runs (each given by id, id prefix or name); keys and
    values default to the table's rules in ``COMPARABLE``."""
    spec = table_spec(table)
    keys = spec.keys if keys is None else keys
    values = spec.values if values is None else values
    value = spec.summary if value is None else value
    a, b = store.get(previous), store.get(current)
    return compare_results(
        store.load_table(a.id, table), store.load_table(b.id, table),
        store.metadata(a.id), store.metadata(b.id),
        previous_label=a.label, current_label=b.label, keys=keys, values=values, value=value,
    )
