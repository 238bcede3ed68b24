"""PostgreSQL ``LISTEN`` for the change notifications of migration 0005_live (one per table and transaction).

:class:`ChangeListener` holds its own psycopg connection (autocommit, outside the SQLAlchemy pool) and waits
for a notification on :data:`CHANNEL`; a lost connection raises :class:`ListenerLost`, and the caller polls
instead until :meth:`ChangeListener.connect` succeeds again.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

#: The channel migration 0005_live's statement triggers notify (payload: the table name).
CHANNEL = "shopctrl_changes"


class ListenerLost(RuntimeError):
    """The notification connection is gone (server restarted, network down, connection killed)."""


def libpq_params(url: str) -> dict[str, Any]:
    """psycopg connection keywords from a SQLAlchemy URL (``postgresql+psycopg://user:pw@host:port/db?…``)."""
    parsed = make_url(url)
    params: dict[str, Any] = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
    for key, value in (
        ("user", parsed.username),
        ("password", parsed.password),
        ("host", parsed.host),
        ("port", parsed.port),
        ("dbname", parsed.database),
    ):
        if value is not None:
            params[key] = value
    return params


class ChangeListener:
    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self._params = libpq_params(url)
        self._timeout = connect_timeout
        self._conn: Any = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    @property
    def backend_pid(self) -> int | None:
        return self._conn.info.backend_pid if self.connected else None

    def connect(self) -> None:
        """Open the connection and LISTEN; raises ListenerLost when the server cannot be reached."""
        import psycopg

        self.close()
        try:
            conn = psycopg.connect(
                autocommit=True, connect_timeout=max(1, int(self._timeout)), **self._params
            )
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            raise ListenerLost(str(exc)) from exc
        self._conn = conn

    def wait(self, timeout: float) -> set[str]:
        """The tables that changed (payloads), empty after ``timeout`` seconds without a notification."""
        import psycopg

        if not self.connected:
            raise ListenerLost("not connected")
        tables: set[str] = set()
        try:
            for notify in self._conn.notifies(timeout=timeout, stop_after=1):
                tables.add(notify.payload)
            # more may be queued behind the first: take them without waiting
            for notify in self._conn.notifies(timeout=0, stop_after=1000):
                tables.add(notify.payload)
        except psycopg.Error as exc:
            self.close()
            raise ListenerLost(str(exc)) from exc
        return tables

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                log.debug("closing the notification connection failed", exc_info=True)
