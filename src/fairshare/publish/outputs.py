"""Writing result tables so that they can be trusted once they leave the tool.

Every output carries what its numbers rest on: each row says the basis of its numbers (the
establishment it starts from: public baseline, modelled rows or a user's file) and the scenario
(name and digest); a folder also holds ``run.json`` (resolved scenario, digests of every input
that changes a number, data vintages, version) and ``columns.csv`` (what each column means, its
unit and sign convention). Parquet files hold the same metadata as key-value metadata, JSON
files as fields.

Where results go (one rule for every command, docs/outputs.md):

* no ``--out``: a new folder ``results/<date-time>-<command>-<name>/``; ``results/latest`` then
  points at it (a symlink, or a ``latest.txt`` pointer where symlinks are not available);
* ``--out x.csv`` / ``x.parquet`` / ``x.json``: that one file (the command's main table);
* ``--out dir``: that folder, written whole. A folder holding an earlier fairshare output is
  replaced as a whole, never mixed; a folder of dated output folders (such as ``results``)
  gets a new dated folder inside it; a folder holding anything else is refused.

A folder is built beside its destination and renamed into place only when complete, and
``latest`` is switched after that, so no reader ever sees half a run or two runs mixed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from fairshare import __version__
from fairshare.errors import FairshareError
from fairshare.inputs.bundle import DATA_VINTAGES, Bundle
from fairshare.io import (
    file_digest,
    pause_for_test,
    remove_stale_temporaries,
    write_text,
    write_with,
)
from fairshare.publish.columns import dictionary, dictionary_of, formatted
from fairshare.scenario import Scenario
from fairshare.training_year import RECONSTRUCTION, TO_COME, first_year_to_come

RESULTS = Path("results")
LATEST = "latest"
LATEST_POINTER = "latest.txt"
RUN_JSON = "run.json"
COLUMNS_FILE = "columns.csv"
FILE_SUFFIXES = (".csv", ".parquet", ".json")
#: File types a results table is not written as: refused rather than made into a folder.
OTHER_FILE_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".tsv", ".txt", ".html", ".htm",
                       ".pdf", ".yaml", ".yml", ".zip", ".gz")
LABEL_COLUMNS = ("basis", "scenario", "scenario_digest")
#: Tables whose years are plan years (labelled "reconstruction" or "to come"); observed
#: metrics (monitoring) and projections are not plan moves.
PLAN_TABLES = {"plan", "findings", "equity", "unplaced_expansion", "comparison", "trust_posts"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


#: Files a command names in its metadata (``published=path``) that change its numbers: each is
#: digested under this key, so `compare` explains a change in them like any other input.
FILE_EXTRAS = {"published": "calibration", "metrics_file": "impact_metrics"}


def _extra_digests(extra: Mapping[str, Any]) -> dict[str, str]:
    found = {}
    for key, label in FILE_EXTRAS.items():
        value = extra.get(key)
        if isinstance(value, str | Path) and Path(value).is_file():
            found[label] = file_digest(value)
    return found


def run_metadata(bundle: Bundle, scenario: Scenario, **extra: Any) -> dict[str, Any]:
    """What a run was made from: scenario, every input's digest, vintages, version."""
    return {
        "fairshare_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "as_of": date.today().isoformat(),
        "first_year_to_come": first_year_to_come(date.today()),
        "scenario": scenario.resolved(),
        "scenario_digest": scenario.digest(),
        "establishment": bundle.posts_label,
        "establishment_modelled": {s: bundle.basis[s] for s in bundle.modelled},
        "establishment_date": bundle.posts_date,
        "input_digests": {**bundle.digests, **_extra_digests(extra)},
        "data_source": bundle.source,
        "data_vintages": DATA_VINTAGES,
        "licence": "Contains public sector information licensed under the Open Government "
        "Licence v3.0 (ONS, MHCLG, NHS England). Contains OS data © Crown copyright and "
        "database right 2022/2023.",
        **extra,
    }


def row_labels(meta: Mapping[str, Any]) -> dict[str, str]:
    """The labels every written row carries: basis of the numbers and scenario."""
    scenario = meta.get("scenario")
    name = scenario.get("name", "") if isinstance(scenario, Mapping) else ""
    return {"basis": str(meta.get("establishment", "")), "scenario": str(name),
            "scenario_digest": str(meta.get("scenario_digest", ""))}


