"""Who uses a SQLite database file: every engine (``serve``, the desktop app's engine process, the demo)
holds a *shared* advisory lock on ``<database>.engine-lock`` while it runs; ``restore`` takes it
*exclusively*, so it is refused while any engine runs and no engine starts while a restore replaces the file.

``fcntl.flock`` (POSIX): the operating system drops the lock when the process ends, also on ``kill -9``, so a
crashed engine never leaves a stale lock behind. Where ``fcntl`` is missing (Windows) the lock is not
available and a restore cannot tell; docs/data.md says to stop the app first there.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class DatabaseInUseError(RuntimeError):
    """The lock is held the other way: an engine runs (for a restore), or a restore runs (for an engine)."""


def lock_file_for(database_file: Path) -> Path:
    return database_file.with_name(database_file.name + ".engine-lock")


class EngineLock:
    """One advisory lock on a database file's lock file; :meth:`release` (or the process's end) drops it."""

    def __init__(self, database_file: Path, *, exclusive: bool) -> None:
        self.path = lock_file_for(database_file)
        self.exclusive = exclusive
        self._fd: int | None = None
        if fcntl is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            if exclusive:
                raise DatabaseInUseError(
                    f"an engine is using the database {database_file} (`shopctrl-desktop serve` or the "
                    "desktop app); stop it first"
                ) from None
            raise DatabaseInUseError(
                f"the database {database_file} is being restored right now; start again when it is done"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> EngineLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
