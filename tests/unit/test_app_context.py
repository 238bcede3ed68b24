"""The one application context (GUI, CLI, demo): given database and box are used as they are; otherwise
both are opened on first use, and not before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import SecretBox

REPO = Path(__file__).resolve().parents[2]


def test_given_database_and_box_are_used(app_paths, db, box) -> None:
    ctx = AppContext(paths=app_paths, settings=Settings(), db=db, box=box)
    assert ctx.db is db and ctx.box is box


def test_database_and_box_open_on_first_use(app_paths) -> None:
    (app_paths.data_dir / "secret.key").write_bytes(Fernet.generate_key())
    ctx = AppContext(app_paths, Settings())
    assert ctx.database_url == f"sqlite:///{app_paths.database_file.as_posix()}"  # says, opens nothing
    assert not app_paths.database_file.exists()
    db = ctx.db
    try:
        assert isinstance(db, Database) and ctx.db is db
        with db.session():
            pass
        assert app_paths.database_file.exists()
        assert isinstance(ctx.box, SecretBox) and ctx.box is ctx.box
        assert ctx.box.decrypt(ctx.box.encrypt("x")) == "x"
    finally:
        db.dispose()


def test_importing_it_loads_neither_qt_nor_sqlalchemy() -> None:
    code = (
        "import sys, shopctrl_desktop.app_context; "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'sqlalchemy'))]; assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
