"""Reading a user's establishment (current posts) file, with every problem explained.

The current number of centrally funded training posts per local office (or ICB) and specialty is
not published, so it is the user's main input. A file is either wholly accepted or rejected with
one message listing every problem by file, row and column: a planner fixes the file once.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fairshare.errors import InputError, Problem, quote
from fairshare.io import GZIP_MAGIC, inflated, read_bytes, regular_file
from fairshare.names import did_you_mean

AREA_COLUMNS = ("local_office", "deanery", "icb", "icb_code", "area")
FUNDING_MOVED = "tariff"
FUNDING_VALUES = ("tariff", "trust", "research", "defence")


def _normalise(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def suggest(value: str, choices: list[str]) -> str:
    """A "did you mean" hint, matched as every flag matches names (``fairshare.names``)."""
    return did_you_mean(value, choices)


def read_table(path: str | Path, *, record_key: str | None = None) -> pd.DataFrame:
    """Read a CSV or Excel file as text columns; raise InputError for unreadable files.

    The file is read once, within ``MAX_FILE_BYTES``, and recognised by its content, not its
    name: a CSV renamed .xlsx, a damaged workbook, a zip bomb, an XML entity, a pipe or a
    device each get a message naming the file and what to do. ``-`` reads standard input.
    ``record_key`` (a header a large record file always has, e.g. ``National Post Number``)
    reads a workbook with calamine (``xlsx_text``: cells as text, a date cell as dd/mm/yyyy),
    about 20 times faster than openpyxl, its data sheet the first whose header holds it.
    """
    name = "standard input" if str(path) == "-" else str(path)
    return table_from_bytes(read_bytes(path, name, MAX_FILE_BYTES), name,
                            Path(str(path)).name, record_key=record_key)


def table_from_bytes(data: bytes, name: str, file_name: str, *,
                     record_key: str | None = None) -> pd.DataFrame:
    """``read_table`` of a file's bytes already in memory (an upload to the web app): ``name``
    is how messages call it, ``file_name`` gives its type (.csv, .xlsx; a CSV may have none)."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError([Problem(name, None, None, f"{len(data):,} bytes: larger than the "
                                  f"{MAX_FILE_BYTES:,} an input file may have")])
    if not data:
        raise InputError([Problem(name, None, None, "the file is empty (expected a header row)")])
    suffix = Path(file_name).suffix.lower()
    if data.startswith(GZIP_MAGIC) or suffix == ".gz":  # x.csv.gz: unpacked within the limit
        data = inflated(data, name, MAX_FILE_BYTES)
        suffix = Path(file_name.removesuffix(Path(file_name).suffix)).suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt", ""):
        raise InputError(
            [Problem(name, None, None, f"unsupported file type '{suffix}': use .csv or .xlsx")]
        )
    if data.startswith(OLE2_MAGIC):
        raise InputError([Problem(name, None, None, "an old-style .xls workbook: open it in "
                                  "Excel and save it as .xlsx (or as CSV UTF-8)")])
    if data.startswith(ZIP_MAGIC):
        raw = _read_workbook(data, name, record_key)
    elif suffix in (".xlsx", ".xlsm"):
        raise InputError([Problem(name, None, None, "not an Excel workbook: the file holds "
                                  "plain text (CSV?); rename it to .csv, or save it from Excel "
                                  "as .xlsx")])
    else:
        raw = _read_csv(data, name)
    table = _with_header(raw, name)
    table.attrs["sheet"] = raw.attrs.get("sheet")
    return table


#: Limits on an input table: an establishment has at most about 11,000 rows (42 ICBs x 65
#: specialties x 4 kinds of funding), so these leave room for any real file and stop a wrong
#: or hostile one early instead of using minutes and gigabytes.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: A data folder's files (docs/own_data.md) are larger: growth factors for 5,000 areas x 38 age
#: and sex groups x 22 years are about 4 million rows.
MAX_DATA_BYTES = 512 * 1024 * 1024
MAX_ROWS = 200_000
#: An input table has a few columns (area, specialty, posts, funding, year, notes); a wide file
#: is the wrong file, and 100,000 columns would take minutes to parse and check.
MAX_COLUMNS = 200
#: A data folder's widest table (population by age band and sex) has about 45 columns.
MAX_DATA_COLUMNS = 1000
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
#: The largest count accepted in one cell (all of England has fewer training posts).
MAX_COUNT = 100_000
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"


