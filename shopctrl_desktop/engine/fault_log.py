"""One clear log line per fault, not a traceback every half second: the delivery loop and the intake retry a
failing database (a full disk, a lock, a server restarting) for as long as it fails, and each turn used to log
the whole traceback. Here the first failure of a kind is one WARNING line with the reason, the same failure
again is counted and summarised at most once a minute, and the recovery is one INFO line."""

from __future__ import annotations

import logging
import time


def reason_of(exc: BaseException) -> str:
    """The database driver's own message when SQLAlchemy wraps it (``(sqlite3.OperationalError) database or
    disk is full`` → ``database or disk is full``), else the exception's text; one line."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return (text[0] if text else type(inner).__name__)[:300]


class RepeatingFault:
    """Logs a failure that repeats (``failed``) and its end (``recovered``) in a few lines."""

    def __init__(self, log: logging.Logger, what: str, *, summary_every: float = 60.0) -> None:
        self._log = log
        self._what = what
        self._summary_every = summary_every
        self._reason: str | None = None
        self._since = 0.0
        self._count = 0
        self._last_line = 0.0

    @property
    def failing(self) -> bool:
        return self._reason is not None

    def failed(self, exc: BaseException, *, retry: str = "trying again") -> None:
        reason, now = reason_of(exc), time.monotonic()
        if reason != self._reason:
            if self._reason is None:
                self._since, self._count = now, 0
            self._reason, self._last_line = reason, now
            self._count += 1
            self._log.warning("%s failed: %s; %s", self._what, reason, retry)
            return
        self._count += 1
        if now - self._last_line >= self._summary_every:
            self._last_line = now
            self._log.warning(
                "%s still failing for %.0f s (%d tries): %s",
                self._what,
                now - self._since,
                self._count,
                reason,
            )

    def recovered(self) -> None:
        if self._reason is None:
            return
        self._log.info(
            "%s works again after %.0f s (%d failed tries)",
            self._what,
            time.monotonic() - self._since,
            self._count,
        )
        self._reason = None
