"""The lock files pin every dependency pyproject.toml declares, within its ranges (issue 11 #12).

`make run` installs requirements/run.lock (the runtime only); `make test` adds dev.lock. A
dependency added to pyproject.toml without re-locking (`make lock`) fails here, not on a user's
machine a month later.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DEV_ONLY = {"pytest", "pytest-xdist", "hypothesis", "mypy", "ruff", "playwright", "pypdf",
            "dask", "distributed"}


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if found:
            pins[canonicalize_name(found[1])] = found[2]
    return pins


def _check(requirements: list[str], pins: dict[str, str]) -> None:
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == "fairshare":
            continue
        assert name in pins, f"{req.name} is not pinned: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} is outside {req.specifier}: run `make lock`")


def test_runtime_lock_pins_every_runtime_dependency_and_no_dev_tool() -> None:
    pins = _pins("run.lock")
    _check(PROJECT["dependencies"], pins)
    assert not DEV_ONLY & set(pins), DEV_ONLY & set(pins)


def test_dev_lock_pins_runtime_dev_and_dask_with_the_same_versions() -> None:
    run, dev = _pins("run.lock"), _pins("dev.lock")
    extras = PROJECT["optional-dependencies"]
    _check(PROJECT["dependencies"] + extras["dev"] + extras["dask"], dev)
    differ = {n: (v, dev[n]) for n, v in run.items() if n in dev and dev[n] != v}
    assert not differ, f"runtime and development installs would differ: {differ}"