def labelled(df: pd.DataFrame, labels: Mapping[str, str],
             basis_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """``df`` with the label columns; a table's own values win, so labels come from the data.

    ``basis_rows`` (area, specialty, basis) gives a per-row basis to tables with a specialty
    (e.g. the plan from the targets' basis: the area's own, else the specialty's); other rows
    take the run's basis.
    """
    out = df.copy()
    if "basis" not in out.columns and basis_rows is not None and "specialty" in out.columns:
        by_specialty = basis_rows.drop_duplicates("specialty").set_index("specialty")["basis"]
        basis = out["specialty"].astype(str).map(by_specialty)
        if "area" in out.columns:  # an area's own basis where the data gives one
            lookup = basis_rows.drop_duplicates(["area", "specialty"]).set_index(
                ["area", "specialty"])["basis"]
            keys = pd.MultiIndex.from_frame(out[["area", "specialty"]].astype(str))
            own = pd.Series(lookup.reindex(keys).to_numpy(), index=out.index)
            basis = own.where(own.notna(), basis)
        out["basis"] = basis
    for column, value in labels.items():
        if column not in out.columns:
            out[column] = value
        elif out[column].isna().any():
            out[column] = out[column].astype(object).where(out[column].notna(), value)
    return out


def with_year_status(df: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """``year_status`` beside ``year``: a reconstruction when the year's round is past."""
    if "year" not in df.columns or "year_status" in df.columns:
        return df
    out = df.copy()
    years = pd.to_numeric(out["year"], errors="coerce")
    first = first_year_to_come(as_of)
    status = pd.Series(TO_COME, index=out.index, dtype=object)
    status[years < first] = RECONSTRUCTION
    status[years.isna()] = ""
    out.insert(out.columns.get_loc("year") + 1, "year_status", status)
    return out


def _as_of(meta: Mapping[str, Any]) -> date:
    """The day a run was made: plan years are judged past or to come from that day."""
    for key in ("as_of", "created"):
        value = meta.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return date.fromisoformat(value[:10])
    return date.today()


def basis_source(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Per-row basis (area, specialty, basis) from the first table that states one."""
    for df in tables.values():
        if {"area", "specialty"} <= set(df.columns):
            for column in ("basis", "baseline"):
                if column in df.columns:
                    rows = df[["area", "specialty", column]].rename(columns={column: "basis"})
                    return rows.astype(str)
    return None


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """A CSV written atomically, each column formatted as what it is (docs/outputs.md)."""
    return write_with(path, lambda tmp: defuse_formulas(formatted(df)).to_csv(tmp, index=False))


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


def write_parquet(df: pd.DataFrame, path: str | Path, meta: Mapping[str, Any],
                  table: str = "") -> Path:
    """A Parquet file whose key-value metadata holds the run's metadata and column meanings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(df, preserve_index=False)
    extra = {b"fairshare": json.dumps(dict(meta), default=str).encode(),
             b"fairshare_columns": dictionary(df.columns, table).to_json(orient="records")
             .encode()}
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **extra})
    return write_with(path, lambda tmp: pq.write_table(arrow, tmp))


def write_json(df: pd.DataFrame, path: str | Path, meta: Mapping[str, Any],
               table: str = "") -> Path:
    """A JSON file: the run's metadata, the column meanings and the rows."""
    body = {"metadata": dict(meta),
            "columns": dictionary(df.columns, table).to_dict(orient="records"),
            "rows": json.loads(formatted(df, as_text=False).to_json(orient="records"))}
    return write_text(path, json.dumps(body, indent=1, default=str) + "\n")


def is_file_target(path: Path) -> bool:
    """A path ending in a table file extension names a file; anything else names a folder."""
    return path.suffix.lower() in FILE_SUFFIXES


def default_folder(command: str, name: str, now: datetime | None = None,
                   root: Path = RESULTS) -> Path:
    """``results/<date-time>-<command>-<name>``: one folder per command run, sortable by time."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    slug = _UNSAFE.sub("-", name).strip("-")[:60] or "run"
    return root / f"{stamp}-{command}-{slug}"


def write_output(out: Path | None, tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any],
                 *, command: str, name: str,
                 attachments: Mapping[str, Callable[[Path], object]] | None = None,
                 ) -> list[Path]:
    """Write labelled ``tables`` where ``out`` says (see the module docstring); files written.

    The first table is the command's main table: the one a single ``--out x.csv`` holds.
    ``attachments`` (file name -> writer) are more files of a folder (e.g. workbooks), written
    into it before it is swapped into place, so they too are all there or none.
    """
    if not tables:
        raise FairshareError("nothing to write")
    if out is not None and Path(out).suffix.lower() in OTHER_FILE_SUFFIXES:
        raise FairshareError(f"--out {out}: a results file ends in .csv, .parquet or .json "
                             "(for a workbook use `fairshare export --xlsx`; for a folder give "
                             "a path without a file extension)")
    labels = row_labels(meta)
    source = basis_source(tables)
    as_of = _as_of(meta)
    ready = {k: with_year_status(labelled(df, labels, source), as_of) if k in PLAN_TABLES
             else labelled(df, labels, source) for k, df in tables.items()}
    meta = {**meta, "command": command, "tables": list(ready)}
    if out is not None and is_file_target(Path(out)):
        main = next(iter(ready))
        return [_write_file(main, ready[main], Path(out), meta | {"tables": [main]})]
    if out is None or is_results_root(Path(out)):
        folder = default_folder(command, name, root=RESULTS if out is None else Path(out))
        while folder.exists():  # two runs in the same second
            folder = folder.with_name(folder.name + "-1")
        written = _write_folder(folder, ready, meta, attachments)
        point_latest(folder)
        return written
    return _write_folder(Path(out), ready, meta, attachments)


def is_results_root(folder: Path) -> bool:
    """A folder of dated output folders (and ``latest``): a new run goes in a folder of its
    own inside it, as by default, rather than replacing it."""
    if not folder.is_dir() or folder.is_symlink() or (folder / RUN_JSON).exists():
        return False
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return bool(entries) and all(
        p.name in (LATEST, LATEST_POINTER) or (p.is_dir() and (p / RUN_JSON).is_file())
        for p in entries)


def _write_file(table: str, df: pd.DataFrame, path: Path, meta: Mapping[str, Any]) -> Path:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return write_parquet(df, path, meta, table)
    if suffix == ".json":
        return write_json(df, path, meta, table)
    return write_csv(df, path)


def _write_folder(folder: Path, tables: Mapping[str, pd.DataFrame],
                  meta: Mapping[str, Any],
                  attachments: Mapping[str, Callable[[Path], object]] | None = None,
                  ) -> list[Path]:
    """Build the whole folder beside ``folder``, then swap it into place."""
    _check_replaceable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)  # what a killed earlier write of this folder left
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{os.getpid()}.", suffix=".tmp",
                                dir=folder.parent))
    try:
        for table, df in tables.items():
            write_csv(df, tmp / f"{table}.csv")
        for file_name, writer in (attachments or {}).items():
            writer(tmp / file_name)
        write_csv(dictionary_of(tables), tmp / COLUMNS_FILE)
        write_text(tmp / RUN_JSON, json.dumps(dict(meta), indent=2, default=str) + "\n")
        os.chmod(tmp, 0o777 & ~_umask())
        pause_for_test("output_before_swap")
        _swap_into_place(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    names = [*(f"{t}.csv" for t in tables), *(attachments or {}), COLUMNS_FILE, RUN_JSON]
    return [folder / n for n in names]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_replaceable(folder: Path) -> None:
    """Only an empty folder or an earlier fairshare output may be replaced."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FairshareError(f"--out {folder}: exists and is not a folder; give a new folder "
                             "or a file name ending in .csv, .parquet or .json")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / RUN_JSON).is_file():
        raise FairshareError(f"--out {folder}: this folder holds other files, not an earlier "
                             "fairshare output; give a new or empty folder (it is written "
                             "whole) or a file name ending in .csv")


