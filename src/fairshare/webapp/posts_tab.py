"""The Posts tab's own file in and file out: a minimum-unit file (the CLI's ``--trust-min``)
uploaded and checked with the CLI's reader, and the recommendations on screen as CSV.

The uploaded file stays on the server (``Engine.read_trust_min``, kept by its SHA-256); the
page holds only its name, digest and row count, so a request cannot hand the server minimums
that were never checked: an unknown digest is said, never used. A file is not part of the
address (it cannot be put in a link); the page says which file the table uses.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

import pandas as pd

from fairshare.errors import InputError, Problem, quote
from fairshare.io import safe_filename
from fairshare.publish.outputs import defuse_formulas, with_year_status
from fairshare.scenario import Scenario
from fairshare.webapp.engine import Engine, TrustMinFile
from fairshare.webapp.views import ViewError, posts_rows

#: The largest file the page sends (the server refuses request bodies over 1 MB, and base64
#: makes a file a third larger): a minimum per trust and specialty is a few thousand rows.
MAX_UPLOAD_BYTES = 700_000
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
#: Said in ``min_unit_source`` when no file is given.
DEFAULT_SOURCE = "scenario default trust_min_posts ({n} posts; a judgement)"


def read_upload(engine: Engine, contents: str, filename: str) -> dict[str, Any]:
    """The store entry of an uploaded minimum-unit file: name, digest, rows. Raises
    InputError (file, row, column; the CLI's messages) for a file that cannot be used."""
    name = filename or "the uploaded file"
    head, _, body = (contents or "").partition(",")
    if not head.endswith(";base64") or not body:
        raise InputError([Problem(name, None, None, "the upload arrived empty or damaged: "
                                  "choose the file again")])
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InputError([Problem(name, None, None, "the upload arrived damaged: choose the "
                                  "file again")]) from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError([Problem(name, None, None, f"{len(data):,} bytes: the page takes a "
                                  f"file up to {MAX_UPLOAD_BYTES:,} bytes (a minimum per trust "
                                  "and specialty is far smaller); give a larger file to "
                                  "`fairshare posts --trust-min`")])
    found = engine.read_trust_min(name, data)
    return {"name": found.name, "digest": found.digest, "rows": len(found.table)}


def held_file(engine: Engine, stored: Any) -> TrustMinFile | None:
    """The checked file a store entry names (None for no file). A digest the server does not
    hold (it restarted, or the entry was made by hand) is a ViewError saying what to do."""
    if not isinstance(stored, dict) or not stored.get("digest"):
        return None
    digest = str(stored["digest"])
    found = engine.trust_min_file(digest) if _DIGEST.match(digest) else None
    if found is None:
        raise ViewError(f"The minimum-unit file {quote(stored.get('name', ''))} is no longer "
                        "held by the server (it may have restarted): choose it again, or "
                        "use the default.")
    return found


def status_text(stored: Any) -> str:
    """Which minimum unit the table uses, in one sentence."""
    default = int(Scenario().trust_min_posts)
    if not isinstance(stored, dict) or not stored.get("digest"):
        return (f"Minimum unit: the default, {default} posts per trust and specialty "
                "(trust_min_posts, a judgement). Choose a file to set your own.")
    rows = int(stored.get("rows", 0) or 0)
    return (f"Minimum unit: from {quote(stored.get('name', ''))} ({rows:,} "
            f"row{'s' if rows != 1 else ''}, SHA-256 {str(stored['digest'])[:12]}…); trusts "
            f"it does not name keep the default, {default} posts (a judgement).")


def source_label(found: TrustMinFile | None, default: int) -> str:
    """``min_unit_source`` of every row: the file by name and digest, or the default."""
    if found is None:
        return DEFAULT_SOURCE.format(n=default)
    return (f"file {found.name} (SHA-256 {found.digest}); trusts it does not name: "
            f"{DEFAULT_SOURCE.format(n=default)}")


def posts_csv(engine: Engine, state: dict[str, Any], stored: Any,
              today: date | None = None) -> tuple[str, str]:
    """(file name, text) of the trust recommendations on screen: the chosen area and
    specialty, every column of ``fairshare posts``' trust_posts.csv, each row's
    ``year_status`` and ``min_unit_source``."""
    found = held_file(engine, stored)
    scenario, rows = posts_rows(engine, state, found)
    out = with_year_status(rows.drop(columns=["when"], errors="ignore"),
                           today or date.today())
    out = out.assign(min_unit_source=source_label(found, int(scenario.trust_min_posts)))
    name = safe_filename(f"fairshare-trust-posts-{state['area']}-{state['specialty']}-"
                         f"{scenario.digest()}") + ".csv"
    return name, defuse_formulas(pd.DataFrame(out)).to_csv(index=False)
