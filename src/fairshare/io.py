"""File writing that never leaves a half-written output behind.

Every output is written to a temporary file in the destination folder and renamed into place,
which is atomic on POSIX file systems: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from fairshare.errors import InputError, Problem


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                               dir=target.parent)
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


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove temporary files of ``target`` left by a process that was killed mid-write.

    A killed process cannot clean up after itself, so the next write of the same file does:
    each temporary file names the process that made it, and one whose process is gone is
    removed (a live writer's is left alone).
    """
    removed = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = path.name[len(target.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
    return removed


#: A temporary name made by ``atomic_path`` or a folder build: ``.<name>.<pid>.<random>.tmp``.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp")


def remove_stale_in(folder: Path) -> list[Path]:
    """Remove every temporary file or folder in ``folder`` left by a killed process.

    A dated output folder is built as ``.<name>.<pid>.<random>.tmp`` and the next run has
    another name, so ``remove_stale_temporaries`` (same target) would never find it: this
    looks at every temporary entry in the folder and removes those whose process is gone.
    """
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        found = _TEMPORARY.fullmatch(path.name)
        if found is None:
            continue
        pid = int(found["pid"])
        if pid != os.getpid() and not _alive(pid):
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
    return removed


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself (no lock file is left in it) for a moment,
    so processes choosing a new name in it take turns. The kernel releases the lock when a
    process dies; where advisory locks do not exist, the block runs unlocked."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


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


def safe_filename(text: str, limit: int = 100) -> str:
    """A name from data (an area, a scenario) made safe as one file name inside a folder:
    separators, dots at the start and anything unusual become ``_``, so ``../../x`` cannot
    lead a write outside the folder the user chose."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text.strip()).lstrip("._")[:limit]
    return cleaned or "unnamed"


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file, recorded with every run so inputs can be traced."""
    if str(path) in _STDIN and _stdin_read() is not None:
        return hashlib.sha256(_stdin_read() or b"").hexdigest()
    # Pipes, devices and endless streams are refused with a clear message, not hashed forever.
    path = regular_file(path, str(path), DIGEST_LIMIT)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: Largest input file digested (a user file larger than this is refused when read anyway).
DIGEST_LIMIT = 2 * 1024**3

#: Names that mean standard input (a file piped in).
_STDIN = ("-", "/dev/stdin")
#: What standard input held, once read: it cannot be read twice, and its digest is recorded.
_STDIN_READ: list[tuple[object, bytes]] = []


def display_name(path: str | Path) -> str:
    """A file's name as outputs show it; standard input is called so, not ``-``."""
    return "standard input" if str(path) in _STDIN else Path(path).name


def _stdin_read() -> bytes | None:
    """The bytes already read from the current standard input, if any."""
    stream = getattr(sys.stdin, "buffer", None)
    return next((data for s, data in _STDIN_READ if s is stream), None)


def read_bytes(path: str | Path, name: str, limit: int, *, empty_ok: bool = False) -> bytes:
    """A regular file's bytes (or standard input's), refusing folders, pipes, devices and
    anything larger than ``limit``: nothing can hang or fill the memory. ``name`` is how
    messages call the file; an empty file is refused unless ``empty_ok``."""
    if str(path) in _STDIN:
        cached = _stdin_read()
        if cached is not None:
            return cached
        stream = sys.stdin.buffer
        if stream.isatty():
            raise InputError([Problem(name, None, None, "nothing was piped in: give a file "
                                      "name, or pipe the file in (`fairshare ... - < file`)")])
        data = _bounded(stream, name, limit)
        if not data and not empty_ok:
            raise InputError([Problem(name, None, None, "nothing came through standard input")])
        _STDIN_READ[:] = [(stream, data)]
        return data
    p = regular_file(path, name, limit)
    try:
        with open(p, "rb") as fh:
            data = _bounded(fh, name, limit)
    except OSError as exc:
        raise InputError([Problem(name, None, None, f"cannot be read: {exc.strerror}")]) from None
    if not data and not empty_ok:
        raise InputError([Problem(name, None, None, "the file is empty (expected a header row)")])
    return data


def regular_file(path: str | Path, name: str, limit: int) -> Path:
    """``path`` if it is a regular file of at most ``limit`` bytes; else a message saying what
    it is (missing, a folder, a pipe or device that could block or never end, too large)."""
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise InputError([Problem(name, None, None, "file not found")]) from None
    except OSError as exc:
        raise InputError([Problem(name, None, None, f"cannot be read: {exc.strerror}")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError([Problem(name, None, None, "is a folder, not a file")])
    if not stat.S_ISREG(info.st_mode):
        raise InputError([Problem(name, None, None, "not a regular file (a pipe, socket or "
                                  "device): save the data to a file and give its name")])
    if info.st_size > limit:
        raise InputError([Problem(name, None, None, f"too large ({info.st_size:,} bytes; the "
                                  f"limit is {limit:,}): is this the right file?")])
    return p


def _bounded(stream: BinaryIO, name: str, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError([Problem(name, None, None, f"too large (more than {limit:,} bytes): "
                                  "is this the right file?")])
    return bytes(data)


GZIP_MAGIC = b"\x1f\x8b"


def inflated(data: bytes, name: str, limit: int) -> bytes:
    """``data`` unpacked if it is gzip (a ``.csv.gz``), reading at most ``limit`` bytes of the
    result: a 2 MB file that would unpack to gigabytes is refused, not unpacked."""
    if not data.startswith(GZIP_MAGIC):
        return data
    import gzip
    import io
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError([Problem(name, None, None, f"a damaged gzip file ({exc}); unpack it "
                                  "and give the CSV")]) from None
    if len(out) > limit:
        raise InputError([Problem(name, None, None, f"unpacks to more than {limit:,} bytes: too "
                                  "large, or a compression bomb")])
    return out


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
