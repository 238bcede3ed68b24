# ruff: noqa: E402
"""Render the first-run choice offscreen (not a test; run by hand):

    python3 tests/gui/render_first_run_screenshot.py docs/screenshots

Writes first-run.png into the folder: "Shared database" chosen and filled with a harmless example (the
password field shows dots of a made-up password; nothing connects).
"""

import os
import sys
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

app = QApplication([])
from shopctrl_desktop.gui.first_run import DatabaseChoiceDialog
from shopctrl_desktop.paths import resolve_paths

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
dialog = DatabaseChoiceDialog(resolve_paths("/home/anna/.local/share/shopctrl-desktop"))
dialog.shared_radio.setChecked(True)
dialog.host_edit.setText("db.example")
dialog.port_spin.setValue(5432)
dialog.database_edit.setText("shop")
dialog.user_edit.setText("anna")
dialog.password_edit.setText("example")
dialog.show()
dialog.adjustSize()
dialog.password_edit.setFocus()
for _ in range(5):
    app.processEvents()
out_dir.mkdir(parents=True, exist_ok=True)
dialog.grab().save(str(out_dir / "first-run.png"))
print(out_dir / "first-run.png")
