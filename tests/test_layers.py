"""The layers stay apart: core imports no web or bot framework and no adapter; the web layer imports core only;
webui, admin and channels never import each other; only the composition root (chatgate) knows every part."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"quart", "hypercorn", "werkzeug", "aiogram", "wechatpy"}
ADAPTERS = {"web", "webui", "admin", "channels", "chatgate"}
# package -> top-level names it must never import
FORBIDDEN: dict[str, set[str]] = {
    "core": FRAMEWORKS | ADAPTERS,
    "web": ADAPTERS - {"web"},
    "webui": {"admin", "channels", "chatgate"},
    "admin": {"webui", "channels", "chatgate"},
    "channels": {"webui", "admin", "chatgate"},
}


def imported_roots(path: Path) -> set[str]:
    """Return the top-level package of every import in a module (TYPE_CHECKING ones included)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_inside_its_layer(package: str) -> None:
    crossings = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in imported_roots(path) & FORBIDDEN[package]
    }
    assert not crossings, sorted(crossings)


def test_the_check_sees_a_crossing(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from quart import Quart\nimport webui.v1\n"
    )
    assert {"quart", "webui"} <= imported_roots(module)
