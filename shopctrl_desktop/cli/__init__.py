"""The command line (SPEC 8): ``shopctrl-desktop`` / ``python -m shopctrl_desktop``.

``main`` parses and dispatches (cli/main.py); ``common`` holds what every command shares (exit codes,
``CliError``, the context, output helpers); each other module is one group of commands and imports only
``common``. Never imports Qt: the desktop app (``gui``) and the ``demo`` are imported when chosen.
"""

from shopctrl_desktop.cli.main import main

__all__ = ["main"]
