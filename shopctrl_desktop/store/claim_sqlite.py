"""SQLite fast path for claiming and recording: one statement, one step, for a whole group of rows.

Why: Python's sqlite3 releases the GIL around every step — every fetched row, every executemany row.
The delivery engine's database thread shares the GIL with the loop thread that is busy sending, so each
step back costs a wait; a turn of ~60 claims and ~60 records was ~450 steps and ~20 ms of waiting.
Ids go in as one JSON array (``json_each``), claimed rows come out as one (``json_group_array``), and
attempts and item updates go in as one multi-row ``VALUES`` list of bound parameters (JSON there meant
encoding every value in Python and SQLite re-parsing the row document once per column — response bodies
included). A turn is about ten steps. Semantics are those of the portable statements in store/claim.py
(PostgreSQL and any other backend use those).

Needs SQLite 3.33 (UPDATE … FROM) with JSON1, like the rest of the store (RETURNING: 3.35).
Datetimes are written in SQLAlchemy's SQLite storage format (naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``)
so that they compare and read back exactly like the ORM's own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from shopctrl_desktop.domain.model import ItemStatus, Priority
from shopctrl_desktop.domain.queue import WAITING_STATUSES

_IDS = "(SELECT value FROM json_each(:ids))"
# Statuses are bound parameters like every other value: the SQL text names none. Each statement's own
# parameters are merged into these (sqlite3 ignores names a statement does not use).
_WAITING_NAMES = tuple(f"waiting{n}" for n in range(len(WAITING_STATUSES)))
_STATUS_PARAMS = {
    "sending": ItemStatus.SENDING.value,
    **{name: status.value for name, status in zip(_WAITING_NAMES, WAITING_STATUSES, strict=True)},
}
_WAITING_IN = "(" + ", ".join(f":{name}" for name in _WAITING_NAMES) + ")"


def sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    tz = value.tzinfo
    if tz is not None:
        if tz is not UTC:
            value = value.astimezone(UTC)
        value = value.replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _candidate_part(status_name: str, priority: int) -> str:
    return (
        "SELECT * FROM (SELECT id, host, priority FROM queue_items "
        f"WHERE status = :{status_name} AND priority = {priority} AND next_attempt_at <= :now "
        "AND host NOT IN (SELECT value FROM json_each(:full)) ORDER BY id LIMIT :scan)"
    )


# One index range per (priority, status), each in id order and cut at :scan rows (see claim.py).
_CANDIDATES = (
    "SELECT json_group_array(json_array(id, host, priority)) FROM ("
    + " UNION ALL ".join(
        _candidate_part(name, int(p)) for p in sorted(Priority, reverse=True) for name in _WAITING_NAMES
    )
    + ")"
)
# "+status" keeps SQLite on the primary key (a handful of ids) instead of the status index (every waiting row).
_CLAIM = (
    "UPDATE queue_items SET status = :sending, lease_owner = :owner, lease_expires_at = :until "
    f"WHERE id IN {_IDS} AND +status IN {_WAITING_IN} AND next_attempt_at <= :now"
)
_CLAIMED = (
    "SELECT json_group_array(json_array(id, attempts, priority, method, url, host, headers_json, body, "
    "action_id, trigger_id, trigger_title, event_name)) FROM queue_items "
    f"WHERE id IN {_IDS} AND +status = :sending AND lease_owner = :owner AND lease_expires_at = :until"
)
_OWNED = (
    "SELECT json_group_array(id) FROM queue_items "
    f"WHERE id IN {_IDS} AND +status = :sending AND lease_owner = :owner"
)
# The layout of the rows record_outcomes (store/claim.py) builds, for this path and the portable one: an item
# update is [id, *RECORD_COLUMNS], an attempt is ATTEMPT_COLUMNS.
RECORD_COLUMNS = (
    "status",
    "attempts",
    "last_attempt_at",
    "next_attempt_at",
    "finished_at",
    "response_status",
    "response_message",
    "duration_ms",
)
ATTEMPT_COLUMNS = (
    "item_id",
    "number",
    "started_at",
    "duration_ms",
    "status_code",
    "response_headers_json",
    "response_body",
    "error",
)
#: Rows go in as one multi-row ``VALUES`` list of bound parameters: one statement, one step — no
#: per-row GIL hand-over (executemany) and no JSON to encode in Python and re-parse per column in SQLite.
#: The list is padded with all-NULL rows to a few fixed sizes so the prepared statements are reused;
#: padding rows match no item and insert nothing.
_BUCKETS = (4, 8, 16, 32, 64, 128, 256, 512)


def _values(width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * rows)


def _record_sql(rows: int) -> str:
    names = ", ".join(("id", *RECORD_COLUMNS))
    sets = ", ".join(f"{col} = v.{col}" for col in RECORD_COLUMNS)
    return (
        f"WITH v({names}) AS (VALUES {_values(len(RECORD_COLUMNS) + 1, rows)}) "
        f"UPDATE queue_items SET {sets}, lease_owner = NULL, lease_expires_at = NULL "
        "FROM v WHERE queue_items.id = v.id"
    )


def _attempts_sql(rows: int) -> str:
    columns = ", ".join(f"column{n}" for n in range(1, len(ATTEMPT_COLUMNS) + 1))
    return (
        f"INSERT INTO delivery_attempts ({', '.join(ATTEMPT_COLUMNS)}) SELECT {columns} "
        f"FROM (VALUES {_values(len(ATTEMPT_COLUMNS), rows)}) WHERE column1 IS NOT NULL"
    )


_RECORD_SQL = {size: _record_sql(size) for size in _BUCKETS}
_ATTEMPTS_SQL = {size: _attempts_sql(size) for size in _BUCKETS}


def _cursor(conn: Connection) -> Any:
    """The sqlite3 cursor under this SQLAlchemy connection, in its transaction. These statements run on
    every database turn of the delivery engine, where SQLAlchemy's execution path (compiled-cache lookup,
    parameter processing, result set-up) cost more Python than the statements' own work."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _execute_rows(cursor: Any, statements: dict[int, str], rows: list[list[Any]], width: int) -> None:
    largest = _BUCKETS[-1]
    for start in range(0, len(rows), largest):
        chunk = rows[start : start + largest]
        size = next(b for b in _BUCKETS if b >= len(chunk))
        params: list[Any] = []
        for row in chunk:
            params += row
        params += [None] * (width * (size - len(chunk)))
        cursor.execute(statements[size], params)


