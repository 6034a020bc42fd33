"""Uploaded returns checked exactly as ``fairshare validate`` checks a file.

The bytes are written to a new private temporary folder under a fixed name (``capacity.csv``,
``posts.xlsx``...): the name the browser sent is never used as a path, only kept for display.
The file is then read by the same readers the command line uses (``inputs.bundle.read_capacity``
and ``read_cohorts``, ``inputs.tis.read_post_records``), so the problems listed are the same
words, rows and columns; only the file's name in them is the uploaded name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from fairshare.errors import FairshareError, InputError, Problem
from fairshare.inputs.bundle import Bundle, load_data, read_capacity, read_cohorts
from fairshare.service.settings import ServiceSettings


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name shown to people, and its bytes."""

    role: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class Checked:
    rows: int
    problems: list[str]


@lru_cache(maxsize=1)
def bundle() -> Bundle:
    """The embedded data the returns are checked against (read once per process)."""
    return load_data()


def display_name(raw: str | None) -> str:
    """The uploaded name as shown: its last part, control characters removed, 255 at most."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:255] or "unnamed file"


def limit_problem(upload: Upload, settings: ServiceSettings) -> str | None:
    """Why the upload is refused before reading (size, type), or None."""
    suffix = Path(upload.filename.lower()).suffix
    if suffix not in settings.upload_types:
        return (f"{upload.filename}: a {upload.role} file must end "
                f"{' or '.join(settings.upload_types)}, not {suffix or 'with no ending'}")
    if not upload.data:
        return f"{upload.filename}: the file is empty (expected a header row)"
    if len(upload.data) > settings.upload_max_bytes:
        return (f"{upload.filename}: too large ({len(upload.data):,} bytes; the limit is "
                f"{settings.upload_max_bytes:,})")
    return None


def check(kind: str, uploads: Mapping[str, Upload], office: str,
          settings: ServiceSettings) -> Checked:
    """Every problem with a return's files, as ``fairshare validate`` words them."""
    refused = [p for u in uploads.values() if (p := limit_problem(u, settings))]
    if refused:
        return Checked(0, refused)
    with tempfile.TemporaryDirectory(prefix="fairshare-upload-") as folder:
        paths = {role: _write(Path(folder), u) for role, u in uploads.items()}
        names = {str(paths[role]): u.filename for role, u in uploads.items()}
        try:
            table = READERS[kind](paths)
        except InputError as exc:
            return Checked(0, _listed(exc.problems, names))
        except FairshareError as exc:
            text = str(exc)
            for path, name in names.items():
                text = text.replace(path, name)
            return Checked(0, [text])
    wrong = sorted(set(table["local_office"]) - {office})
    if wrong:
        return Checked(0, [f"rows for {', '.join(wrong[:5])}: a return holds only your own "
                           f"office's rows ({office})"])
    return Checked(len(table), [])


#: Problems listed on the page; the rest are counted (as the command line does).
MAX_SHOWN = 20


def minimised(kind: str, uploads: Mapping[str, Upload]) -> dict[str, Upload]:
    """What the service keeps of a checked return: post records' placements cut to the four
    columns the plan reads (no trainee names or GMC numbers are stored); the rest as given."""
    kept = dict(uploads)
    if kind == "post_records" and "placements" in kept:
        from fairshare.inputs.tis import minimal_placements

        given = kept["placements"]
        with tempfile.TemporaryDirectory(prefix="fairshare-upload-") as folder:
            data = minimal_placements(_write(Path(folder), given))
        stem = given.filename.rsplit(".", 1)[0]
        kept["placements"] = replace(given, filename=f"{stem} (4 columns kept).csv", data=data)
    return kept


def _listed(problems: list[Problem], names: Mapping[str, str]) -> list[str]:
    shown = [str(_renamed(p, names)) for p in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        shown.append(f"... and {len(problems) - MAX_SHOWN:,} more problems: fix these and "
                     "check the file with `fairshare validate` before uploading again")
    return shown


#: The columns of the simple form, per kind: (year column, count column), as the templates.
FORM_COLUMNS = {"capacity": ("year", "capacity"), "cohorts": ("completion_year", "trainees")}
#: Rows the simple form offers.
FORM_ROWS = 10


def form_rows(kind: str, form: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The (specialty, year, count) rows typed in the form; empty rows left out."""
    rows = []
    for i in range(FORM_ROWS):
        row = tuple(form.get(f"{field}_{i}", "").strip() for field in ("specialty", "year",
                                                                        "count"))
        if any(row):
            rows.append(row)
    return rows  # type: ignore[return-value]


def form_as_csv(kind: str, office: str, rows: list[tuple[str, str, str]]) -> bytes:
    """The typed rows as the template's CSV, so they are checked by the same reader."""
    import csv
    import io

    year, count = FORM_COLUMNS[kind]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["local_office", "specialty", year, count])
    writer.writerows([office, *row] for row in rows)
    return out.getvalue().encode()


def form_problem(problem: str) -> str:
    """A problem in the CSV made from the form, told by the form's own row numbers."""
    import re

    def renumber(match: re.Match[str]) -> str:
        return f"form row {int(match.group(1)) - 1}"

    return re.sub(r"^[^,]*, row (\d+)", renumber, problem)


def _write(folder: Path, upload: Upload) -> Path:
    suffix = Path(upload.filename.lower()).suffix
    path = folder / f"{upload.role}{suffix if suffix in ('.csv', '.xlsx') else '.csv'}"
    path.write_bytes(upload.data)
    return path


def _renamed(problem: Problem, names: Mapping[str, str]) -> Problem:
    return replace(problem, file=names.get(problem.file, problem.file))


def _capacity(paths: Mapping[str, Path]) -> pd.DataFrame:
    return read_capacity(paths["capacity"], bundle())


def _cohorts(paths: Mapping[str, Path]) -> pd.DataFrame:
    return read_cohorts(paths["cohorts"], bundle())


def _post_records(paths: Mapping[str, Path]) -> pd.DataFrame:
    from fairshare.inputs.tis import read_post_records

    records = read_post_records(paths["posts"], paths["placements"],
                                list(bundle().specialties["specialty"]))
    return records.posts


READERS: dict[str, Callable[[Mapping[str, Path]], Any]] = {
    "capacity": _capacity, "cohorts": _cohorts, "post_records": _post_records}
