"""Errors a planner can act on.

Every problem with a user's input names the file, the row and the column, and says what was
expected, so that the CLI can print it instead of a traceback.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


class FairshareError(Exception):
    """Base class for errors the CLI reports as a clear message (exit code 2)."""


#: A message quotes at most this many characters of a user's value: a 50 MB cell must not
#: become 50 MB of error text.
MAX_QUOTE = 80
#: An error lists at most this many problems; the rest are counted by column and kind.
MAX_LISTED = 20


def quote(value: object, limit: int = MAX_QUOTE) -> str:
    """A user's value for a message: shortened, with unprintable characters escaped."""
    text = str(value)
    short = text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"
    return short.encode("unicode_escape").decode("ascii") if not short.isprintable() else short


#: Characters never shown raw in a message: controls, format characters (zero-width space,
#: joiners, direction marks), separators other than the plain space, private and unassigned.
_HIDDEN = ("Cc", "Cf", "Zl", "Zp", "Zs", "Co", "Cn", "Cs")


def _looks_like_ascii(char: str, word: str) -> bool:
    """A non-ASCII letter that passes for an ASCII one: a fullwidth or compatibility form, or a
    Cyrillic/Greek/other-script letter inside a word that is otherwise ASCII ("North Wеst")."""
    if char.isascii() or not char.isalpha():
        return False
    if unicodedata.normalize("NFKC", char).isascii():
        return True
    latin = unicodedata.name(char, "").startswith("LATIN")
    return not latin and any(c.isascii() and c.isalpha() for c in word)


def reveal(text: str) -> str:
    """``text`` with invisible and look-alike characters shown as their code points
    (``<U+0435>``), so a value that differs from its "did you mean" only in a hidden or
    look-alike letter never reads exactly like it. Plain spaces, tabs, line breaks and honest
    accented letters (Café, Ynys Môn) are left as they are."""
    if text.isascii() and text.replace("\n", "").replace("\t", "").replace("\r", "").isprintable():
        return text
    out = []
    for word in re.split(r"(\s+)", text):
        for char in word:
            hidden = unicodedata.category(char) in _HIDDEN and char not in " \t\n\r"
            out.append(f"<U+{ord(char):04X}>" if hidden or _looks_like_ascii(char, word)
                       else char)
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        message = self.message
        if len(message) > 4 * MAX_QUOTE:
            message = quote(message, 4 * MAX_QUOTE)
        return reveal(f"{', '.join(where)}: {message}")

    @property
    def kind(self) -> str:
        """The problem without the row's own value: problems of one kind share it."""
        generic = re.sub(r"'[^']*'", "'…'", self.message.split(" (did you mean")[0])
        return re.sub(r"-?\d[\d,.e+]*", "#", generic)


class InputError(FairshareError):
    """One or more problems with an input file; all are reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        head = f"{count:,} problem{'s' if count != 1 else ''} found"
        lines = [f"  - {p}" for p in problems[:MAX_LISTED]]
        if count > MAX_LISTED:
            lines.append(f"  ... and {count - MAX_LISTED:,} more: " + _summary(
                problems[MAX_LISTED:]))
        super().__init__(head + ":\n" + "\n".join(lines))


def _summary(problems: list[Problem]) -> str:
    """Repeated problems counted by column and kind, most frequent first (at most 10 kinds)."""
    counts: dict[str, int] = {}
    for p in problems:
        key = (f"column '{p.column}': " if p.column else "") + quote(p.kind, 100)
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    text = "; ".join(f"{n:,} × {key}" for key, n in ranked[:10])
    return text + (f"; {len(ranked) - 10:,} other kinds" if len(ranked) > 10 else "")


class ScenarioError(FairshareError):
    """A scenario file or value that cannot be used."""
