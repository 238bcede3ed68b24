"""Recording attempt outcomes on PostgreSQL in two statements, however many there are (store/claim.py).

An ``executemany`` of one UPDATE per item (and one INSERT per attempt) costs a server round trip and a
statement execution per row; with psycopg that made recording take most of the delivery thread's time on
PostgreSQL. Here each column travels as one array and ``unnest`` turns the arrays back into rows: one
``INSERT … SELECT FROM unnest(…)`` for the attempts, one ``UPDATE … FROM unnest(…)`` for the items.
The statements never change, so the server plans them once per connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from shopctrl_desktop.store.claim_sqlite import ATTEMPT_COLUMNS, RECORD_COLUMNS

_SQL_TYPES = {
    "item_id": "integer",
    "number": "integer",
    "started_at": "timestamp",
    "duration_ms": "double precision",
    "status_code": "integer",
    "response_headers_json": "text",
    "response_body": "text",
    "error": "text",
    "id": "integer",
    "status": "text",
    "attempts": "integer",
    "last_attempt_at": "timestamp",
    "next_attempt_at": "timestamp",
    "finished_at": "timestamp",
    "response_status": "integer",
    "response_message": "text",
}


def _arrays(columns: Sequence[str]) -> str:
    return ", ".join(f"CAST(:{name} AS {_SQL_TYPES[name]}[])" for name in columns)


_INSERT_ATTEMPTS = text(
    f"INSERT INTO delivery_attempts ({', '.join(ATTEMPT_COLUMNS)}) "
    f"SELECT * FROM unnest({_arrays(ATTEMPT_COLUMNS)})"
)
_UPDATE_COLUMNS = ("id", *RECORD_COLUMNS)
_UPDATE_ITEMS = text(
    f"UPDATE queue_items SET {', '.join(f'{name} = u.{name}' for name in RECORD_COLUMNS)}, "
    "lease_owner = NULL, lease_expires_at = NULL "
    f"FROM unnest({_arrays(_UPDATE_COLUMNS)}) AS u({', '.join(_UPDATE_COLUMNS)}) "
    "WHERE queue_items.id = u.id"
)


def naive_utc(value: datetime | None) -> datetime | None:
    """The columns are ``timestamp without time zone`` holding UTC (store/models.py UTCDateTime)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _columns(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    return {name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)}


def record(
    conn: Connection, attempt_rows: Sequence[Sequence[Any]], item_updates: Sequence[Sequence[Any]]
) -> None:
    """Insert the attempts (rows in ATTEMPT_COLUMNS order) and update the items ([id, *RECORD_COLUMNS],
    clearing the lease); times are naive UTC (:func:`naive_utc`)."""
    if attempt_rows:
        conn.execute(_INSERT_ATTEMPTS, _columns(ATTEMPT_COLUMNS, attempt_rows))
    if item_updates:
        conn.execute(_UPDATE_ITEMS, _columns(_UPDATE_COLUMNS, item_updates))
