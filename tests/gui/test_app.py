"""gui.app.main(): a clear dialog when the database cannot be opened; a full start and clean quit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from shopctrl_desktop.gui import app as gui_app

ROOT = Path(__file__).resolve().parents[2]


def test_database_that_cannot_be_opened_is_shown_in_a_dialog(qtbot, tmp_path, monkeypatch):
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    not_a_database = tmp_path / "folder"
    not_a_database.mkdir()
    code = gui_app.main([], data_dir=str(tmp_path / "data"), database_url=f"sqlite:///{not_a_database}")
    assert code == 2
    assert shown and "cannot start" in shown[0][0]
    assert "cannot open database" in shown[0][1] and "Traceback" not in shown[0][1]


def test_main_starts_the_engine_and_quits_cleanly(tmp_path):
    """In a child process (main() owns the QApplication and the asyncio loop): start, then File > Quit."""
    script = textwrap.dedent(
        """
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        from shopctrl_desktop.gui import app as gui_app

        def check():
            app = QApplication.instance()
            windows = [w for w in app.topLevelWidgets() if w.objectName() == "main_window"]
            if windows and windows[0].engine.listener_address:
                w = windows[0]
                print("LISTENING", w.engine.listener_address, flush=True)
                w.close()
            else:
                QTimer.singleShot(50, check)

        app = QApplication([])  # main() takes the existing instance
        QTimer.singleShot(50, check)
        code = gui_app.main(["--data-dir", sys.argv[1], "--listen", "127.0.0.1:0"])
        print("EXIT", code, flush=True)
        sys.exit(code)
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "settings.json").write_text("{}")  # an install that chose; no first-run dialog
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "LISTENING 127.0.0.1:" in done.stdout and "EXIT 0" in done.stdout
    assert "Traceback" not in done.stderr
    assert (tmp_path / "data" / "window.ini").exists()  # the layout was saved on quit


def test_garbage_is_collected_on_the_gui_thread_only(qtbot):
    import gc
    import weakref

    from shopctrl_desktop.gui.garbage import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(interval_ms=10)
    try:
        assert not gc.isenabled()  # no collection on an engine or worker thread

        class Node:
            pass

        first = Node()
        first.me = first  # a cycle: only the cyclic collector frees it
        gone = weakref.ref(first)
        del first
        keep = [Node() for _ in range(gc.get_threshold()[0] + 10)]  # fill generation 0
        qtbot.waitUntil(lambda: gone() is None, timeout=5_000)
        del keep
    finally:
        collector.stop()
    assert gc.isenabled()
