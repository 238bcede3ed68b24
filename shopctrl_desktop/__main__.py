"""``python -m shopctrl_desktop``: the same as the ``shopctrl-desktop`` command."""

from shopctrl_desktop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
