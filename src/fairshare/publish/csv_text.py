"""A table's CSV text built column by column in pyarrow: the bytes ``DataFrame.to_csv`` writes.

``to_csv`` turns every row into Python objects and hands them to the ``csv`` module: for the
named-post plan (140,000 rows x 24 columns, written for England and again per local office)
that was most of the time `fairshare posts plan` spent writing its folder. Here each column is
made text at once in pyarrow (whole numbers, True/False, text; an empty cell for a missing
value), quoted where the ``csv`` module would quote it (a comma, a double quote or a line
break; a double quote doubled), and the columns joined row-wise, also in pyarrow.

Only the kinds of column written after ``columns.formatted`` are handled: integers (nullable
too), booleans and text. Anything else (floats, dates, categories, mixed objects), and a table
of one column (where ``csv`` quotes an empty cell) or with a column name twice, gives None: the
caller writes it with pandas. ``tests/test_csv_text.py`` checks the text equals ``to_csv``'s,
byte for byte.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: What makes the csv module quote a cell (its delimiter, its quote character and the line
#: terminator pandas gives it, "\n"; a lone "\r" is written as it is).
_NEEDS_QUOTES = r'[,"\n]'


def csv_text(df: pd.DataFrame) -> str | None:
    """``df.to_csv(index=False)`` (None for a table of a kind not handled: see the module)."""
    data = csv_bytes(df)
    return None if data is None else data.decode("utf-8")


def csv_bytes(df: pd.DataFrame) -> bytes | None:
    """``csv_text`` as UTF-8 bytes, taken straight from pyarrow's buffer (no Python string
    per row)."""
    if df.shape[1] < 2 or not df.columns.is_unique:
        return None
    columns = []
    for name in df.columns:
        text = _column_text(df[name])
        if text is None:
            return None
        columns.append(text)
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow([str(c) for c in df.columns])
    if df.empty:
        return head.getvalue().encode("utf-8")
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, ","), "\n", "")
    if isinstance(lines, pa.ChunkedArray):  # a column pandas keeps in pieces
        lines = lines.combine_chunks()
    wide = pa.types.is_large_string(lines.type)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if wide else np.int32)
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return head.getvalue().encode("utf-8") + memoryview(lines.buffers()[2])[first:last]


def _column_text(series: pd.Series) -> pa.Array | None:
    """One column as text, '' for a missing value, quoted as the csv module quotes."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not series.isna().any():
        return pa.array(series.map({True: "True", False: "False"}).to_numpy(object),
                        type=pa.string())
    if pd.api.types.is_integer_dtype(dtype):
        return pc.fill_null(pc.cast(pa.array(series, from_pandas=True), pa.string()), "")
    if isinstance(dtype, pd.StringDtype):
        text = pc.cast(pa.array(series, from_pandas=True), pa.string())
    elif _all_text(series):
        text = pa.array(series.to_numpy(object), type=pa.string(), from_pandas=True)
    else:
        return None
    return _quoted(pc.fill_null(text, ""))


def _all_text(series: pd.Series) -> bool:
    """An object column of text and missing values only (what pandas writes as text)."""
    if series.dtype != object:
        return False
    present = series.dropna()
    return bool(present.map(type).eq(str).all())


def _quoted(text: pa.Array) -> pa.Array:
    need = pc.match_substring_regex(text, _NEEDS_QUOTES)
    if not pc.any(need).as_py():
        return text
    doubled = pc.replace_substring(text, '"', '""')
    quoted = pc.binary_join_element_wise('"', doubled, '"', "")
    return pc.if_else(need, quoted, text)
