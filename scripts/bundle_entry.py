"""Entry point of the PyInstaller bundle (build.spec): the shopctrl-desktop command line."""

from __future__ import annotations

import sys


def _run() -> int:
    from shopctrl_desktop.cli import main

    return int(main() or 0)


if __name__ == "__main__":
    if sys.platform.startswith("win"):
        import multiprocessing

        multiprocessing.freeze_support()
    sys.exit(_run())
