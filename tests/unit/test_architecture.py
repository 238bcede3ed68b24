"""The house rules a machine can check: only gui/ imports Qt; domain/ stays pure."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "shopctrl_desktop"
QT = {"PySide6", "qasync", "shiboken6"}
IMPURE_FOR_DOMAIN = QT | {"sqlalchemy", "alembic", "httpx", "httpcore", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(*, exclude: str | None = None, only: str | None = None) -> list[Path]:
    files = sorted(PKG.rglob("*.py"))
    if only:
        files = [f for f in files if f.relative_to(PKG).parts[0] == only]
    if exclude:
        files = [f for f in files if f.relative_to(PKG).parts[0] != exclude]
    return files


@pytest.mark.parametrize("path", _modules(exclude="gui"), ids=lambda p: str(p.relative_to(PKG)))
def test_only_gui_imports_qt(path: Path) -> None:
    assert not (_imports(path) & QT), f"{path.relative_to(PKG)} imports Qt; only gui/ may"


@pytest.mark.parametrize("path", _modules(only="domain"), ids=lambda p: str(p.relative_to(PKG)))
def test_domain_is_pure(path: Path) -> None:
    bad = _imports(path) & IMPURE_FOR_DOMAIN
    assert not bad, (
        f"{path.relative_to(PKG)} imports {sorted(bad)}; domain/ must stay free of Qt, SQL and HTTP"
    )


def test_everything_but_gui_imports_with_qt_absent() -> None:
    """As if PySide6 were uninstalled: every non-GUI module must still import."""
    modules = [
        ".".join(("shopctrl_desktop", *p.relative_to(PKG).with_suffix("").parts))
        for p in _modules(exclude="gui")
        if "migrations" not in p.parts and p.name != "__main__.py"
    ]
    code = (
        "import sys, importlib\n"
        "for name in ('PySide6', 'qasync', 'shiboken6'): sys.modules[name] = None\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m.removesuffix('.__init__'))\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PKG.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_ruff_lint_and_format_are_clean() -> None:
    """The house style (ruff lint + format, settings in pyproject.toml) holds for the whole tree."""
    root = PKG.parent
    paths = ["shopctrl_desktop", "tests", "benchmarks"]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *paths], capture_output=True, text=True, cwd=root
    )
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-1000:]
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *paths], capture_output=True, text=True, cwd=root
    )
    assert fmt.returncode == 0, fmt.stdout[-3000:] + fmt.stderr[-1000:]


def test_mypy_is_clean_on_the_core() -> None:
    """Type hints are checked where the logic lives: domain/, store/, engine/ (ARCHITECTURE.md)."""
    core = ["shopctrl_desktop/domain", "shopctrl_desktop/store", "shopctrl_desktop/engine"]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *core], capture_output=True, text=True, cwd=PKG.parent
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-1000:]
