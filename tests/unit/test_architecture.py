"""The house rules a machine can check: the import contracts of pyproject.toml ([tool.importlinter]: the
layers, no cycles among siblings, only gui/ imports Qt, domain/ stays pure), Qt-free imports at run time,
style and types."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "shopctrl_desktop"
QT = {"PySide6", "qasync", "shiboken6"}


def _modules(*, exclude: str | None = None, only: str | None = None) -> list[Path]:
    files = sorted(PKG.rglob("*.py"))
    if only:
        files = [f for f in files if f.relative_to(PKG).parts[0] == only]
    if exclude:
        files = [f for f in files if f.relative_to(PKG).parts[0] != exclude]
    return files


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


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the package below ``root``, with the contracts of ``root``/pyproject.toml."""
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache"],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )


def test_import_contracts_hold() -> None:
    """The layers (cli > demo > gui -> engine -> store -> domain), no cycles among siblings, Qt only in gui/,
    no SQL or HTTP in domain/: checked by import-linter, function-level imports included."""
    result = _lint_imports(PKG.parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert set(_verdicts(result.stdout).values()) == {"KEPT"}


def _verdicts(stdout: str) -> dict[str, str]:
    """Each contract's name (pyproject.toml) -> "KEPT" or "BROKEN", from import-linter's summary (which wraps
    long names)."""
    text = " ".join(stdout.split())
    names = [
        c["name"]
        for c in tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["importlinter"][
            "contracts"
        ]
    ]
    verdicts = {}
    for name in names:
        found = re.search(re.escape(" ".join(name.split())) + r" (KEPT|BROKEN)", text)
        assert found, f"no verdict for {name!r} in:\n{stdout[-3000:]}"
        verdicts[name] = found.group(1)
    return verdicts


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # an arrow up is also a circle between the two siblings
        ("store/queue.py", "from shopctrl_desktop.engine import progress", {"Layers", "No cycles"}),
        ("engine/service.py", "from shopctrl_desktop.gui import app", {"Layers", "No cycles"}),
        ("domain/templates/render.py", "from shopctrl_desktop.domain import payload", {"No cycles"}),
        ("cli/common.py", "from shopctrl_desktop.cli import queue", {"No cycles"}),
        ("engine/listener.py", "import PySide6", {"Only gui/ imports Qt"}),
        ("domain/events.py", "import sqlalchemy", {"domain/ is pure"}),
    ],
)
def test_import_contracts_catch_a_violation(tmp_path: Path, module: str, line: str, broken: set[str]) -> None:
    """The contracts bite: one upward, circular or impure import (here inside a function, as lazy imports
    hide them) in a copy of the tree breaks exactly the contracts that forbid it."""
    shutil.copytree(PKG, tmp_path / "shopctrl_desktop", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PKG.parent / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "shopctrl_desktop" / module
    target.write_text(
        target.read_text("utf-8") + f"\n\ndef _violation() -> None:\n    {line}  # noqa\n", "utf-8"
    )
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout[-3000:]
    broken_now = {name for name, verdict in _verdicts(result.stdout).items() if verdict == "BROKEN"}
    assert {prefix for prefix in broken if any(name.startswith(prefix) for name in broken_now)} == broken
    assert len(broken_now) == len(broken), broken_now
