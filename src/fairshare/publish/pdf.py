"""Printing the report to PDF with headless Chromium (Debian's ``chromium`` package).

The PDF is the report's own HTML printed by a browser, so the two never disagree; A4 pages, page
footers and landscape pages for wide sections all come from the report's print CSS. The file
appears atomically, and a Chromium that hangs is ended with all its helper processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from fairshare.errors import FairshareError
from fairshare.io import atomic_path

__all__ = ["CHROMIUM_CANDIDATES", "ReportError", "find_chromium", "html_to_pdf"]

#: Where Chromium is looked for, in order, after the ``FAIRSHARE_CHROMIUM`` environment variable.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
                       "google-chrome-stable")


class ReportError(FairshareError):
    """The report could not be written (no Chromium, Chromium failed, bad input tables)."""


def find_chromium(explicit: str | None = None) -> str | None:
    """Path of a Chromium binary: ``explicit``, ``$FAIRSHARE_CHROMIUM``, then the usual names."""
    for candidate in (explicit, os.environ.get("FAIRSHARE_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if not candidate:
            continue
        found = shutil.which(candidate)
        if found:
            return found
    return None


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, chromium: str | None = None,
                timeout: float = 180.0) -> Path:
    """Print an HTML file to PDF with headless Chromium (A4, the report's own print CSS)."""
    binary = find_chromium(chromium)
    if binary is None:
        raise ReportError(
            "cannot print the PDF: no Chromium found (looked for $FAIRSHARE_CHROMIUM, "
            + ", ".join(CHROMIUM_CANDIDATES)
            + "). Install Debian's chromium package (apt-get install chromium), or write "
            "only the HTML report and print it from a browser.")
    source = Path(html_path).resolve()
    if not source.is_file():
        raise ReportError(f"cannot print the PDF: {source} does not exist")
    with tempfile.TemporaryDirectory(prefix="fairshare-chromium-") as profile, \
            atomic_path(pdf_path) as tmp:
        tmp.unlink()  # Chromium writes the file itself; an empty one must not pass as output
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-extensions",
               "--no-first-run", "--no-default-browser-check", "--mute-audio",
               f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={tmp}", source.as_uri()]
        env = {**os.environ, "HOME": profile}
        returncode, output = _run(cmd, timeout, env)
        if returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            tail = "\n".join(output.strip().splitlines()[-8:])
            raise ReportError(f"Chromium could not print {source.name} to PDF "
                              f"(exit code {returncode}).\n{tail}".rstrip())
        with open(tmp, "rb") as fh:
            if fh.read(5) != b"%PDF-":
                raise ReportError(f"Chromium wrote something that is not a PDF for "
                                  f"{source.name}")
    return Path(pdf_path)


def _run(cmd: list[str], timeout: float, env: Mapping[str, str]) -> tuple[int, str]:
    """Run Chromium in its own process group; on timeout end the whole group (its helpers too)."""
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=dict(env), start_new_session=True)
    except OSError as exc:
        raise ReportError(f"cannot start Chromium ({cmd[0]}): {exc}") from exc
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end(proc)
        raise ReportError(f"Chromium did not finish printing the PDF within {timeout:g} s") \
            from None
    except BaseException:  # stopped (Ctrl-C, a signal): Chromium must not outlive us
        _end(proc)
        raise
    return proc.returncode, out.decode("utf-8", "replace")


def _end(proc: subprocess.Popen[bytes]) -> None:
    """End Chromium and every helper process it started (its process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


