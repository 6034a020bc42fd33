"""The package's folders are its layers: each module imports only from its own layer or below.

Layers, bottom to top: the foundation (errors, vocabulary, io, scenario) → inputs → model →
analysis → publish → store → interfaces (cli, webapp, service). Imports inside functions count too,
so a lazy import cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import fairshare

ROOT = Path(fairshare.__file__).parent
ORDER = ["foundation", "inputs", "model", "analysis", "publish", "store", "interfaces"]
INTERFACES = {"cli", "webapp", "service"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "fairshare" or len(parts) == 1:
        return "foundation"
    head = parts[1]
    if head in INTERFACES:
        return "interfaces"
    return head if head in ORDER else "foundation"


def imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "fairshare":
                found += [(node.lineno, f"fairshare.{a.name}") for a in node.names
                          if (ROOT / a.name).is_dir() or (ROOT / f"{a.name}.py").exists()]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(n, m) for n, m in found if m.startswith("fairshare")]


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        if module == "fairshare":  # the public API re-exports from below, by design
            continue
        mine = ORDER.index(layer_of(module))
        for line, target in imports(path):
            if ORDER.index(layer_of(target)) > mine:
                upward.append(f"{rel}.py:{line} imports {target}")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_layer_rule_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from fairshare.publish import tables\n")
    assert imports(bad) == [(2, "fairshare.publish")]
    assert ORDER.index(layer_of("fairshare.publish")) > ORDER.index(
        layer_of("fairshare.model.plan"))
