"""File writing that never leaves a half-written output behind.

Every output is written to a temporary file in the destination folder and renamed into place,
which is atomic on POSIX file systems: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary shareable files
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | Path, text: str) -> Path:
    """Write text atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_with(target: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file, recorded with every run so inputs can be traced."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pause_for_test(stage: str) -> None:
    """Test hook: ``FAIRSHARE_TEST_PAUSE=<stage>:<seconds>`` stops a write at a named stage.

    The kill-during-write tests stop a process there with SIGKILL; the printed marker lets
    them kill at exactly that point instead of guessing with sleeps.
    """
    spec = os.environ.get("FAIRSHARE_TEST_PAUSE", "")
    want, _, seconds = spec.partition(":")
    if spec and want == stage:
        print(f"fairshare-test-paused {stage}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 60))
