"""Malformed, hostile and extreme inputs to every command that reads a file (issue 11).

Each case builds its input in a temporary folder and runs the real command line. Whatever the
input, the command must end with exit code 2 and one clear message naming the file (and the row
and column where there is one), print no traceback and a bounded amount of text, write nothing
(no output folder appears) and leave the run store exactly as it was. Cases that could hang (a
pipe, an endless stream) run in a subprocess with a timeout, so a hang fails instead of blocking.

The kill-during-write tests at the end kill each writing command at the moment its first
output is about to be put in place, and check that nothing half-written is visible.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.store.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
GOOD_POSTS = "local_office,specialty,posts\nLondon,Cardiology,50\nNorth West,Cardiology,40\n"
MAX_OUTPUT = 6_000  # characters: a message, never a dump of the input


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Runs go to a store in tmp_path; `--data` must not leak into other tests."""
    monkeypatch.setenv("FAIRSHARE_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("FAIRSHARE_DATA", "")


# ---------------------------------------------------------------------------------------------
# Building hostile files
# ---------------------------------------------------------------------------------------------


def _workbook(rows: str = GOOD_POSTS) -> bytes:
    df = pd.read_csv(io.StringIO(rows))
    buf = io.BytesIO()
    df.to_excel(buf, index=False, engine="xlsxwriter")
    return buf.getvalue()


def _rezip(data: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _entity(name: str, part: bytes) -> bytes:
    if name != "xl/worksheets/sheet1.xml":
        return part
    decl, rest = part.split(b"?>", 1)
    return (decl + b'?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            + rest)


def _bomb() -> bytes:
    """A small file that unpacks to more than 200 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as part:
            chunk = b"\0" * (1 << 20)
            for _ in range(205):
                part.write(chunk)
    return out.getvalue()


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _own_data(folder: Path, **replace: str | bytes) -> Path:
    """A copy of the embedded England geography files with some replaced."""
    from fairshare.inputs.bundle import data_dir

    folder.mkdir()
    for name in ("icbs.csv", "local_offices.csv", "icb_local_office.csv"):
        content = replace.get(name.removesuffix(".csv"), (data_dir() / name).read_bytes())
        _write(folder, name, content)
    return folder


def _zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _posts(rows: str) -> Callable[[Path], list[str]]:
    return lambda d: ["targets", "--posts", str(_write(d, "posts.csv", rows)), "--out",
                      str(d / "out")]


Content = str | bytes | Callable[[], str | bytes]


def _file(name: str, content: Content, *cmd: str) -> Callable[[Path], list[str]]:
    """Args for ``cmd`` with the hostile file put where ``{}`` is (default: --posts); a large
    content is given as a function, so it is made only when its case runs."""
    def build(d: Path) -> list[str]:
        path = str(_write(d, name, content() if callable(content) else content))
        args = [a.replace("{}", path).replace("{out}", str(d / "out")) for a in cmd]
        return args or ["targets", "--posts", path, "--out", str(d / "out")]
    return build


def _scenario(text: str | bytes) -> Callable[[Path], list[str]]:
    return _file("scenario.yaml", text, "targets", "--scenario", "{}", "--out", "{out}")


def _cohorts(rows: str) -> Callable[[Path], list[str]]:
    return _file("trainees.csv", rows, "plan", "--cohorts", "{}", "--out", "{out}")


def _capacity(rows: str) -> Callable[[Path], list[str]]:
    return _file("capacity.csv", rows, "plan", "--capacity", "{}", "--out", "{out}")


def _data(**replace: str | bytes) -> Callable[[Path], list[str]]:
    return lambda d: ["--data", str(_own_data(d / "country", **replace)), "targets", "--out",
                      str(d / "out")]


def _linked_data(d: Path, target: str) -> list[str]:
    folder = _own_data(d / "country")
    (folder / "local_offices.csv").unlink()
    (folder / "local_offices.csv").symlink_to(target)
    return ["--data", str(folder), "targets", "--out", str(d / "out")]


def _data_with(name: str, column: str, value: float) -> Callable[[Path], list[str]]:
    """A data folder whose ``name`` has ``value`` in the first row of ``column``."""
    def build(d: Path) -> list[str]:
        from fairshare.inputs.bundle import data_dir

        folder = _own_data(d / "country")
        df = pd.read_csv(data_dir() / name)
        df.loc[0, column] = value
        df.to_csv(folder / name, index=False)
        return ["--data", str(folder), "targets", "--out", str(d / "out")]
    return build


def _symlink_posts(d: Path) -> list[str]:
    link = d / "posts.csv"
    link.symlink_to("/etc/passwd")
    return ["targets", "--posts", str(link), "--out", str(d / "out")]


def _folder_posts(d: Path) -> list[str]:
    (d / "posts.csv").mkdir()
    return ["validate", str(d / "posts.csv")]


def _million_rows(d: Path) -> list[str]:
    body = "London,Cardiology,1\n" * 1_000_000
    return _file("posts.csv", "local_office,specialty,posts\n" + body)(d)


HEADER = "local_office,specialty,posts\n"
LINES = "".join(f"London,Nonsense Specialty {i},1\n" for i in range(5000))
LATIN1 = "local_office,specialty,posts\nLondon,Cardiology,50\nSt Helier Café,Cardiology,1\n"
COHORTS = "local_office,specialty,completion_year,trainees\n"
CAPACITY = "local_office,specialty,capacity\n"
METRICS = "local_office,specialty,year,metric,value\n"


@dataclass(frozen=True)
class Case:
    id: str
    args: Callable[[Path], list[str]]
    expect: str  # a regex the message must match: the file, and the row/column where known


CASES = [
    # Numbers at the edges
    Case("posts-1e308", _posts(HEADER + "London,Cardiology,1e308\n"),
         r"posts\.csv, row 2, column 'posts': 1e308 is too large"),
    Case("posts-2^63", _posts(HEADER + "London,Cardiology,9223372036854775808\n"),
         r"posts\.csv, row 2, column 'posts': .*too large"),
    Case("posts-1e19", _posts(HEADER + "London,Cardiology,10000000000000000000\n"),
         r"row 2, column 'posts': .*too large"),
    Case("posts-inf", _posts(HEADER + "London,Cardiology,inf\n"),
         r"row 2, column 'posts': 'inf' is not a number"),
    Case("posts-1e-300", _posts(HEADER + "London,Cardiology,1e-300\n"),
         r"row 2, column 'posts': .*not a whole number"),
    Case("posts-negative", _posts(HEADER + "London,Cardiology,-3\n"),
         r"row 2, column 'posts': -3 is negative"),
    Case("scenario-bool-as-float", _scenario("deprivation_weight: true\n"),
         r"scenario\.yaml.*'deprivation_weight': true is not a number"),
    Case("scenario-count-1e308", _scenario("minimum_posts: 1e308\n"),
         r"scenario\.yaml.*'minimum_posts'"),
    Case("scenario-pace-cap-1e-300", _scenario("pace_cap: 1.0e-300\n"),
         r"scenario\.yaml.*'pace_cap'.*greater than or equal to 0\.001"),
    Case("scenario-pace-cap-1e308", _scenario("pace_cap: 1.0e+308\n"),
         r"scenario\.yaml.*'pace_cap'"),
    Case("scenario-horizon-2^63", _scenario("horizon: 9223372036854775808\n"),
         r"scenario\.yaml.*'horizon'"),
    Case("scenario-nan", _scenario("deprivation_weight: .nan\n"),
         r"scenario\.yaml.*'deprivation_weight'"),
    Case("cohorts-1e19", _cohorts(COHORTS + "London,Cardiology,2027,1e19\n"),
         r"trainees\.csv, row 2, column 'trainees': .*too large"),
    Case("cohorts-year-2^63", _cohorts(COHORTS + "London,Cardiology,9223372036854775808,3\n"),
         r"trainees\.csv, row 2, column 'completion_year'"),
    Case("capacity-1e308", _capacity(CAPACITY + "London,Cardiology,1e308\n"),
         r"capacity\.csv, row 2, column 'capacity': .*too large"),
    Case("sensitivity-n-negative", lambda d: ["sensitivity", "--n", "-5", "--out",
                                              str(d / "out")], r"--n"),
    Case("uncertainty-10^10-draws", lambda d: ["uncertainty", "--draws", "10000000000",
                                               "--out", str(d / "out")], r"--draws"),
    Case("uncertainty-100000-workers", lambda d: ["uncertainty", "--workers", "100000",
                                                  "--out", str(d / "out")], r"--workers"),
    Case("scenario-1500-tranches", _scenario("expansion:\n" + "  - {year: 2027, priority: "
                                              "maternity, posts: 1}\n" * 1_500),
         r"scenario\.yaml.*'expansion': List should have at most 1000 items"),
    Case("posts-markup-and-emoji-codes", _posts(HEADER + "[bold]Lon :x:,Cardiology,5\n"),
         r"posts\.csv, row 2, column 'local_office': .*\[bold\]Lon :x:"),
    # Files that are not what they say
    Case("csv-renamed-xlsx", _file("posts.xlsx", GOOD_POSTS),
         r"posts\.xlsx: not an Excel workbook: the file holds plain text"),
    Case("zip-not-workbook", _file("posts.xlsx", lambda: _zip_of({"notes.txt": b"hello"})),
         r"posts\.xlsx: a zip file but not an Excel workbook"),
    Case("truncated-workbook", _file("posts.xlsx", _workbook()[:1500]),
         r"posts\.xlsx: not a readable Excel workbook"),
    Case("workbook-xml-entity", _file("posts.xlsx", _rezip(_workbook(), _entity)),
         r"posts\.xlsx: the workbook part xl/worksheets/sheet1\.xml declares XML entities"),
    Case("zip-bomb", _file("posts.xlsx", _bomb),
         r"posts\.xlsx: the workbook unpacks to [\d,]+ bytes .*zip bomb"),
    Case("old-xls", _file("posts.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
         r"posts\.xlsx: an old-style \.xls workbook"),
    Case("duplicated-posts-column", _posts("local_office,specialty,posts,posts\n"
                                           "London,Cardiology,50,7\n"),
         r"posts\.csv, row 1, column 'posts': column given twice"),
    Case("duplicated-column-other-case", _posts("local_office,specialty,Posts,posts \n"
                                                "London,Cardiology,50,7\n"),
         r"column 'posts': column given twice"),
    Case("pdf-extension", _file("posts.pdf", "%PDF-1.4"),
         r"posts\.pdf: unsupported file type '\.pdf'"),
    Case("posts-is-a-folder", _folder_posts, r"posts\.csv: is a folder"),
    Case("posts-symlink-to-system-file", _symlink_posts,
         r"posts\.csv, row \d+(: this row has \d+ values but the header has 1 columns|, "
         r"column 'local_office \(or icb\)': required column missing)"),
    Case("posts-dev-zero", lambda d: ["targets", "--posts", "/dev/zero", "--out",
                                      str(d / "out")], r"/dev/zero: not a regular file"),
    Case("scenario-dev-zero", lambda d: ["targets", "--scenario", "/dev/zero", "--out",
                                         str(d / "out")], r"/dev/zero: not a regular file"),
    Case("scenario-dev-urandom", lambda d: ["scenario", "/dev/urandom"],
         r"/dev/urandom: not a regular file"),
    Case("scenario-not-utf8", _scenario(b"name: caf\xe9\n"),
         r"scenario\.yaml, line 1: not UTF-8"),
    Case("scenario-a-list", _scenario("- 1\n- 2\n"), r"scenario\.yaml: expected a mapping"),
    # Inputs that disagree with each other or with the catalogue
    Case("cohorts-million-trainees", _cohorts(COHORTS + "London,Cardiology,2027,1000000\n"),
         r"trainees\.csv, row 2, column 'trainees': .*too large"),
    Case("cohorts-more-trainees-than-posts", _cohorts(COHORTS + "London,Cardiology,2027,"
                                                      "5000\n"),
         r"trainees\.csv, column 'trainees': London, Cardiology: 5,000 trainees but [\d,]+ posts"),
    Case("scenario-unknown-priority", _file(
        "scenario.yaml", "expansion:\n  - {year: 2027, priority: Nonsense, posts: 100}\n",
        "plan", "--scenario", "{}", "--out", "{out}"),
        r"scenario 'expansion': unknown priority 'Nonsense'; the priorities are: acute"),
    Case("scenario-impossible-minimum", _scenario("minimum_posts: 5000\n"),
         r"'minimum_posts': 5,000 posts in each of \d+ areas .* no specialty can meet it"),
    Case("scenario-duplicate-key", _scenario("horizon: 2031\nname: x\nhorizon: 2040\n"),
         r"scenario\.yaml, line 3: 'horizon' is given twice \(first on line 1\)"),
    Case("scenario-100000-deep", _scenario("a: " + "[" * 100_000 + "]" * 100_000 + "\n"),
         r"scenario\.yaml: too large"),
    Case("scenario-30000-deep", _scenario("a: " + "[" * 30_000 + "]" * 30_000 + "\n"),
         r"scenario\.yaml, line 1: nested more than 20 levels deep"),
    Case("scenario-billion-laughs", _scenario(
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"),
        r"scenario\.yaml, line 2: YAML aliases"),
    Case("posts-nothing-redistributable", _posts("local_office,specialty,posts,funding\n"
                                                 "London,Cardiology,50,trust\n"),
         r"posts\.csv, column 'posts': no centrally funded posts to distribute"),
    Case("posts-all-zero", _posts(HEADER + "London,Cardiology,0\n"),
         r"no centrally funded posts to distribute"),
    # Size
    Case("posts-million-rows", _million_rows, r"posts\.csv: more than 200,000 data rows"),
    Case("posts-60MB-cell", _file("posts.csv", lambda: HEADER + "London,Cardiology,"
                                  + "9" * 60_000_000),
         r"posts\.csv: too large \([\d,]+ bytes; the limit is 52,428,800\)"),
    Case("posts-1MB-cell", _posts(HEADER + "London," + "C" * 1_000_000 + ",3\n"),
         r"posts\.csv, row 2, column 'specialty': a cell of 1,000,000 characters"),
    Case("posts-49MB-cell", _file("posts.csv", lambda: HEADER + "London,"
                                  + "C" * 49_000_000 + ",3\n"),
         r"posts\.csv, row 2, column 'specialty': a cell of 49,000,000 characters"),
    Case("posts-999-char-name", _posts(HEADER + "London," + "C" * 999 + ",3\n"),
         r"posts\.csv, row 2, column 'specialty': unknown specialty"),
    Case("posts-5000-bad-rows", _posts(HEADER + LINES),
         r"1001 problems found, of 2 kinds.*column 'specialty': 1000 rows.*unknown specialty"
         r".*stopped reading here after 1,000 problems"),
    Case("scenario-2MB-string", _scenario("description: " + "x" * 2_000_000 + "\n"),
         r"scenario\.yaml: too large \(2,000,014 bytes; the limit is 131,072\)"),
    Case("scenario-100000-char-name", _scenario("name: " + "n" * 100_000 + "\n"),
         r"scenario\.yaml.*'name': String should have at most 200 characters"),
    # Unclear errors: own data folder files, encodings, zero bytes, ragged rows
    Case("posts-latin1", _file("posts.csv", LATIN1.encode("latin-1")),
         r"posts\.csv, row 3: not UTF-8 text \(byte 0xe9"),
    Case("posts-zero-bytes", _file("posts.csv", b""), r"posts\.csv: the file is empty"),
    Case("posts-nul-bytes", _file("posts.csv", GOOD_POSTS.encode() + b"\0\0\0"),
         r"posts\.csv, row 4: holds NUL"),
    Case("posts-ragged", _posts(HEADER + "London,Cardiology,50\nLondon,Cardiology,1,2,3\n"),
         r"posts\.csv, row 3: this row has 5 values but the header has 3"),
    Case("posts-header-only", _posts(HEADER), r"posts\.csv: the file has a header but no data"),
    Case("data-latin1", _data(local_offices="local_office,lo_code\nCafé,X\n".encode("latin-1")),
         r"local_offices\.csv: not UTF-8 text \(byte 0xe9\)"),
    Case("data-zero-bytes", _data(icbs=b""), r"icbs\.csv: the file is empty"),
    Case("data-ragged", _data(icb_local_office="icb_code,local_office,share\nA,B,1,2,3\n"),
         r"icb_local_office\.csv, row 2: this row has more values than the header"),
    Case("data-symlink-to-system-file", lambda d: _linked_data(d, "/etc/passwd"),
         r"local_offices\.csv(, row \d+: this row has \d+ values|.*local_office)"),
    Case("data-symlink-to-device", lambda d: _linked_data(d, "/dev/zero"),
         r"local_offices\.csv: not a regular file"),
    Case("data-weighted-population-1e308", _data_with("weighted_population.csv", "core", 1e308),
         r"weighted_population\.csv, row 2, column 'core': 1e\+308 is not a plausible value"),
    Case("data-growth-factor-inf", _data_with("growth_factors.csv", "factor", float("inf")),
         r"growth_factors\.csv, row 2, column 'factor': inf is not a plausible value"),
    Case("run-100000-char-name", lambda d: ["run", "--horizon", "2024", "--name", "n" * 100_000],
         r"a run name is at most 200 characters; this one has 100,000"),
    Case("data-folder-is-a-file", lambda d: ["--data", str(_write(d, "x.csv", "a\n")),
                                             "targets", "--out", str(d / "out")],
         r"x\.csv: data folder not found"),
    # Every other command that reads a file
    Case("validate-capacity-renamed", _file("capacity.xlsx", CAPACITY, "validate", "{}",
                                            "--kind", "capacity"),
         r"capacity\.xlsx: not an Excel workbook"),
    Case("validate-cohorts-duplicate-column", _file(
        "trainees.csv", "local_office,specialty,completion_year,trainees,trainees\n",
        "validate", "{}", "--kind", "cohorts"), r"trainees\.csv, row 1, column 'trainees'"),
    Case("monitor-truncated-workbook", _file("metrics.xlsx", _workbook()[:900], "monitor", "{}",
                                             "--no-plan", "--out", "{out}"),
         r"metrics\.xlsx: not a readable Excel workbook \(damaged or truncated"),
    Case("monitor-zero-bytes", _file("metrics.csv", b"", "monitor", "{}", "--no-plan", "--out",
                                     "{out}"), r"metrics\.csv.*empty"),
    Case("monitor-value-1e308", _file("metrics.csv", METRICS + "London,All,2024,fill_rate,"
                                      "1e999\n", "monitor", "{}", "--no-plan", "--out", "{out}"),
         r"metrics\.csv.*row 2.*value"),
    Case("equity-bad-posts", _file("posts.xlsx", GOOD_POSTS, "equity", "--posts", "{}", "--out",
                                   "{out}"), r"posts\.xlsx: not an Excel workbook"),
    Case("uncertainty-bad-scenario", _file("s.yaml", "horizon: 1\nhorizon: 2\n", "uncertainty",
                                           "--scenario", "{}", "--draws", "5", "--out",
                                           "{out}"), r"s\.yaml, line 2: 'horizon' is given"),
    Case("outcome-bad-cohorts", _file("c.csv", COHORTS + "London,Cardiology,2027,1e19\n",
                                      "outcome", "--cohorts", "{}", "--out", "{out}"),
         r"c\.csv, row 2, column 'trainees'"),
    Case("report-bad-posts", _file("p.csv", b"\xff\xfe", "report", "--posts", "{}", "--html",
                                   "{out}/r.html"), r"p\.csv, row 1: (not UTF-8|UTF-16 text)"),
    Case("run-bad-capacity", _file("cap.csv", CAPACITY + "London,Cardiology,2^63\n", "run",
                                   "--capacity", "{}", "--out", "{out}"),
         r"cap\.csv, row 2, column 'capacity'"),
    Case("compare-bad-posts", _file("p.csv", "x\n1\n", "compare", "keep", "--posts", "{}"),
         r"p\.csv, row 1, column 'local_office \(or icb\)'"),
    Case("tables-bad-scenario", _file("s.yaml", "pace_cap: true\n", "tables", "--area", "London",
                                      "--scenario", "{}", "--out", "{out}"),
         r"s\.yaml.*'pace_cap': true is not a number"),
    Case("baseline-build-from-dev-zero", lambda d: ["baseline", "build", "--from", "/dev/zero",
                                                    "--out", str(d / "out" / "b.csv")],
         r"/dev/zero: not a regular file"),
    Case("baseline-build-from-latin1", _file("staff.csv", "DATE,ORG_CODE,GRADE\nCaf\xe9\n"
                                             .encode("latin-1"), "baseline", "build", "--from",
                                             "{}", "--out", "{out}/b.csv"),
         r"staff\.csv, row 2: not UTF-8 text \(byte 0xe9.*Latin-1"),
    Case("baseline-build-from-folder", lambda d: ["baseline", "build", "--from", str(d), "--out",
                                                  str(d / "out" / "b.csv")],
         r"is a folder, not a file"),
    Case("specialties-bad-data-folder", lambda d: ["--data", str(_own_data(
        d / "country", icbs=b"\0\0\0")), "specialties"], r"icbs\.csv"),
    Case("sensitivity-bad-posts", _file("p.csv", HEADER + "London,Cardiology,1e19\n",
                                        "sensitivity", "--posts", "{}", "--n", "2", "--out",
                                        "{out}"), r"p\.csv, row 2, column 'posts'"),
    Case("plan-bad-posts", _file("p.csv", HEADER + "London,Cardiology,x\n", "plan", "--posts",
                                 "{}", "--out", "{out}"),
         r"p\.csv, row 2, column 'posts': 'x' is not a number"),
    Case("plan-min-posts-1e308", _file("min.csv", "local_office,specialty,min_posts\n"
                                       "London,Cardiology,1e308\n", "plan", "--min-posts", "{}",
                                       "--out", "{out}"), r"min\.csv, row 2"),
    Case("plan-min-posts-dev-zero", lambda d: ["plan", "--min-posts", "/dev/zero", "--out",
                                               str(d / "out")], r"/dev/zero: not a regular file"),
    Case("export-bad-cohorts", _file("c.csv", b"", "export", "--cohorts", "{}", "--xlsx",
                                     "{out}/p.xlsx"), r"c\.csv: the file is empty"),
]


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    """A run store holding one run named 'keep', which no case may harm."""
    s = RunStore(tmp_path / "store")
    s.save("keep", {"scenario": {"name": "keep"}},
           {"targets": pd.DataFrame({"area": ["London"], "specialty": ["Cardiology"],
                                     "current": [50], "target": [52]})})
    return s


def _store_state(root: Path) -> dict[str, str]:
    """Every file under the store (but the lock and SQLite's journals) and its digest."""
    state = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith((".lock", "registry.sqlite")):
            state[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    with sqlite3.connect(root / "registry.sqlite") as conn:
        state["registry"] = repr(conn.execute("SELECT * FROM runs ORDER BY id").fetchall())
    return state


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_clearly(case: Case, tmp_path: Path, store: RunStore) -> None:
    before = _store_state(store.root)
    args = case.args(tmp_path)
    result = CliRunner().invoke(app, args)
    text = result.output
    assert result.exit_code == 2, text[-2000:]
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in text
    assert len(text) < MAX_OUTPUT, f"{len(text):,} characters of output"
    flat = re.sub(r"\s*\n\s*", " ", text)  # rich may wrap a long message
    assert re.search(case.expect, flat, re.DOTALL), flat[-1500:]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert _store_state(store.root) == before


def test_case_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


# ---------------------------------------------------------------------------------------------
# Pipes and endless streams (a subprocess, so a hang is a failure, not a stuck suite)
# ---------------------------------------------------------------------------------------------


def _cli(args: list[str], stdin: bytes | None = None, timeout: float = 60,
         **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "fairshare.cli", *args], input=stdin,
                          capture_output=True, timeout=timeout, check=False, **kw)  # type: ignore[call-overload]


@pytest.mark.parametrize("command", [["targets", "--posts"], ["targets", "--scenario"],
                                     ["plan", "--cohorts"], ["baseline", "build", "--from"]])
def test_named_pipe_is_refused_without_waiting(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    res = _cli([*command, str(fifo), "--out", str(tmp_path / "out")])
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert "input.fifo: not a regular file" in re.sub(r"\s*\n\s*", " ", err)
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_endless_stream_on_standard_input_is_cut_off(tmp_path: Path) -> None:
    """`yes | fairshare validate -`: read up to the limit, then refused."""
    endless = subprocess.Popen(["yes", "London,Cardiology,1"], stdout=subprocess.PIPE)
    try:
        res = subprocess.run([sys.executable, "-m", "fairshare.cli", "validate", "-"],
                             stdin=endless.stdout, capture_output=True, timeout=60, check=False)
    finally:
        endless.kill()
        endless.wait()
        assert endless.stdout is not None
        endless.stdout.close()
    err = re.sub(r"\s*\n\s*", " ", res.stderr.decode())
    assert res.returncode == 2, err
    assert "standard input: too large (more than 52,428,800 bytes)" in err


def test_a_valid_file_piped_in_is_read(tmp_path: Path) -> None:
    """`--posts -` and `/dev/stdin` read what is piped in; its digest is recorded."""
    for name in ("-", "/dev/stdin"):
        out = tmp_path / name.strip("/").replace("/", "_")
        res = _cli(["targets", "--posts", name, "--out", str(out)], stdin=GOOD_POSTS.encode())
        assert res.returncode == 0, res.stderr.decode()
        targets = pd.read_csv(out / "targets.csv")
        assert targets.groupby("specialty")["target"].sum().to_dict() == {"Cardiology": 90}
        meta = (out / "run.json").read_text()
        assert hashlib.sha256(GOOD_POSTS.encode()).hexdigest() in meta
        assert "standard input" in meta  # labelled as what it is, not "-"


def test_scenario_from_standard_input(tmp_path: Path) -> None:
    res = _cli(["scenario", "-"], stdin=b"horizon: 2040\nhorizon: 2041\n")
    assert res.returncode == 2
    assert "line 2: 'horizon' is given twice" in res.stderr.decode()


# ---------------------------------------------------------------------------------------------
# Unsafe outputs and data loss
# ---------------------------------------------------------------------------------------------


def test_formula_text_is_defused_in_csv_outputs(tmp_path: Path) -> None:
    """A scenario named like a formula reaches targets.csv as text a spreadsheet will not run."""
    scenario = _write(tmp_path, "s.yaml", "name: '=HYPERLINK(\"http://x\",\"y\")'\n"
                      "description: '@SUM(A1:A9)'\n")
    res = CliRunner().invoke(app, ["targets", "--scenario", str(scenario), "--out",
                                   str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    raw = (tmp_path / "out" / "targets.csv").read_text()
    cells = [c for line in raw.splitlines()[1:] for c in _split(line)]
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "@")]
    assert "'=HYPERLINK" in raw
    numbers = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert (numbers["gap"] < 0).any()  # negative numbers are numbers, not defused text


def _split(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]))


def test_registry_id_edited_to_escape_the_store_deletes_nothing(tmp_path: Path,
                                                                store: RunStore) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    rec = store.get("keep")
    with sqlite3.connect(store.registry_path) as conn:
        conn.execute("UPDATE runs SET id = ? WHERE id = ?", ("../../victim", rec.id))
    for args in (["runs", "delete", "../../victim", "--yes"], ["runs", "export", "../../victim",
                                                               "--out", str(tmp_path / "o")],
                 ["report", "../../victim", "--html", str(tmp_path / "r.html")]):
        res = CliRunner().invoke(app, [*args[:-2], *args[-2:]] if "--yes" not in args else args)
        assert res.exit_code == 2, res.output
        assert "not a run id" in re.sub(r"\s*\n\s*", " ", res.output)
    assert (victim / "precious.txt").read_text() == "keep me"
    assert (store.runs_dir / rec.id).is_dir()  # the real folder is untouched too


def test_area_names_cannot_lead_tables_out_of_its_folder(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An own-data local office named ../../x: `tables --out DIR` writes inside DIR only."""
    from fairshare.inputs.bundle import data_dir

    folder = tmp_path / "country"
    folder.mkdir()
    for name in ("icbs.csv", "icb_local_office.csv", "local_offices.csv", "baseline_posts.csv"):
        text = (data_dir() / name).read_text(encoding="utf-8")
        (folder / name).write_text(text.replace("North East", "../../escaped"), encoding="utf-8")
    inside = tmp_path / "deep" / "er" / "dir"
    inside.mkdir(parents=True)
    res = CliRunner().invoke(app, ["--data", str(folder), "tables", "--area", "escaped",
                                   "--horizon", "2024", "--out", str(inside)])
    assert res.exit_code == 0, res.output
    written = [p for p in tmp_path.rglob("*.csv") if "country" not in p.parts]
    assert written and all(p.parent == inside for p in written), written


# ---------------------------------------------------------------------------------------------
# Killed while writing: nothing half-written is visible, the next run cleans up
# ---------------------------------------------------------------------------------------------

KILLER = """
import os, signal, sys
real_replace, real_rename = os.replace, os.rename
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = os.rename = die
sys.argv = ["fairshare", *sys.argv[1:]]
from fairshare.cli import app
app()
"""

WRITERS = {
    "targets": ["targets", "--out", "{out}"],
    "plan": ["plan", "--horizon", "2024", "--out", "{out}"],
    "tables": ["tables", "--area", "London", "--horizon", "2024", "--out", "{out}/t.csv"],
    "template": ["template", "posts", "--out", "{out}/t.xlsx"],
    "uncertainty": ["uncertainty", "--draws", "20", "--out", "{out}"],
    "sensitivity": ["sensitivity", "--n", "2", "--out", "{out}"],
    "equity": ["equity", "--horizon", "2024", "--out", "{out}"],
    "outcome": ["outcome", "--plan-horizon", "2024", "--horizon", "2025", "--out", "{out}"],
    "monitor": ["monitor", str(ROOT / "examples" / "impact_metrics_example.csv"), "--no-plan",
                "--out", "{out}"],
    "run": ["run", "--horizon", "2024", "--out", "{out}"],
    "runs-export": ["runs", "export", "keep", "--out", "{out}"],
    "runs-delete": ["runs", "delete", "keep", "--yes"],
    "compare": ["compare", "keep", "--out", "{out}"],
    "report": ["report", "keep", "--html", "{out}/report.html"],
    "baseline-build": ["baseline", "build", "--from", "{staff}", "--out", "{out}/b.csv"],
}
STAFF = ("DATE,ORG_CODE,GRADE,SPECIALITY_GROUP,SPECIALTY,FTE\n"
         "30/09/2017,00C,Specialty Registrar,Anaesthetics,Anaesthetics,5\n")


@pytest.mark.parametrize("command", list(WRITERS))
def test_killed_while_writing_leaves_nothing_half_written(command: str, tmp_path: Path,
                                                          store: RunStore) -> None:
    out = tmp_path / "out"
    staff = _write(tmp_path, "staff.csv", STAFF)
    args = [a.replace("{out}", str(out)).replace("{staff}", str(staff))
            for a in WRITERS[command]]
    if command == "report":  # a report needs a whole run: its metadata and every table
        store = _real_store(tmp_path / "real-store")
    env = {**os.environ, "FAIRSHARE_HOME": str(store.root)}
    before = _store_state(store.root)
    res = subprocess.run([sys.executable, "-c", KILLER, *args], capture_output=True,
                         timeout=300, check=False, env=env)
    assert res.returncode == -9, res.stderr.decode()[-2000:]  # killed, as intended
    visible = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")] \
        if out.exists() else []
    assert visible == []  # the first file never appeared, complete or not
    if command != "runs-delete":  # a delete killed after the registry commit has deleted
        after = _store_state(store.root)
        assert after["registry"] == before["registry"]
        assert RunStore(store.root).get("keep").tables == ("targets",)
    if command in RERUN:  # the next write of the same file removes what the killed one left
        # whatever the killed write left (inside `out` or beside it) is hidden and temporary
        rerun = subprocess.run([sys.executable, "-m", "fairshare.cli", *args],
                               capture_output=True, timeout=300, check=False, env=env)
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
        assert list(out.rglob(".*.tmp")) == []
        assert [p for p in tmp_path.glob(".*") if p.name.endswith(".tmp")] == []


def _real_store(root: Path) -> RunStore:
    """A store holding one real run named 'keep' (targets of the embedded data)."""
    from fairshare import Scenario, load_england, targets
    from fairshare.publish.outputs import run_metadata

    bundle, scenario = load_england(), Scenario(name="keep")
    s = RunStore(root)
    s.save("keep", run_metadata(bundle, scenario), {"targets": targets(bundle, scenario)})
    return s


#: Commands re-run after the kill (one per way of writing: a folder of CSV files, a workbook;
#: every command writes through the same fairshare.io functions).
RERUN = ("targets", "template")
