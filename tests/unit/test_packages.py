"""The packages' one-way imports that the moves of issue 10 set up, checked on the source (function-level
imports included): engine/, store/ and domain/ import none of the faces (cli/, demo/, gui/); the CLI's
shared helpers import no command module; the template package does not import what renders through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "shopctrl_desktop"
FACES = ("shopctrl_desktop.cli", "shopctrl_desktop.demo", "shopctrl_desktop.gui")


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _files(*parts: str) -> list[Path]:
    return sorted(PKG.joinpath(*parts).rglob("*.py"))


@pytest.mark.parametrize(
    "path", _files("engine") + _files("store") + _files("domain"), ids=lambda p: str(p.relative_to(PKG))
)
def test_lower_layers_import_no_face(path: Path) -> None:
    bad = sorted(m for m in _imported_modules(path) if any(_within(m, f) for f in FACES))
    assert not bad, f"{path.relative_to(PKG)} imports {bad}: cli/, demo/ and gui/ sit above it"


def test_cli_common_imports_no_command_module() -> None:
    bad = sorted(
        m
        for m in _imported_modules(PKG / "cli" / "common.py")
        if _within(m, "shopctrl_desktop.cli") and not _within(m, "shopctrl_desktop.cli.common")
    )
    assert not bad, f"cli/common.py imports {bad}; the commands import it, never the other way"


@pytest.mark.parametrize("path", _files("domain", "templates"), ids=lambda p: p.name)
def test_templates_do_not_import_payload(path: Path) -> None:
    assert not any(_within(m, "shopctrl_desktop.domain.payload") for m in _imported_modules(path))
