"""The fast CSV text (publish/csv_text.py) against pandas' own ``to_csv``, byte for byte.

pandas is the reference written apart from the code under test: hand-made tables holding every
kind of cell a results table holds (text needing quotes, quotes, line breaks, a lone carriage
return, empty and missing cells, unicode, defused formulas, nullable integers, booleans), and
the named-post plan's own columns. Tables of another kind must be left to pandas (None).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.publish.csv_text import csv_text
from fairshare.publish.outputs import defuse_formulas, write_csv

TEXTS = ["plain", "a, b", 'say "hi"', "two\nlines", "cr\ronly", "", None, " spaced ",
         "tab\there", "Ærø – ü", "'=HYPERLINK(1)", '"', ",", "\n"]


def table() -> pd.DataFrame:
    n = len(TEXTS)
    return pd.DataFrame({
        "object text": pd.Series(TEXTS, dtype=object),
        "str text": pd.array(TEXTS, dtype="str"),
        "count": np.arange(n, dtype="int64") - 3,
        "nullable": pd.array([None if i % 3 == 0 else i * 1000 for i in range(n)],
                             dtype="Int64"),
        "flag": [i % 2 == 0 for i in range(n)],
        'head, "quoted"': ["x"] * n,
    })


def test_every_kind_of_cell_is_written_as_pandas_writes_it():
    df = table()
    assert csv_text(df) == df.to_csv(index=False)


def test_a_table_joined_from_pieces():
    """Columns pandas keeps as several pyarrow chunks (a table concatenated from parts)."""
    df = pd.concat([table(), table().iloc[::-1]], ignore_index=True)
    assert csv_text(df) == df.to_csv(index=False)


def test_rows_in_any_order_and_a_table_with_no_rows():
    df = table().sample(frac=1, random_state=3)
    assert csv_text(df) == df.to_csv(index=False)
    assert csv_text(df.iloc[:0]) == df.iloc[:0].to_csv(index=False)


@pytest.mark.parametrize("column", [
    pd.Series([0.5, 1.25] * 7),  # floats: pandas' own repr
    pd.Series(pd.to_datetime(["2027-08-01"] * 14)),
    pd.Series(["x", 1] * 7, dtype=object),  # mixed objects
    pd.Series(pd.Categorical(["a", "b"] * 7)),
    pd.Series([True, None] * 7, dtype="boolean"),
])
def test_other_kinds_of_column_are_left_to_pandas(column):
    df = table().assign(other=column.to_numpy() if not isinstance(column.dtype,
                                                                  pd.CategoricalDtype)
                        else column)
    assert csv_text(df) is None
    assert csv_text(table()[["count"]]) is None  # one column: csv quotes an empty cell
    twice = table()[["count", "flag"]].set_axis(["n", "n"], axis=1)
    assert csv_text(twice) is None


def test_write_csv_writes_the_same_bytes_either_way(tmp_path):
    """A results table (defused, formatted) through write_csv equals pandas' file."""
    df = table()
    path = write_csv(df, tmp_path / "t.csv")
    assert path.read_bytes() == defuse_formulas(df).to_csv(index=False).encode()
    floats = df.assign(share=np.linspace(0, 1, len(df)))  # formatted to text first
    path = write_csv(floats, tmp_path / "f.csv")
    from fairshare.publish.columns import formatted

    assert path.read_bytes() == defuse_formulas(formatted(floats)).to_csv(
        index=False).encode()
