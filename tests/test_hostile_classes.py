"""The classes of hostile input and concurrency of issue 18, each closed as a class.

One test per class (data loss, silent wrong answers, unsafe output, availability, unclear
refusals); each is parametrised over the held-out cases that showed the class, built here from
scratch. Every case runs the real command line (in-process, or as a subprocess where signals,
concurrency or a server are involved) and checks what a planner would see: the exit code, the
message, and the files on disk afterwards. Load tests talk to 127.0.0.1 only and are bounded in
connections and seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare.cli import app

ROOT = Path(__file__).resolve().parents[1]
STAFF_HEADER = "DATE,ORG_CODE,GRADE,SPECIALITY_GROUP,SPECIALTY,FTE\n"
#: RRV is University College London Hospitals (London) in the organisation lookup.
STAFF_ROW = "30/09/2017,RRV,{grade},Anaesthetics,Anaesthetics,{fte}\n"
POSTS = "local_office,specialty,posts\nLondon,Cardiology,50\nNorth West,Cardiology,40\n"
PUBLISHED = ROOT / "examples" / "calibration_published_example.csv"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAIRSHARE_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("FAIRSHARE_DATA", "")
    monkeypatch.chdir(tmp_path)


def _cli(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(app, args)
    assert "Traceback" not in res.output
    return res.exit_code, re.sub(r"\s*\n\s*", " ", res.output)


def _sub(args: list[str], cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **kw.pop("env", {})}
    return subprocess.Popen([sys.executable, "-m", "fairshare.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _staff(d: Path, name: str, rows: str) -> Path:
    path = d / name
    path.write_text(STAFF_HEADER + rows, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Case:
    id: str
    check: Callable[[Path], None]


# ---------------------------------------------------------------------------------------------
# Data loss: nothing a command writes ever replaces another output, an input or a user's file
# ---------------------------------------------------------------------------------------------


def _concurrent_default_folders(d: Path) -> None:
    procs = [_sub(["targets"], d) for _ in range(5)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 5, [e[-500:] for _, e in outs]
    folders = [p for p in (d / "results").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(folders) == 5, sorted(p.name for p in folders)
    for folder in folders:
        assert {"targets.csv", "run.json", "columns.csv"} <= {p.name for p in folder.iterdir()}
    said = {re.search(r"wrote (\S+)/:", o).group(1) for o, _ in outs}  # type: ignore[union-attr]
    assert len(said) == 5  # each command names its own folder


def _refused_unchanged(args: Callable[[Path], list[str]], *keep: str) -> Callable[[Path], None]:
    def check(d: Path) -> None:
        (d / "x.csv").write_text(POSTS, encoding="utf-8")
        _staff(d, "staff.csv", STAFF_ROW.format(grade="Core Training", fte=5))
        (d / "p.csv").write_bytes(PUBLISHED.read_bytes())
        before = {k: _digest(d / k) for k in keep}
        code, text = _cli(args(d))
        assert code == 2, text[-800:]
        assert "inputs" in text or "other files" in text or "run store" in text, text[-800:]
        assert {k: _digest(d / k) for k in keep} == before
    return check


def _folder_with_user_files(d: Path) -> None:
    assert _cli(["targets", "--out", str(d / "o")])[0] == 0
    (d / "o" / "notes.txt").write_text("my notes", encoding="utf-8")
    code, text = _cli(["targets", "--out", str(d / "o")])
    assert code == 2 and "notes.txt" in text, text[-500:]
    assert (d / "o" / "notes.txt").read_text(encoding="utf-8") == "my notes"


def _stored_run_folder(d: Path) -> None:
    assert _cli(["run", "--horizon", "2024", "--out", str(d / "r")])[0] == 0
    stored = next((d / "store" / "runs").iterdir())
    before = {p.name: _digest(p) for p in stored.iterdir()}
    code, text = _cli(["targets", "--out", str(stored)])
    assert code == 2 and "run store" in text, text[-500:]
    assert {p.name: _digest(p) for p in stored.iterdir()} == before


def _calibrated_scenario_beside(d: Path) -> None:
    (d / "calibrated_scenario.yaml").write_text("name: mine\n", encoding="utf-8")
    code, text = _cli(["calibrate", "--published", str(PUBLISHED), "--out", str(d / "x.csv")])
    assert code == 0, text[-800:]
    assert (d / "calibrated_scenario.yaml").read_text(encoding="utf-8") == "name: mine\n"
    assert (d / "x.calibrated_scenario.yaml").is_file()


def _stopped_while_writing(sig: int) -> Callable[[Path], None]:
    def check(d: Path) -> None:
        env = {"FAIRSHARE_TEST_PAUSE": "output_before_swap:60"}
        proc = _sub(["targets"], d, env=env)
        assert proc.stderr is not None
        for line in proc.stderr:  # the marker says the folder is half built, now
            if "fairshare-test-paused" in line:
                break
        proc.send_signal(sig)
        proc.communicate(timeout=60)
        hidden = [p.name for p in (d / "results").iterdir() if p.name.startswith(".")]
        if sig == signal.SIGTERM:  # cleaned on the signal
            assert proc.returncode == 128 + sig and hidden == []
            return
        assert hidden  # SIGKILL cannot be caught: the next run removes what it left
        again = _sub(["targets"], d)
        again.communicate(timeout=300)
        assert again.returncode == 0
        assert [p.name for p in (d / "results").iterdir() if p.name.startswith(".")] == []
    return check


def _input_inside_output(d: Path) -> list[str]:
    """An earlier output folder ``o`` whose own targets.csv is given back as --posts: writing
    the folder whole again would delete the input while it is read."""
    assert _cli(["targets", "--posts", str(d / "x.csv"), "--out", str(d / "o")])[0] == 0
    return ["targets", "--posts", str(d / "o" / "targets.csv"), "--out", str(d / "o")]


DATA_LOSS = [
    Case("five-concurrent-commands-five-folders", _concurrent_default_folders),
    Case("targets-out-is-its-posts", _refused_unchanged(
        lambda d: ["targets", "--posts", str(d / "x.csv"), "--out", str(d / "x.csv")], "x.csv")),
    Case("baseline-build-out-is-its-from", _refused_unchanged(
        lambda d: ["baseline", "build", "--from", str(d / "staff.csv"), "--out",
                   str(d / "staff.csv")], "staff.csv")),
    Case("calibrate-out-is-its-published", _refused_unchanged(
        lambda d: ["calibrate", "--published", str(d / "p.csv"), "--out", str(d / "p.csv")],
        "p.csv")),
    Case("out-folder-holding-an-input", _refused_unchanged(_input_inside_output)),
    Case("out-folder-with-user-files", _folder_with_user_files),
    Case("out-a-stored-runs-folder", _stored_run_folder),
    Case("calibrate-beside-a-calibrated-scenario", _calibrated_scenario_beside),
    Case("sigterm-while-writing", _stopped_while_writing(signal.SIGTERM)),
    Case("sigkill-while-writing-then-next-run", _stopped_while_writing(signal.SIGKILL)),
]


@pytest.mark.parametrize("case", DATA_LOSS, ids=[c.id for c in DATA_LOSS])
def test_data_loss_class(case: Case, tmp_path: Path) -> None:
    case.check(tmp_path)


# ---------------------------------------------------------------------------------------------
# Silent wrong answers: refused or said, never a quietly different number
# ---------------------------------------------------------------------------------------------


def _build(d: Path, rows: str) -> tuple[int, str]:
    return _cli(["baseline", "build", "--from", str(_staff(d, "staff.csv", rows)), "--out",
                 str(d / "b.csv")])


def _refuses(rows: str, expect: str) -> Callable[[Path], None]:
    def check(d: Path) -> None:
        code, text = _build(d, rows)
        assert code == 2 and re.search(expect, text), text[-800:]
        assert not (d / "b.csv").exists()
    return check


def _grades_in_any_case(d: Path) -> None:
    code, text = _build(d, STAFF_ROW.format(grade="specialty registrar", fte=7))
    assert code == 0, text[-800:]
    built = pd.read_csv(d / "b.csv")
    counted = built[built["basis"].str.startswith("NHS Digital")]
    assert counted["fte"].sum() == 7 and counted["posts"].sum() == 7  # hand count: 7 FTE


def _built_files_validate(d: Path) -> None:
    rows = "".join(STAFF_ROW.format(grade=g, fte=f).replace("RRV", org) for g, f, org in (
        ("Core Training", 3.5, "RRV"), ("Foundation Doctor Year 1", 0.4, "RGQ"),
        ("Specialty Registrar", 1, "ZZZ99")))
    code, text = _build(d, rows)
    assert code == 0, text[-800:]
    code, text = _cli(["validate", str(d / "b.csv")])
    assert code == 0 and "OK" in text, text[-800:]


def _calibrate_refuses(rows: str, expect: str) -> Callable[[Path], None]:
    def check(d: Path) -> None:
        (d / "pub.csv").write_text("area,specialty,published_gap,year\n" + rows, encoding="utf-8")
        code, text = _cli(["calibrate", "--published", str(d / "pub.csv"), "--out",
                           str(d / "c")])
        assert code == 2 and re.search(expect, text), text[-800:]
    return check


FIVE = "".join(f"{a},Cardiology,{g},2024\n" for a, g in (
    ("London", -60), ("North West", 11), ("Wessex", 4), ("North East", 3), ("South West", 6)))


def _warns(args: list[str], files: dict[str, str], expect: str) -> Callable[[Path], None]:
    def check(d: Path) -> None:
        for name, text in files.items():
            (d / name).write_text(text, encoding="utf-8")
        code, out = _cli([a.replace("{d}", str(d)) for a in args])
        assert code == 0 and re.search(expect, out), out[-1500:]
    return check


def _empty_data_folder(d: Path) -> None:
    (d / "empty").mkdir()
    code, text = _cli(["--data", str(d / "empty"), "targets", "--out", str(d / "t.csv")])
    assert code == 2 and "holds none of the data files" in text, text[-500:]


SILENT = [
    Case("baseline-grades-lower-case", _grades_in_any_case),
    Case("baseline-duplicate-rows", _refuses(STAFF_ROW.format(grade="Core Training", fte=5) * 2,
                                             r"row 3: duplicate row: RRV, Core Training")),
    Case("baseline-no-training-grades", _refuses(STAFF_ROW.format(grade="Consultant", fte=5),
                                                 r"no doctors in training")),
    Case("baseline-no-known-trusts", _refuses(STAFF_ROW.format(grade="Core Training", fte=5)
                                              .replace("RRV", "QQQ99"), r"no training FTE could "
                                              r"be placed.*QQQ99")),
    Case("baseline-census-2099", _refuses(STAFF_ROW.format(grade="Core Training", fte=5)
                                          .replace("2017", "2099"), r"row 2, column 'DATE': "
                                          r"census date 30/09/2099")),
    Case("baseline-census-1900", _refuses(STAFF_ROW.format(grade="Core Training", fte=5)
                                          .replace("2017", "1900"), r"census date 30/09/1900")),
    Case("baseline-built-file-validates", _built_files_validate),
    Case("calibrate-duplicate-rows", _calibrate_refuses(FIVE + "London,Cardiology,-60,2024\n",
                                                        r"row 7: London, Cardiology, 2024 is "
                                                        r"already given on row 2")),
    Case("calibrate-absurd-gap", _calibrate_refuses(FIVE.replace("-60", "-900000"),
                                                    r"row 2, column 'published_gap': -900000 "
                                                    r"posts is not a possible gap")),
    Case("calibrate-one-figure-five-parameters", _calibrate_refuses(
        "London,Cardiology,-60,2024\n", r"1 published figure\(s\) for 5 parameters")),
    Case("convergence-share-under-full", _warns(
        ["targets", "--scenario", "{d}/s.yaml", "--out", "{d}/t.csv"],
        {"s.yaml": "convergence: {policy: full, share: 0.5}\n"},
        r"convergence\.share given, but convergence policy 'full' never uses it")),
    Case("capacity-before-the-plan", _warns(
        ["plan", "--horizon", "2024", "--capacity", "{d}/cap.csv", "--out", "{d}/p"],
        {"cap.csv": "local_office,specialty,year,capacity\nLondon,Cardiology,2015,3\n"},
        r"cap\.csv: 1 row\(s\) of capacity are for years before the plan's first year")),
    Case("empty-data-folder", _empty_data_folder),
]


@pytest.mark.parametrize("case", SILENT, ids=[c.id for c in SILENT])
def test_silent_wrong_answers_class(case: Case, tmp_path: Path) -> None:
    case.check(tmp_path)


# ---------------------------------------------------------------------------------------------
# Unsafe output: nothing from input text runs, travels, or hides in what the tool shows
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web() -> Any:
    pytest.importorskip("dash", reason="the web app needs dash")
    from fairshare.webapp.app import create_app
    from fairshare.webapp.engine import Engine

    engine = Engine(prefetch=False)
    return engine, create_app(engine=engine, warm=False, hosts=["planning.example.nhs.uk"])


def _web_csv_defused(d: Path, web: Any) -> None:
    from fairshare.webapp import views
    from fairshare.webapp.state import DEFAULTS

    engine, _ = web
    frame = pd.DataFrame({"area": ['=HYPERLINK("http://x","y")', "@SUM(A1)", "London"],
                          "specialty": ["Cardiology"] * 3, "gap": [-3, 2, 1]})
    real = engine.targets
    engine.targets = lambda *a, **k: frame
    try:
        _, text = views.targets_csv(engine, dict(DEFAULTS))
    finally:
        engine.targets = real
    cells = [c for line in text.splitlines()[1:] for c in line.split(",")]
    assert not [c for c in cells if c.lstrip('"')[:1] in ("=", "@", "+")], text
    assert "-3" in cells  # numbers stay numbers


def _host_header(d: Path, web: Any) -> None:
    client = web[1].server.test_client()
    for host in ("evil.example", "evil.example:8050", "localhost.evil.example", ""):
        assert client.get("/", headers={"Host": host}).status_code in (400, 421), host
    for host in ("localhost:8050", "127.0.0.1", "[::1]:8050", "planning.example.nhs.uk"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host


def _nul_in_scenario_name(d: Path, web: Any) -> None:
    (d / "s.yaml").write_text('name: "plan\\0b"\n', encoding="utf-8")
    code, text = _cli(["targets", "--scenario", str(d / "s.yaml"), "--out", str(d / "t.csv")])
    assert code == 2 and "'name'" in text and "U+0000" in text, text[-500:]
    assert not (d / "t.csv").exists()


def _look_alikes_marked(d: Path, web: Any) -> None:
    (d / "p.csv").write_text("local_office,specialty,posts\nNorth W\u0435st,Cardiology,5\n"
                             "London,Cardi\u200bology,3\n", encoding="utf-8")
    code, text = _cli(["validate", str(d / "p.csv")])
    assert code == 2
    assert "'North W<U+0435>st' (did you mean 'North West'?)" in text, text
    assert "'Cardi<U+200B>ology'" in text, text


UNSAFE = [Case("web-csv-download-formulas", _web_csv_defused),  # type: ignore[arg-type]
          Case("host-header-dns-rebinding", _host_header),  # type: ignore[arg-type]
          Case("nul-in-scenario-name", _nul_in_scenario_name),  # type: ignore[arg-type]
          Case("look-alike-characters-in-messages", _look_alikes_marked)]  # type: ignore[arg-type]


@pytest.mark.parametrize("case", UNSAFE, ids=[c.id for c in UNSAFE])
def test_unsafe_output_class(case: Case, tmp_path: Path, web: Any) -> None:
    case.check(tmp_path, web)  # type: ignore[call-arg]


# ---------------------------------------------------------------------------------------------
# Availability: nothing a client or a file does can hang the tool or lock users out
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """`fairshare serve` on a free loopback port; yields (port, the URL it printed)."""
    pytest.importorskip("waitress", reason="serve needs waitress")
    port = _free_port()
    proc = _sub(["serve", "--port", str(port)], tmp_path_factory.mktemp("serve"))
    assert proc.stdout is not None
    ready = ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "ready on" in line or not line:
            ready = line
            break
    try:
        # "ready" means bound: the first connection, made at once, must be answered
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        yield port, ready
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _slow_clients(port: int) -> None:
    slow = []
    try:
        for _ in range(120):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(s)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")  # another user is served while 120 connections dawdle
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        for s in slow:
            s.close()


def _hundred_megabytes(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/_dash-update-component", body=b" " * (100 * 1024 * 1024),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413 and b"refused" in response.read()
    conn.close()


def test_availability_class_server(server: tuple[int, str]) -> None:
    port, ready = server
    assert f"http://127.0.0.1:{port}/" in ready
    _slow_clients(port)
    _hundred_megabytes(port)
    from fairshare.webapp.app import url_for

    assert url_for("::", 8050) == "http://[::1]:8050/"
    assert url_for("fe80::1", 80) == "http://[fe80::1]:80/"
    assert url_for("0.0.0.0", 8050) == "http://127.0.0.1:8050/"


def _gzip_bomb(d: Path) -> bytes:
    line = ("30/09/2017,RRV,Core Training,Anaesthetics,Anaesthetics,1\n" * 1000).encode()
    raw = gzip.compress(STAFF_HEADER.encode() + line * 12_000, compresslevel=9)  # ~700 MB
    assert len(raw) < 3_000_000
    return raw


@pytest.mark.parametrize("args", [
    ["baseline", "build", "--from", "{d}/staff.csv.gz", "--out", "{d}/b.csv"],
    ["validate", "{d}/staff.csv.gz"],
], ids=["baseline-build", "validate"])
def test_availability_class_files(args: list[str], tmp_path: Path) -> None:
    """A compression bomb, a 100,000-column file and 30,000 unknown codes: each answered in
    bounded time and memory with a bounded message."""
    d = tmp_path
    (d / "staff.csv.gz").write_bytes(_gzip_bomb(d))
    code, text = _cli([a.replace("{d}", str(d)) for a in args])
    assert code == 2 and "unpacks to more than" in text, text[-500:]
    (d / "wide.csv").write_text(",".join(f"c{i}" for i in range(100_000)) + "\n"
                                + ",".join("1" for _ in range(100_000)) + "\n")
    code, text = _cli(["validate", str(d / "wide.csv")])
    assert code == 2 and "100,000 columns" in text, text[-500:]
    rows = STAFF_ROW.format(grade="Core Training", fte=2) + "".join(
        STAFF_ROW.format(grade="Core Training", fte=1).replace("RRV", f"X{i:05d}")
        for i in range(30_000))
    res = CliRunner().invoke(app, ["baseline", "build", "--from",
                                   str(_staff(d, "many.csv", rows)), "--out", str(d / "b.csv")])
    assert res.exit_code == 0, res.output[-500:]
    assert "30,000 organisation(s) not placed" in res.output
    assert len(res.output.splitlines()) < 40 and "29,990 more" in res.output


# ---------------------------------------------------------------------------------------------
# Unclear or wrong refusals: a clear message and exit code 2, or accepted when it is right
# ---------------------------------------------------------------------------------------------


def _refusal(args: Callable[[Path], list[str]], expect: str) -> Callable[[Path], None]:
    def check(d: Path) -> None:
        code, text = _cli(args(d))
        assert code == 2 and re.search(expect, text), text[-800:]
    return check


def _file(d: Path, name: str, data: bytes) -> str:
    (d / name).write_bytes(data)
    return str(d / name)


def _workbook() -> bytes:
    import io

    buf = io.BytesIO()
    pd.read_csv(io.StringIO(STAFF_HEADER + STAFF_ROW.format(grade="Core Training", fte=1))
                ).to_excel(buf, index=False)
    return buf.getvalue()


def _read_only(d: Path) -> None:
    """As root every folder is writable, so the check is made to see one read-only folder."""
    real = os.access
    ro = d / "ro"

    def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        return False if ro in (Path(path), *Path(path).parents) else real(path, mode)

    os.access = access  # type: ignore[assignment]
    ro.mkdir()
    try:
        for args in (["targets", "--out", str(d / "ro" / "t.csv")],
                     ["run", "--horizon", "2024", "--store", str(d / "ro" / "store")]):
            code, text = _cli(args)
            assert code == 2 and "read-only" in text, text[-500:]
    finally:
        os.access = real


def _accepted(args: Callable[[Path], list[str]], files: dict[str, str],
              check: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(d: Path) -> None:
        for name, text in files.items():
            (d / name).write_text(text, encoding="utf-8")
        code, text = _cli(args(d))
        assert code == 0, text[-800:]
        check(d)
    return run


def _capacity_used(d: Path) -> None:
    plan = pd.read_csv(d / "p" / "plan.csv")
    row = plan[plan["area"].str.startswith("NHS Cheshire") & (plan["specialty"] == "Cardiology")]
    assert (row["capacity"] == 2).all() and len(row) > 0


def _new_programme_allowed(d: Path) -> None:
    plan = pd.read_csv(d / "p" / "plan.csv")
    row = plan[(plan["area"] == "East Midlands")
               & (plan["specialty"] == "Audiovestibular Medicine")]
    assert (row["capacity"] == 2).all() and len(row) > 0


def _zero_need(d: Path) -> None:
    from fairshare.inputs.bundle import data_dir

    (d / "country").mkdir()
    wp = pd.read_csv(data_dir() / "weighted_population.csv")
    wp["maternity"] = 0
    wp.to_csv(d / "country" / "weighted_population.csv", index=False)
    code, text = _cli(["--data", str(d / "country"), "targets", "--out", str(d / "t.csv")])
    assert code == 2 and "'maternity' are 0 in every area" in text, text[-500:]
    assert "nan" not in text.lower()


ROW = STAFF_ROW.format(grade="Core Training", fte=1)
REFUSALS = [
    Case("posts-utf16", _refusal(lambda d: ["validate", _file(d, "p.csv", POSTS.encode(
        "utf-16"))], r"p\.csv, row 1: UTF-16 text")),
    Case("baseline-utf16", _refusal(lambda d: ["baseline", "build", "--from", _file(
        d, "s.csv", (STAFF_HEADER + ROW).encode("utf-16")), "--out", str(d / "b.csv")],
        r"s\.csv, row 1: UTF-16 text")),
    Case("baseline-latin1", _refusal(lambda d: ["baseline", "build", "--from", _file(
        d, "s.csv", (STAFF_HEADER + ROW.replace("Anaesthetics,1", "Anésthetics,1")).encode(
            "latin-1")), "--out", str(d / "b.csv")], r"s\.csv, row 2: not UTF-8 text.*Latin-1")),
    Case("baseline-xlsx", _refusal(lambda d: ["baseline", "build", "--from", _file(
        d, "s.xlsx", _workbook()), "--out", str(d / "b.csv")], r"s\.xlsx: an Excel workbook")),
    Case("baseline-two-date-formats", _refusal(lambda d: ["baseline", "build", "--from", _file(
        d, "s.csv", (STAFF_HEADER + ROW + ROW.replace("30/09/2017", "2017-09-30").replace(
            "RRV", "RGQ")).encode()), "--out", str(d / "b.csv")],
        r"row 3, column 'DATE': '2017-09-30' is written differently")),
    Case("read-only-output-and-store", _read_only),
    Case("out-dot", _refusal(lambda d: ["targets", "--out", "."], r"current folder")),
    Case("out-folder-named-csv", _refusal(lambda d: ["targets", "--out", str(
        d / "dir.csv")] if (d / "dir.csv").mkdir() is None else [], r"a folder of that name")),
    Case("out-unsupported-extension", _refusal(lambda d: ["targets", "--out", "t.docx"],
                                               r"unsupported file type '\.docx'")),
    Case("out-240-character-name", _refusal(lambda d: ["targets", "--out", "n" * 240 + ".csv"],
                                            r"a file or folder name of 244 characters")),
    Case("capacity-for-a-specialty-not-yet-held", _accepted(
        lambda d: ["plan", "--horizon", "2024", "--capacity", str(d / "cap.csv"), "--out",
                   str(d / "p")],
        {"cap.csv": "local_office,specialty,capacity\nEast Midlands,Audiovestibular Medicine,"
                    "2\n"}, _new_programme_allowed)),
    Case("capacity-per-icb-for-a-plan-by-icb", _accepted(
        lambda d: ["plan", "--level", "icb", "--horizon", "2024", "--capacity",
                   str(d / "cap.csv"), "--out", str(d / "p")],
        {"cap.csv": "icb,specialty,capacity\nQYG,Cardiology,2\n"}, _capacity_used)),
    Case("all-zero-need-component", _zero_need),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c.id for c in REFUSALS])
def test_unclear_refusals_class(case: Case, tmp_path: Path) -> None:
    case.check(tmp_path)


def test_hostile_callback_bodies_get_400_with_a_reason(web: Any) -> None:
    """Bodies shaped like Dash's but with hostile changedPropIds ended in a server error."""
    from dash._utils import split_callback_id

    dash_app = web[1]
    client = dash_app.server.test_client()
    for output, spec in dash_app.callback_map.items():
        if not callable(spec.get("callback")):
            continue
        for changed in (None, 1, True, [1], {"a": 1}):
            body = {"output": output, "outputs": split_callback_id(output),
                    "inputs": [{**i, "value": None} for i in spec["inputs"]],
                    "state": [{**s, "value": None} for s in spec["state"]],
                    "changedPropIds": changed}
            response = client.post("/_dash-update-component", data=json.dumps(body),
                                   content_type="application/json")
            assert response.status_code == 400, (output, changed)
            assert "changedPropIds" in response.get_data(as_text=True)
