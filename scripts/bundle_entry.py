"""Entry point of the PyInstaller bundle (build.spec): the shopctrl-desktop command line."""

from __future__ import annotations

import sys


def _run() -> int:
    from shopctrl_desktop.cli import main

    return int(main() or 0)


if __name__ == "__main__":
    import multiprocessing

    # The desktop app runs its engine in a child process (multiprocessing "spawn"): in the bundle that child
    # is this executable again, and freeze_support() turns it into the engine instead of a second app (on
    # every platform: PyInstaller's runtime hook makes it work beyond Windows).
    multiprocessing.freeze_support()
    sys.exit(_run())
