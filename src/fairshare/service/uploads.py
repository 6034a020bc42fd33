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
            return Checked(0, [str(_renamed(p, names)) for p in exc.problems])
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