def read_data_csv(path: str | Path, categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """A data folder's table (population, geography, catalogue), typed by pandas, read with the
    same guards as a user's file: size, pipes and devices, encoding, ragged rows; and no
    number beyond ``MAX_DATA_VALUE``. Pandas reads the file itself, so a large country's
    files are never copied whole into memory; the text columns named in ``categories`` (codes
    repeated on millions of rows) are read as categories, a few bytes a row instead of a
    Python string each."""
    name = str(path)
    regular = regular_file(path, name, MAX_DATA_BYTES)  # read by pandas: no copy in memory
    with open(regular, "rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(_WIDE_BOMS) or (len(head) > 8 and head[1:200:2].count(0) > 30):
        check_text(head[:200], name)  # names UTF-16 as such
    check_width(head.split(b"\n", 1)[0], name, MAX_DATA_COLUMNS)
    with _csv_problems(name), warnings.catch_warnings():
        # a longer first row would silently become an index
        warnings.simplefilter("error", pd.errors.ParserWarning)
        if not categories:
            return _plausible(pd.read_csv(regular, index_col=False, encoding="utf-8-sig"), name)
        return _plausible(_read_in_chunks(regular, categories), name)


#: Rows read at a time from a large data file (its peak memory is one slice, not the file).
CHUNK_ROWS = 100_000


def _read_in_chunks(path: Path, categories: tuple[str, ...]) -> pd.DataFrame:
    """A large table read a slice at a time into columns allocated once for every row, its
    ``categories`` columns kept as integer codes into one shared list of values: memory never
    holds the file's text nor two copies of a column (5,000 areas' growth factors, 4 million
    rows, take about 0.1 GB)."""
    import numpy as np

    rows = _count_lines(path)
    values: dict[str, dict[object, int]] = {c: {} for c in categories}
    columns: dict[str, np.ndarray] = {}
    done = 0
    for chunk in pd.read_csv(path, index_col=False, encoding="utf-8-sig",
                             chunksize=CHUNK_ROWS):
        n = len(chunk)
        for col in chunk.columns:
            column = chunk[col]
            if col in values and not pd.api.types.is_numeric_dtype(column):
                local = column.astype("category")
                known = values[col]
                ids = np.array([known.setdefault(v, len(known)) for v in local.cat.categories]
                               + [-1], dtype=np.int32)
                data = ids[local.cat.codes.to_numpy()]
            else:
                data = column.to_numpy()
            if col not in columns:
                columns[col] = np.empty(rows, dtype=data.dtype)
            target = columns[col]
            if not np.can_cast(data.dtype, target.dtype, casting="same_kind") or (
                    data.dtype.kind == "f" and target.dtype.kind in "iu"):
                target = columns[col] = target.astype(np.result_type(target.dtype, data.dtype))
            target[done:done + n] = data
        done += n
    frame = {}
    for col, data in columns.items():
        data = data[:done]
        frame[col] = (pd.Categorical.from_codes(data, categories=list(values[col]))
                      if col in values and data.dtype == np.int32 else data)
    return pd.DataFrame(frame, copy=False)


def _count_lines(path: Path) -> int:
    """Data rows at most in a CSV file (its lines less the header), counted in 1 MB blocks."""
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines - (1 if last == b"\n" else 0), 0)


#: No population, weight, share, factor or year in a data folder comes near this (ten billion
#: is more than the world's population): a larger or infinite value is a broken file, and one
#: 1e308 would otherwise take the whole of a fair share without any error.
MAX_DATA_VALUE = 1e10


@contextlib.contextmanager
def _csv_problems(name: str) -> Iterator[None]:
    """pandas' reading errors as a planner's messages naming the file (and row where known)."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, None, None, f"not UTF-8 text (byte "
                                  f"{exc.object[exc.start]:#04x}); save the file as "
                                  "'CSV UTF-8'")]) from None
    except pd.errors.ParserWarning:
        raise InputError([Problem(name, 2, None, "this row has more values than the header has "
                                  "columns (a stray comma, or a missing column name?)")]) from None
    except pd.errors.EmptyDataError:
        raise InputError([Problem(name, None, None, "the file is empty (no header row)")]) from None
    except pd.errors.ParserError as exc:
        raise InputError([_ragged(name, str(exc))]) from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise InputError([Problem(name, None, None, f"cannot be read: {quote(exc)}")]) from None


def _plausible(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Refuse infinite or absurdly large numbers, naming their rows and columns."""
    problems = []
    for col in df.columns:
        if pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            values = df[col].astype("float64")
            bad = values[values.abs() > MAX_DATA_VALUE]  # inf too; NaN (blank) is left to schemas
            problems += [Problem(name, int(i) + 2, str(col), f"{v:g} is not a plausible value "
                                 f"(more than {MAX_DATA_VALUE:,.0f})") for i, v in bad.items()]
    if problems:
        raise InputError(problems)
    return _short_cells(df, name)


#: Byte-order marks of UTF-16 and UTF-32 (Excel's "Unicode text" and some exports).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")


def check_text(data: bytes, name: str) -> None:
    """UTF-8 text (a byte-order mark allowed) without NUL bytes, or a message naming the line
    that is not and the encoding it probably is (UTF-16, Latin-1/Windows-1252)."""
    head = data[:200]
    if head.startswith(_WIDE_BOMS) or (len(head) > 8 and head[1::2].count(0) > len(head) // 3):
        raise InputError([Problem(name, 1, None, "UTF-16 text (Excel's 'Unicode Text'), not "
                                  "UTF-8: save the file as 'CSV UTF-8 (Comma delimited)'")])
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        text = data[start:end if end >= 0 else None][:80].decode("cp1252", "replace")
        raise InputError([Problem(name, line, None, f"not UTF-8 text (byte "
                                  f"{data[exc.start]:#04x} at position {exc.start:,}; the line "
                                  f"reads {quote(text)!r} as Latin-1/Windows-1252): save the "
                                  "file as 'CSV UTF-8'")]) from None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputError([Problem(name, line, None, "holds NUL (zero) bytes: not a text file; "
                                  "save it as 'CSV UTF-8'")])


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    check_text(data, name)  # here for a message naming the line; pandas decodes again
    check_width(data[:1 << 20].split(b"\n", 1)[0], name)  # before pandas parses every column
    with _csv_problems(name):
        return pd.read_csv(io.BytesIO(data), dtype=str, header=None, skipinitialspace=True,
                           nrows=MAX_ROWS + 2, encoding="utf-8-sig")


def _read_workbook(data: bytes, name: str, record_key: str | None = None) -> pd.DataFrame:
    """The data sheet of an .xlsx, after checking the zip is a sound, honest workbook."""
    check_workbook(data, name)
    try:
        if record_key:  # large record files: calamine, cells as text
            from fairshare.inputs.xlsx_text import sheets_as_text

            return _data_sheet(sheets_as_text(data, MAX_ROWS + 2), name, (record_key,))
        sheets = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl", header=None,
                               nrows=MAX_ROWS + 2, sheet_name=None)
    except InputError:
        raise
    except Exception as exc:  # openpyxl and calamine raise many kinds for a damaged workbook
        raise InputError([Problem(name, None, None, f"not a readable Excel workbook "
                                  f"({type(exc).__name__}: {quote(exc)}); save it again from "
                                  "Excel")]) from None
    return _data_sheet(sheets, name)


def check_workbook(data: bytes, name: str) -> None:
    """A sound, honest workbook: a zip holding xl/workbook.xml, within the unzipped limit,
    with no XML entity declarations (else InputError saying what to do)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            names = {m.filename for m in members}
            if "xl/workbook.xml" not in names:
                raise InputError([Problem(name, None, None, "a zip file but not an Excel "
                                          "workbook (no xl/workbook.xml): save it from Excel "
                                          "as .xlsx")])
            unzipped = sum(m.file_size for m in members)
            if unzipped > MAX_UNZIPPED_BYTES:
                raise InputError([Problem(name, None, None, f"the workbook unpacks to "
                                          f"{unzipped:,} bytes (limit {MAX_UNZIPPED_BYTES:,}): "
                                          "too large, or a zip bomb")])
            for m in members:
                if m.filename.endswith((".xml", ".rels")):
                    with zf.open(m) as part:
                        head = part.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise InputError([Problem(name, None, None, f"the workbook part "
                                                  f"{quote(m.filename)} declares XML entities, "
                                                  "which Excel never writes: re-save the file "
                                                  "from Excel")])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise InputError([Problem(name, None, None, f"not a readable Excel workbook (damaged "
                                  f"or truncated: {quote(exc)}); save it again from Excel")]
                         ) from None
#: A data sheet's header names an area or a specialty (every input table has one of them).
_KEY_COLUMNS = {*AREA_COLUMNS, "specialty"}


def _data_sheet(sheets: dict[str, pd.DataFrame], name: str,
                keys: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The sheet that holds the data: the first whose first row names an area or specialty
    column, or one of ``keys`` (a template's notes or a cover sheet may come first); else the
    first sheet, and when it has no such header but a later sheet has rows, an error naming
    every sheet."""
    if not sheets:
        raise InputError([Problem(name, None, None, "the workbook has no worksheet")])
    wanted = {_normalise(k) for k in keys} if keys else _KEY_COLUMNS
    first = next(iter(sheets))
    for title, df in sheets.items():
        header = {_normalise(c).rstrip("*").strip("_") for c in df.iloc[0].dropna()} if (
            not df.empty) else set()
        if wanted & header:
            if title != first:
                df.attrs["sheet"] = title  # said by `validate`: the data are not on sheet 1
            return df
    others = [t for t, df in sheets.items() if t != first and not df.dropna(how="all").empty]
    if others:
        listed = ", ".join(f"'{quote(t)}'" for t in sheets)
        naming = (" or ".join(f"'{k}'" for k in keys) if keys else
                  "'local_office' (or 'icb') and 'specialty'")
        raise InputError([Problem(name, 1, None, f"no sheet of the workbook starts with a "
                                  f"header naming {naming} (sheets: {listed}); fairshare reads "
                                  "the first sheet with such a header row in row 1")])
    return sheets[first]


def check_width(header: bytes, name: str, limit: int | None = None) -> None:
    """Refuse a header row of more than ``limit`` (``MAX_COLUMNS``) comma-separated columns."""
    columns = header.count(b",") + 1
    if columns > (limit or MAX_COLUMNS):
        raise _too_wide(name, columns, limit or MAX_COLUMNS)


def _too_wide(name: str, columns: int, limit: int = 0) -> InputError:
    return InputError([Problem(name, 1, None, f"{columns:,} columns: an input table has a "
                               f"handful (at most {limit or MAX_COLUMNS:,} are read); is this "
                               "the right file?")])


def _with_header(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """The first row as normalised column names; duplicated names and excess rows refused."""
    if raw.empty:
        raise InputError([Problem(name, None, None, "the file is empty (no header row)")])
    if raw.shape[1] > MAX_COLUMNS:
        raise _too_wide(name, raw.shape[1])
    header = [_normalise(c) if isinstance(c, str) and c.strip() else f"unnamed_{i + 1}"
              for i, c in enumerate(raw.iloc[0])]
    seen: dict[str, int] = {}
    problems = []
    for i, col in enumerate(header, start=1):
        if col in seen:
            problems.append(Problem(name, 1, col, f"column given twice (columns {seen[col]} and "
                                    f"{i}): keep one"))
        seen.setdefault(col, i)
    if problems:
        raise InputError(problems)
    df = raw.iloc[1:].reset_index(drop=True)
    df.columns = header
    if df.empty:
        raise InputError([Problem(name, None, None, "the file has a header but no data rows")])
    if len(df) > MAX_ROWS:
        raise InputError([Problem(name, None, None, f"more than {MAX_ROWS:,} data rows: an "
                                  "establishment has about 11,000 at most (42 ICBs x 65 "
                                  "specialties x 4 kinds of funding); is this the right file?")])
    return _short_cells(df, name)


#: Reading stops after this many problems: they are summarised anyway, and a wrong file of
#: 200,000 rows would otherwise spend a minute finding near names for each.
MAX_PROBLEMS = 1000
#: No name, code or number in an input is longer than this; a longer cell is a broken file,
#: and matching it against names would take seconds and gigabytes.
MAX_CELL_CHARS = 1000


def _short_cells(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Refuse cells longer than ``MAX_CELL_CHARS``, naming their rows and columns."""
    problems = []
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):  # its few distinct values
            long = [v for v in df[col].cat.categories if len(str(v)) > MAX_CELL_CHARS]
            if long:
                row = int(df[col].isin(long[:1]).to_numpy().argmax())
                problems.append(Problem(name, row + 2, str(col), f"a cell of {len(long[0]):,} "
                                        "characters: no name, code or number is that long "
                                        f"(limit {MAX_CELL_CHARS:,})"))
            continue
        if pd.api.types.is_object_dtype(df[col]) or pd.api.types.is_string_dtype(df[col]):
            lengths = df[col].str.len()
            for i, n in lengths[lengths > MAX_CELL_CHARS].items():
                problems.append(Problem(name, int(i) + 2, str(col), f"a cell of {int(n):,} "
                                        f"characters: no name, code or number is that long "
                                        f"(limit {MAX_CELL_CHARS:,})"))
    if problems:
        raise InputError(problems)
    return df


def _ragged(name: str, text: str) -> Problem:
    """pandas' tokenizer message, in a planner's words, with the row it names."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if not found:
        return Problem(name, None, None, f"cannot be read: {text}")
    expected, line, saw = (int(g) for g in found.groups())
    return Problem(name, line, None, f"this row has {saw} values but the header has {expected} "
                   "columns (a stray comma, or a missing column name?)")


def area_lookup(
    local_offices: pd.DataFrame, icbs: pd.DataFrame
) -> tuple[dict[str, str], dict[str, str]]:
    """Accepted spellings (lower case) -> canonical local office / ICB code."""
    lo: dict[str, str] = {}
    for row in local_offices.itertuples():
        lo[str(row.local_office).lower()] = str(row.local_office)
        lo[str(row.lo_code).lower()] = str(row.local_office)
    icb: dict[str, str] = {}
    for row in icbs.itertuples():
        for key in (row.icb_code, row.icb_ods, row.icb_name):
            icb[str(key).lower()] = str(row.icb_code)
    return lo, icb


@dataclass(frozen=True)
class Field:
    """A numeric column of an area x specialty input file."""

    name: str
    kind: str = "count"  # "count": whole number >= 0; "year": a calendar year
    required: bool = True


def parse_posts(
    df: pd.DataFrame,
    source: str,
    specialties: list[str],
    local_offices: pd.DataFrame,
    icbs: pd.DataFrame,
    pieces: set[tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, str]:
    """Check a raw establishment table; return (area, specialty, posts, funding; level)."""
    clean, level = parse_area_rows(df, source, specialties, local_offices, icbs,
                                   [Field("posts")], funding=True, pieces=pieces)
    if clean.loc[clean["funding"] == FUNDING_MOVED, "posts"].sum() == 0:
        raise InputError([Problem(source, None, "posts", "no centrally funded posts to "
                                  "distribute: every row is 0 or funded otherwise (funding "
                                  f"'{FUNDING_MOVED}' marks the posts fairshare moves)")])
    return clean, level


def parse_area_rows(
    df: pd.DataFrame,
    source: str,
    specialties: list[str],
    local_offices: pd.DataFrame,
    icbs: pd.DataFrame,
    fields: list[Field],
    *,
    funding: bool = False,
    pieces: set[tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, str]:
    """Check an area x specialty table with numeric ``fields``; raise InputError listing all
    problems. Returns the clean table (area, specialty, fields..., [funding]) and the area
    level ('local_office' or 'icb'). Rows are numbered as a spreadsheet shows them (header = 1).

    A file with both an ICB column and ``local_office`` (and ``pieces``, the valid
    (icb_code, local_office) pairs, given) is read per ICB piece: level 'piece', with a
    ``local_office`` column after ``area`` (as ``fairshare baseline build`` writes).
    """
    icb_col = next((c for c in ("icb_code", "icb") if c in df.columns), None)
    by_piece = pieces is not None and icb_col is not None and "local_office" in df.columns
    problems: list[Problem] = []
    area_col = icb_col if by_piece else next((c for c in AREA_COLUMNS if c in df.columns), None)
    needed = ["specialty", *[f.name for f in fields if f.required]]
    missing = [c for c in needed if c not in df.columns]
    if area_col is None:
        missing.insert(0, "local_office (or icb)")
    if missing:
        found = ", ".join(df.columns) or "none"
        raise InputError(
            [
                Problem(source, 1, m, f"required column missing (columns found: {found})")
                for m in missing
            ]
        )
    assert area_col is not None
    lo_map, icb_map = area_lookup(local_offices, icbs)
    spec_map = {s.lower(): s for s in specialties}
    level = "icb" if area_col in ("icb", "icb_code") else "local_office"
    if by_piece:
        level = "piece"
    elif area_col == "area":
        values = df["area"].dropna().str.strip().str.lower()
        level = "local_office" if values.isin(list(lo_map)).mean() >= 0.5 else "icb"
    area_map = lo_map if level == "local_office" else icb_map
    area_names = sorted(set(area_map.values())) if level == "local_office" else sorted(icb_map)
    present = [f for f in fields if f.name in df.columns]
    use_funding = funding and "funding" in df.columns
    if not by_piece:  # a sound file is read column by column; a faulty one row by row below
        fast = _sound_rows(df, area_col, area_map, spec_map, present, use_funding, funding)
        if fast is not None:
            return fast, level

    rows = []
    seen: dict[tuple[object, ...], int] = {}
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        if len(problems) >= MAX_PROBLEMS:  # a wrong file: say so now, not after minutes
            problems.append(Problem(source, line, None, f"stopped reading here after "
                                    f"{MAX_PROBLEMS:,} problems: is this the right file?"))
            break
        raw_area = cell_text(rec.get(area_col))
        raw_spec = cell_text(rec.get("specialty"))
        area = area_map.get(raw_area.lower())
        if not raw_area:
            problems.append(Problem(source, line, area_col, "empty: expected an area name or code"))
        elif area is None:
            what = "local office" if level == "local_office" else "ICB code, ODS code or name"
            problems.append(
                Problem(
                    source,
                    line,
                    area_col,
                    f"unknown {what} '{raw_area}'" + suggest(raw_area.lower(), area_names),
                )
            )
        spec = spec_map.get(raw_spec.lower())
        if not raw_spec:
            problems.append(Problem(source, line, "specialty", "empty: expected a specialty name"))
        elif spec is None:
            problems.append(
                Problem(
                    source,
                    line,
                    "specialty",
                    f"unknown specialty '{raw_spec}'" + suggest(raw_spec, specialties)
                    + " (see `fairshare specialties`)",
                )
            )
        row: dict[str, object] = {"area": area, "specialty": spec}
        ok = True
        if by_piece:
            assert pieces is not None
            office, problem = _piece_office(cell_text(rec.get("local_office")), area, lo_map,
                                            pieces)
            if problem:
                problems.append(Problem(source, line, "local_office", problem))
                ok = False
            row["local_office"] = office
        for f in present:
            text = cell_text(rec.get(f.name))
            if not text and not f.required:  # an optional column left blank: "not given"
                row[f.name] = None
                continue
            value = (parse_year if f.kind == "year" else parse_count)(text)
            if isinstance(value, str):
                problems.append(Problem(source, line, f.name, value))
                ok = False
            row[f.name] = value
        if use_funding:
            kind = (cell_text(rec.get("funding")) or FUNDING_MOVED).lower()
            if kind not in FUNDING_VALUES:
                problems.append(Problem(source, line, "funding", f"'{quote(kind)}' is not one "
                                        f"of {', '.join(FUNDING_VALUES)}"))
            row["funding"] = kind
        elif funding:
            row["funding"] = FUNDING_MOVED
        if area and spec and ok:
            key = (area, row.get("local_office"), spec, row.get("funding"),
                   *[row[f.name] for f in present if f.kind == "year"])
            if key in seen:
                what = " / ".join(str(k) for k in key if k is not None and k != FUNDING_MOVED)
                problems.append(
                    Problem(source, line, None,
                            f"duplicate row: {what} already given on row {seen[key]}")
                )
            else:
                seen[key] = line
                rows.append(row)
    if problems:
        raise InputError(problems)
    columns = ["area", *(["local_office"] if by_piece else []), "specialty",
               *[f.name for f in present]] + (["funding"] if funding else [])
    clean = pd.DataFrame(rows, columns=columns)
    for f in present:
        clean[f.name] = clean[f.name].astype("int64" if f.required else "Int64")
    return clean, level


def _texts(column: pd.Series) -> pd.Series:
    """A column's cells as ``cell_text`` reads them: stripped text, blank for missing."""
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    return text.where(text.str.lower() != "nan", "")


def _sound_rows(df: pd.DataFrame, area_col: str, area_map: dict[str, str],
                spec_map: dict[str, str], present: list[Field], use_funding: bool,
                funding: bool) -> pd.DataFrame | None:
    """The clean table of a file with no problem at all, read a column at a time (150,000 rows
    in a fraction of a second); None as soon as anything is wrong, so that the row-by-row
    reading finds and explains every problem exactly as before."""
    area = _texts(df[area_col]).str.lower().map(area_map)
    spec = _texts(df["specialty"]).str.lower().map(spec_map)
    if area.isna().any() or spec.isna().any():
        return None
    clean = pd.DataFrame({"area": area.astype(object), "specialty": spec.astype(object)})
    for f in present:
        text = _texts(df[f.name])
        blank = text == ""
        if f.required and blank.any():
            return None
        value = pd.to_numeric(text.str.replace(",", "", regex=False).where(~blank),
                              errors="coerce")
        given = value[~blank]
        low, high = (2000, 2100) if f.kind == "year" else (0, MAX_COUNT)
        if given.isna().any() or not ((given >= low) & (given <= high)
                                      & (given == given.round())).all():
            return None
        clean[f.name] = value.astype("int64" if f.required else "Int64")
    if use_funding:
        kind = _texts(df["funding"]).str.lower().replace("", FUNDING_MOVED)
        if not kind.isin(FUNDING_VALUES).all():
            return None
        clean["funding"] = kind.astype(object)
    elif funding:
        clean["funding"] = FUNDING_MOVED
    keys = ["area", "specialty", *(["funding"] if funding else []),
            *[f.name for f in present if f.kind == "year"]]
    if clean.duplicated(keys).any():
        return None
    return clean


def _piece_office(raw: str, icb: str | None, lo_map: dict[str, str],
                  pieces: set[tuple[str, str]]) -> tuple[str | None, str]:
    """The local office of a per-piece row, or the reason it is not one of the ICB's pieces."""
    office = lo_map.get(raw.lower())
    if office is None:
        return None, f"unknown local office '{raw}'" + suggest(raw.lower(),
                                                                sorted(set(lo_map.values())))
    if icb is not None and (icb, office) not in pieces:
        return None, f"ICB {icb} has no part in {office} (see icb_local_office.csv)"
    return office, ""


def cell_text(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text.lower() == "nan" else text


def parse_year(raw: str) -> int | str:
    """A calendar year, or the reason it is not one."""
    if raw == "":
        return "empty: expected a year such as 2027"
    value = parse_count(raw)
    if isinstance(value, str):
        return f"'{quote(raw)}' is not a year (expected e.g. 2027)"
    if not 2000 <= value <= 2100:
        return f"{raw} is not a plausible year (expected e.g. 2027)"
    return value


def parse_count(raw: str) -> int | str:
    """A whole, non-negative number of posts, or the reason it is not one."""
    if raw == "":
        return "empty: expected a whole number of posts (0 or more)"
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        return f"'{quote(raw)}' is not a number: expected a whole number of posts"
    if value != value or value in (float("inf"), float("-inf")):
        return f"'{quote(raw)}' is not a number: expected a whole number of posts"
    if value < 0:
        return f"{quote(raw)} is negative: posts cannot be below 0"
    if value != int(value):
        return f"{quote(raw)} is not a whole number: posts are counted in whole posts"
    if value > MAX_COUNT:
        return (f"{quote(raw)} is too large: at most {MAX_COUNT:,} in one area and specialty "
                "(all of England has fewer training posts)")
    return int(value)


#: Trainees in an area and specialty can exceed its posts only through less-than-full-time
#: working (two half-time trainees share a post), so more than this many per post is an error.
MAX_TRAINEES_PER_POST = 2


def check_trainees_fit(cohorts: pd.DataFrame, posts: pd.DataFrame, source: str) -> None:
    """Trainees (summed over completion years) must fit the posts of their area and specialty:
    a million trainees in an area with 157 posts would show a million vacancies."""
    keys = ["local_office", "specialty"]
    held = posts.groupby(keys)["posts"].sum()
    trainees = cohorts.groupby(keys)["trainees"].sum()
    joined = trainees.to_frame().join(held, how="left").fillna({"posts": 0})
    over = joined[joined["trainees"] > MAX_TRAINEES_PER_POST * joined["posts"]]
    problems = [
        Problem(source, None, "trainees", f"{area}, {spec}: {int(row.trainees):,} trainees but "
                f"{int(row.posts):,} posts; more than {MAX_TRAINEES_PER_POST} per post even with "
                "every trainee half time: is this the right file, or the right --posts?")
        for (area, spec), row in over.iterrows()
    ]
    if problems:
        raise InputError(problems)