def _scalar(cursor: Any, sql: str, params: dict[str, Any]) -> Any:
    row = cursor.execute(sql, params).fetchone()
    return row[0] if row else None


def candidates(conn: Connection, now: datetime, full_hosts: list[str], scan: int) -> list[tuple[int, str]]:
    params = {**_STATUS_PARAMS, "now": sqlite_time(now), "full": json.dumps(full_hosts), "scan": scan}
    rows = json.loads(_scalar(_cursor(conn), _CANDIDATES, params) or "[]")
    rows.sort(key=lambda r: (-r[2], r[0]))
    return [(r[0], r[1]) for r in rows[:scan]]


def claim(conn: Connection, ids: list[int], owner: str, now: datetime, until: datetime) -> list[list[Any]]:
    """Rows ``[id, attempts, priority, method, url, host, headers_json, body, action_id, trigger_id,
    trigger_title, event_name]`` of the items this call moved to ``sending``."""
    params = {
        **_STATUS_PARAMS,
        "ids": json.dumps(ids),
        "owner": owner,
        "now": sqlite_time(now),
        "until": sqlite_time(until),
    }
    cursor = _cursor(conn)
    cursor.execute(_CLAIM, params)
    return json.loads(_scalar(cursor, _CLAIMED, params) or "[]")  # type: ignore[no-any-return]


def owned(conn: Connection, ids: list[int], owner: str) -> set[int]:
    params = {**_STATUS_PARAMS, "ids": json.dumps(ids), "owner": owner}
    return set(json.loads(_scalar(_cursor(conn), _OWNED, params) or "[]"))


def record(conn: Connection, attempts: list[list[Any]], updates: list[list[Any]]) -> None:
    """``attempts``: [item_id, number, started_at, duration_ms, status_code, headers_json, body, error];
    ``updates``: [id, status, attempts, last_attempt_at, next_attempt_at, finished_at, response_status,
    response_message, duration_ms] — datetimes already as :func:`sqlite_time` strings."""
    cursor = _cursor(conn)
    if attempts:
        _execute_rows(cursor, _ATTEMPTS_SQL, attempts, len(ATTEMPT_COLUMNS))
    if updates:
        _execute_rows(cursor, _RECORD_SQL, updates, len(RECORD_COLUMNS) + 1)
