"""``python -m shopctrl_desktop``: the same as the ``shopctrl-desktop`` command."""

from shopctrl_desktop.cli import main

if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # the desktop app's engine runs in a spawned child process
    raise SystemExit(main())
