"""Every embedded data file has its sources in the package: publisher, URL, licence, vintage."""

from __future__ import annotations

import re
from pathlib import Path

import fairshare

DATA = Path(fairshare.__file__).parent / "data"
FIELDS = ("Publisher", "URL", "Licence", "Vintage")
DOCS = {"README.md", "SOURCES.md"}


def _blocks() -> dict[str, str]:
    text = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    parts = re.split(r"^### `([^`]+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_embedded_file_is_listed_with_publisher_url_licence_and_vintage() -> None:
    files = {p.name for p in DATA.iterdir() if p.is_file() and p.name not in DOCS}
    blocks = _blocks()
    assert sorted(files - set(blocks)) == [], "embedded files without a SOURCES.md entry"
    assert sorted(set(blocks) - files) == [], "SOURCES.md lists files that are not shipped"
    for name, body in blocks.items():
        for field in FIELDS:
            found = re.search(rf"^- \*\*{field}:\*\* (.+)$", body, flags=re.M)
            assert found and found[1].strip(), f"{name}: no {field}"
        url = re.search(r"^- \*\*URL:\*\* (.+)$", body, flags=re.M)
        assert url and (url[1].startswith("https://") or url[1].startswith("none")), name


def test_readmes_point_to_the_shipped_sources_file() -> None:
    root = Path(fairshare.__file__).parents[2]
    assert "src/fairshare/data/SOURCES.md" in (root / "README.md").read_text(encoding="utf-8")
    assert "(SOURCES.md)" in (DATA / "README.md").read_text(encoding="utf-8")