def _swap_into_place(tmp: Path, folder: Path) -> None:
    """Rename ``tmp`` onto ``folder``; an earlier output there is moved aside, then removed."""
    if not folder.exists():
        os.rename(tmp, folder)
        return
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except OSError:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def point_latest(folder: Path) -> Path:
    """Point ``<results>/latest`` at ``folder`` atomically (a pointer file without symlinks)."""
    root = folder.parent
    link = root / LATEST
    tmp = root / f".{LATEST}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.symlink(folder.name, tmp, target_is_directory=True)
        os.replace(tmp, link)
    except (OSError, NotImplementedError):
        with contextlib.suppress(OSError):
            tmp.unlink()
        write_text(root / LATEST_POINTER, folder.name + "\n")
        return root / LATEST_POINTER
    return link


def write_results(out: Path | None, tables: Mapping[str, pd.DataFrame], bundle: Bundle,
                  scenario: Scenario, *, command: str = "results",
                  attachments: Mapping[str, Callable[[Path], object]] | None = None,
                  **extra: Any) -> list[Path]:
    """Write a command's tables with the run's metadata (``write_output``'s rules)."""
    meta = run_metadata(bundle, scenario, **extra)
    return write_output(out, tables, meta, command=command, name=scenario.name,
                        attachments=attachments)
