"""One way to match a name a planner typed to the catalogue, in flags and in files alike.

Names match case-insensitively and with spaces trimmed; an area's code matches like its name
(``--area LDN``); a misspelt name gets a "did you mean" with the nearest catalogue names, so
``General Psychiatary`` is answered with ``General Psychiatry`` wherever it was typed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from fairshare.errors import FairshareError


def _key(text: object) -> str:
    return " ".join(str(text).split()).lower()


def close_names(text: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Catalogue names nearest to ``text``, compared case-insensitively (best first)."""
    by_key: dict[str, str] = {}
    for choice in choices:
        by_key.setdefault(_key(choice), str(choice))
    near = difflib.get_close_matches(_key(text), list(by_key), n=n, cutoff=0.6)
    return [by_key[k] for k in near]


def did_you_mean(text: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the nearest name, or an empty string."""
    near = close_names(text, choices, n=1)
    return f" (did you mean '{near[0]}'?)" if near else ""


def match_name(text: str, names: Iterable[str], *, codes: Mapping[str, str] | None = None,
               what: str = "name", listing: str = "", partial: bool = False) -> str:
    """The canonical name ``text`` stands for: exact name or code in any case, else (with
    ``partial``) a unique part of a name; otherwise a FairshareError with suggestions.

    ``listing`` says where the full list is (e.g. "see `fairshare specialties`").
    """
    names = sorted({str(n) for n in names})
    exact = {_key(n): n for n in names}
    exact |= {_key(c): n for c, n in (codes or {}).items()}
    key = _key(text)
    if key in exact:
        return exact[key]
    if partial and key:
        parts = [n for n in names if key in n.lower()]
        if len(parts) == 1:
            return parts[0]
        if len(parts) > 1:
            raise FairshareError(f"'{text}' matches {', '.join(parts)}; type more of the "
                                 f"{what}'s name")
    hint = did_you_mean(text, [*names, *(codes or {})])
    where = f"; {listing}" if listing else f"; choose one of: {', '.join(names)}"
    raise FairshareError(f"unknown {what} '{text}'{hint}{where}")


def match_names(texts: Iterable[str], names: Iterable[str], **kwargs: object) -> list[str]:
    """``match_name`` for several names; every unknown one is reported in one message."""
    names = list(names)
    found, problems = [], []
    for text in texts:
        try:
            found.append(match_name(text, names, **kwargs))  # type: ignore[arg-type]
        except FairshareError as exc:
            problems.append(str(exc))
    if problems:
        raise FairshareError("\n".join(problems))
    return found
