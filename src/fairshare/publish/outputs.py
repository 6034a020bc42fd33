"""Writing result tables so that they can be trusted once they leave the tool.

Every output carries what its numbers rest on: each row says the basis of its numbers (the
establishment it starts from: public baseline, modelled rows or a user's file) and the scenario
(name and digest); a folder also holds ``run.json`` (resolved scenario; what each input is,
judgement, public data, modelled or run option, from ``fairshare.provenance``; digests of every
input that changes a number; data vintages; version) and ``columns.csv`` (what each column
means, its unit and sign convention). Parquet files hold the same metadata as key-value
metadata, JSON files as fields.

Where results go (one rule for every command, docs/outputs.md):

* no ``--out``: a new folder ``results/<date-time>-<command>-<name>/``; ``results/latest`` then
  points at it (a symlink, or a ``latest.txt`` pointer where symlinks are not available);
* ``--out x.csv`` / ``x.parquet`` / ``x.json``: that one file (the command's main table);
* ``--out dir``: that folder, written whole. A folder holding only an earlier fairshare output
  is replaced as a whole, never mixed; a folder of dated output folders (such as ``results``)
  gets a new dated folder inside it; a folder holding anything else (a user's own files beside
  an earlier output, a stored run's folder) is refused.

A folder is built beside its destination and renamed into place only when complete, and
``latest`` is switched after that, so no reader ever sees half a run or two runs mixed. A new
dated folder is named under a lock on its parent, so commands started together each get a
folder of their own (``-2``, ``-3`` ... on a clash) instead of replacing each other's.
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
    folder_lock,
    pause_for_test,
    remove_stale_in,
    write_text,
    write_with,
)
from fairshare.provenance import run_provenance
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
        "provenance": run_provenance(scenario.resolved()),
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
    """A CSV written atomically, each column formatted as what it is (docs/outputs.md). The
    text is built in pyarrow where the table allows (``csv_text``: the same bytes as
    ``to_csv``, about 15 times faster for the named-post plan), else by pandas."""
    from fairshare.publish.csv_text import csv_bytes

    ready = defuse_formulas(formatted(df))
    data = csv_bytes(ready)
    if data is None:
        return write_with(path, lambda tmp: ready.to_csv(tmp, index=False))
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
    return write_with(path, write)


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
        risky = _risky(column)
        if risky.any():
            values = column.astype(object)
            out = out.copy() if out is df else out
            out[col] = values.where(~risky, "'" + values.astype(str))
    return out


def _risky(column: pd.Series) -> pd.Series:
    """Where a column's cells would run as formulas. Each distinct value is checked once (a
    results column repeats its areas, actions and reasons), and a text column only where a
    cell starts with a formula character: a folder of 140,000-row tables in well under a
    second instead of ~4 s cell by cell (issue 15)."""
    if isinstance(column.dtype, pd.StringDtype):
        starts = column.str.startswith(_FORMULA_START).fillna(False).astype(bool)
        if not starts.any():
            return starts
        column = column.where(starts)
    values = column.astype(object)
    distinct = pd.unique(values.to_numpy(object))
    formulas = [v for v in distinct if _is_formula(v)]
    return values.isin(formulas) if formulas else pd.Series(False, index=column.index)


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
                 extra_files: Mapping[str, str] | None = None,
                 attachments: Mapping[str, Callable[[Path], object]] | None = None,
                 ) -> list[Path]:
    """Write labelled ``tables`` where ``out`` says (see the module docstring); files written.

    The first table is the command's main table: the one a single ``--out x.csv`` holds.
    ``extra_files`` (file name -> text, e.g. a calibrated scenario) go into the folder with
    the tables; beside a single file they take that file's name as a prefix
    (``x.csv`` -> ``x.calibrated_scenario.yaml``), so they never replace a file of another run.
    ``attachments`` (file name -> writer) are more files of a folder (e.g. workbooks), written
    into it before it is swapped into place, so they too are all there or none.
    """
    if not tables:
        raise FairshareError("nothing to write")
    if out is not None:
        check_out_target(Path(out))
    extra = dict(extra_files or {})
    labels = row_labels(meta)
    source = basis_source(tables)
    as_of = _as_of(meta)
    ready = {k: with_year_status(labelled(df, labels, source), as_of) if k in PLAN_TABLES
             else labelled(df, labels, source) for k, df in tables.items()}
    meta = {**meta, "command": command, "tables": list(ready)}
    if out is not None and is_file_target(Path(out)):
        main = next(iter(ready))
        path = Path(out)
        written = [_write_file(main, ready[main], path, meta | {"tables": [main]})]
        return written + [write_text(path.with_name(f"{path.stem}.{n}"), text)
                          for n, text in extra.items()]
    if out is None or is_results_root(Path(out)):
        folder = default_folder(command, name, root=RESULTS if out is None else Path(out))
        written = _write_folder(folder, ready, meta, extra, new=True, attachments=attachments)
        point_latest(written[0].parent)
        return written
    return _write_folder(Path(out), ready, meta, extra, attachments=attachments)


#: The longest file or folder name accepted for ``--out`` (file systems allow 255 bytes, and
#: the temporary name built beside it is longer than the name itself).
MAX_NAME_CHARS = 200
_EXTENSION = re.compile(r"\.[A-Za-z]{1,5}")


def check_out_target(out: Path) -> None:
    """Refuse, before anything is computed or written, an ``--out`` that can only fail or
    surprise: a workbook or other file type, an unknown extension, a file name that exists as
    a folder, a name too long for the file system, or the current folder itself."""
    suffix = out.suffix.lower()
    if suffix in OTHER_FILE_SUFFIXES:
        raise FairshareError(f"--out {out}: a results file ends in .csv, .parquet or .json "
                             "(for a workbook use `fairshare export --xlsx`; for a folder give "
                             "a path without a file extension)")
    if _EXTENSION.fullmatch(out.suffix) and suffix not in FILE_SUFFIXES and not out.is_dir():
        raise FairshareError(f"--out {out}: unsupported file type '{out.suffix}': a results "
                             "file ends in .csv, .parquet or .json; for a folder give a name "
                             "without a file extension")
    if is_file_target(out) and out.is_dir():
        raise FairshareError(f"--out {out}: a folder of that name exists, so no {suffix} file "
                             "can be written there; give another file name, or a folder name "
                             "without a file extension")
    if len(out.name) > MAX_NAME_CHARS:
        raise FairshareError(f"--out: a file or folder name of {len(out.name)} characters; "
                             f"at most {MAX_NAME_CHARS} are accepted (file systems allow 255, "
                             "and a temporary name is built beside it)")
    if out.exists() and out.resolve() == Path.cwd().resolve() and not is_results_root(out):
        raise FairshareError(f"--out {out}: the current folder cannot be replaced by the "
                             "results; give a new folder name (e.g. --out results-1) or a file "
                             "name ending in .csv")


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


def check_out(out: Path) -> None:
    """Every check on ``--out`` that can be made before anything is computed, so a command
    (or a run saved to the store) never does its work only to be refused at the end."""
    check_out_target(out)
    if not is_file_target(out) and not is_results_root(out):
        _check_replaceable(out)
    check_writable(out)


def check_writable(target: Path) -> None:
    """The folder a file or folder is written into must accept new files (a read-only share or
    a protected folder is named, not met as a bare permission error half-way through)."""
    parent = next((p for p in (target.absolute().parent, *target.absolute().parents)
                   if p.exists()), None)
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise FairshareError(f"{target}: cannot write into {parent}: the folder is read-only "
                             "for you; give a folder you can write to")


def _write_folder(folder: Path, tables: Mapping[str, pd.DataFrame],
                  meta: Mapping[str, Any], extra: Mapping[str, str] | None = None, *,
                  new: bool = False,
                  attachments: Mapping[str, Callable[[Path], object]] | None = None,
                  ) -> list[Path]:
    """Build the whole folder beside ``folder``, then swap it into place; ``new``: never
    replace anything, take the first free name (``-2``, ``-3`` ...) instead."""
    extra = dict(extra or {})
    if not new:
        _check_replaceable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_in(folder.parent)  # what killed earlier writes (of any folder here) left
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{os.getpid()}.", suffix=".tmp",
                                dir=folder.parent))
    try:
        for table, df in tables.items():
            write_csv(df, tmp / f"{table}.csv")
        for file_name, writer in (attachments or {}).items():
            writer(tmp / file_name)
        write_csv(dictionary_of(tables), tmp / COLUMNS_FILE)
        write_text(tmp / RUN_JSON, json.dumps(dict(meta), indent=2, default=str) + "\n")
        for name, text in extra.items():
            write_text(tmp / name, text)
        os.chmod(tmp, 0o777 & ~_umask())
        pause_for_test("output_before_swap")
        folder = _rename_new(tmp, folder) if new else _swap_into_place(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    names = [*(f"{t}.csv" for t in tables), *(attachments or {}), COLUMNS_FILE, RUN_JSON,
             *extra]
    return [folder / n for n in names]


def _rename_new(tmp: Path, folder: Path) -> Path:
    """Rename ``tmp`` to ``folder``, or to ``folder-2``, ``-3`` ... if taken; under a lock on
    the parent, so two commands finishing in the same second never pick the same name (a
    rename onto an empty folder would otherwise replace it without an error)."""
    with folder_lock(folder.parent):
        candidate, n = folder, 1
        while os.path.lexists(candidate):
            n += 1
            candidate = folder.with_name(f"{folder.name}-{n}")
        os.rename(tmp, candidate)
    return candidate


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_replaceable(folder: Path) -> None:
    """Only an empty folder or an earlier fairshare output, and nothing else, may be replaced;
    never a folder of the run store."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FairshareError(f"--out {folder}: exists and is not a folder; give a new folder "
                             "or a file name ending in .csv, .parquet or .json")
    store = next((p for p in (folder, *folder.resolve().parents)
                  if (p / "registry.sqlite").is_file() and (p / "runs").is_dir()), None)
    if store is not None:
        raise FairshareError(f"--out {folder}: this is inside the run store ({store}), which "
                             "only fairshare's run commands change; export a stored run with "
                             "`fairshare runs export ID --out DIR`")
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    if not (folder / RUN_JSON).is_file():
        raise FairshareError(f"--out {folder}: this folder holds other files, not an earlier "
                             "fairshare output; give a new or empty folder (it is written "
                             "whole) or a file name ending in .csv")
    foreign = sorted(p.name for p in folder.iterdir()
                     if not p.name.startswith(".") and p.name not in _own_files(folder))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise FairshareError(f"--out {folder}: this folder holds an earlier fairshare output "
                             f"and other files ({shown}); replacing it would delete them. Give "
                             "a new or empty folder, or move those files out first")


