"""Writing result tables with the metadata that makes them reproducible.

Every output folder holds the tables as CSV and a ``run.json`` with the fully resolved scenario,
input digests, data vintages, the package version and the establishment label (which says
"DEMONSTRATION" when the modelled baseline was used). Files appear atomically.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from fairshare import __version__
from fairshare.inputs.bundle import DATA_VINTAGES, Bundle
from fairshare.io import write_text, write_with
from fairshare.scenario import Scenario


def run_metadata(bundle: Bundle, scenario: Scenario, **extra: Any) -> dict[str, Any]:
    """What a run was made from: scenario, inputs, vintages, version."""
    return {
        "fairshare_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": scenario.resolved(),
        "scenario_digest": scenario.digest(),
        "establishment": bundle.posts_label,
        "establishment_modelled": {s: bundle.basis[s] for s in bundle.modelled},
        "establishment_date": bundle.posts_date,
        "input_digests": bundle.digests,
        "data_source": bundle.source,
        "data_vintages": DATA_VINTAGES,
        "licence": "Contains public sector information licensed under the Open Government "
        "Licence v3.0 (ONS, MHCLG, NHS England). Contains OS data © Crown copyright and "
        "database right 2022/2023.",
        **extra,
    }


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """A CSV written atomically with stable float formatting (byte-identical reruns).

    Text that a spreadsheet would run as a formula is defused (``defuse_formulas``).
    """
    safe = defuse_formulas(df)
    return write_with(path, lambda tmp: safe.to_csv(tmp, index=False, float_format="%.6f"))


#: A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*)?\.?\d+%?")


def _is_formula(value: object) -> bool:
    return (isinstance(value, str) and value.startswith(_FORMULA_START)
            and not _PLAIN_NUMBER.fullmatch(value))


def defuse_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as formulas: an area name or scenario text such as
    ``=HYPERLINK(...)`` gets a leading apostrophe, which spreadsheets show as plain text.
    Numbers and numeric columns are untouched; the Excel export is safe by construction."""
    out = df
    for col in df.columns:
        column = df[col]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        values = column.astype(object)
        risky = values.map(_is_formula).astype(bool)
        if risky.any():
            out = out.copy() if out is df else out
            out[col] = values.where(~risky, "'" + values.astype(str))
    return out


def write_results(folder: str | Path, tables: dict[str, pd.DataFrame], bundle: Bundle,
                  scenario: Scenario, **extra: Any) -> list[Path]:
    """Write each table as <name>.csv plus run.json into ``folder``."""
    folder = Path(folder)
    written = [write_csv(df, folder / f"{name}.csv") for name, df in tables.items()]
    meta = run_metadata(bundle, scenario, tables=sorted(tables), **extra)
    written.append(write_text(folder / "run.json", json.dumps(meta, indent=2) + "\n"))
    return written