#: Files a command writes into an output folder besides its tables.
EXTRA_OUTPUT_FILES = ("calibrated_scenario.yaml",)


def _own_files(folder: Path) -> set[str]:
    """The names an earlier fairshare output in ``folder`` wrote (from its run.json)."""
    try:
        meta = json.loads((folder / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {RUN_JSON}
    tables = meta.get("tables", []) if isinstance(meta, dict) else []
    names = {f"{t}.csv" for t in tables if isinstance(t, str)}
    return names | {RUN_JSON, COLUMNS_FILE, *EXTRA_OUTPUT_FILES}


def _swap_into_place(tmp: Path, folder: Path) -> Path:
    """Rename ``tmp`` onto ``folder``; an earlier output there is moved aside, then removed."""
    if not folder.exists():
        os.rename(tmp, folder)
        return folder
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except OSError:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return folder


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
                  extra_files: Mapping[str, str] | None = None,
                  attachments: Mapping[str, Callable[[Path], object]] | None = None,
                  **extra: Any) -> list[Path]:
    """Write a command's tables with the run's metadata (``write_output``'s rules)."""
    meta = run_metadata(bundle, scenario, **extra)
    return write_output(out, tables, meta, command=command, name=scenario.name,
                        extra_files=extra_files, attachments=attachments)
