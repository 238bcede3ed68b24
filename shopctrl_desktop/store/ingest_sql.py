"""The statements of the intake transaction (store/ingest.py), in two flavours.

SQLite (the default, one writer at a time): plain DBAPI calls on the session's own connection, inside
the same transaction. At thousands of events a second SQLAlchemy's per-statement machinery (building,
cache keys, result metadata, per-row bind processing) costs more than the statements themselves —
about 0.4 ms per statement against 20 µs. Ids are assigned from max(id) under the write lock taken by
BEGIN IMMEDIATE, so a few multi-row INSERTs store a whole group.

Other databases (PostgreSQL, several engines at once): SQLAlchemy Core with INSERT … RETURNING, and
transaction-scoped advisory locks that make the intake's two decisions exact across engines (see
IntakeSql.lock_keys): "is this event id already stored?" and "does an item with this unique key wait?".
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session

from shopctrl_desktop.domain import queue as queue_rules
from shopctrl_desktop.domain import superseding
from shopctrl_desktop.store.db import SQLITE_BUSY_TIMEOUT_MS
from shopctrl_desktop.store.models import EventRow, QueueItemRow, Shop, TriggerRow, WebhookActionRow

WAITING_STATUSES = queue_rules.status_values(queue_rules.WAITING_STATUSES)  # as bound parameter values
GROUPING_STATUSES = queue_rules.status_values(superseding.GROUPING_STATUSES)
SUPERSEDABLE_STATUSES = queue_rules.status_values(superseding.SUPERSEDABLE_STATUSES)

EVENTS = cast(Table, EventRow.__table__)
ITEMS = cast(Table, QueueItemRow.__table__)
SHOPS = cast(Table, Shop.__table__)
TRIGGERS = cast(Table, TriggerRow.__table__)
ACTIONS = cast(Table, WebhookActionRow.__table__)
CHUNK = 500  # values per IN (...) list, well below every backend's parameter limit
MAX_VARIABLES = 999  # per statement: SQLite before 3.32 allows 999 host parameters

# Advisory locks (pg_advisory_xact_lock(class, key)): one class per decision, taken in this order inside
# an intake transaction — for each class first its whole-class lock, then its keys in ascending order — so
# two intakes never wait for each other in a circle. No other transaction takes them.
EVENT_ID_LOCKS = 0x5C01  # an event's ``id`` (idempotency key of POST /events)
UNIQUE_KEY_LOCKS = 0x5C02  # a queue item's unique key ("Queue items must be unique")
_WHOLE_CLASS = 0x5C00  # (_WHOLE_CLASS, class): shared beside per-key locks, exclusive instead of them
MAX_KEY_LOCKS = 256  # per class and transaction; a bigger group locks the whole class (the server's lock
# table holds max_locks_per_transaction x max_connections entries, 6,400 by default, for everyone)
_LOCK_SQL = text("SELECT pg_advisory_xact_lock(:lock_class, k) FROM unnest(CAST(:keys AS integer[])) AS k")
_SHARED_CLASS_SQL = text("SELECT pg_advisory_xact_lock_shared(:whole, :lock_class)")
_WHOLE_CLASS_SQL = text("SELECT pg_advisory_xact_lock(:whole, :lock_class)")

_insert_plans: dict[str, tuple[str, Any, dict[str, Any], list[tuple[int, Any]]]] = {}
_postgresql_insert_plans: dict[str, tuple[str, list[str], dict[str, Any], list[Any]]] = {}
#: PostgreSQL: ``n`` new ids of a table's ``id`` sequence (rows are then inserted with their ids).
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    wanted = list(values)
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


#: Seconds between two tries for SQLite's write lock while another connection holds it.
WRITE_LOCK_POLL = (0.0002, 0.0005, 0.001, 0.002)


def begin_immediate(raw: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, tried again every fraction of a millisecond while another connection writes.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms between its tries: with the intake and the
    delivery of ``serve --workers N`` in two processes taking turns at the write lock, those sleeps overshoot
    the other's commit (measured: the intake process waited ~16 ms per wait, a quarter of its time; ~6 ms
    with the short tries). Here the wait ends within WRITE_LOCK_POLL of the other's commit; after the busy
    timeout it fails as before."""
    raw.execute("PRAGMA busy_timeout=0")
    try:
        tries = 0
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                if time.monotonic() >= deadline:
                    raise
            time.sleep(WRITE_LOCK_POLL[min(tries, len(WRITE_LOCK_POLL) - 1)])
            tries += 1
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class IntakeSql:
    """The statements of one intake transaction on ``session``'s connection."""

    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.raw: Any = self.conn.connection.dbapi_connection if self.sqlite else None

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.raw.cursor()
        try:
            return cursor.execute(sql, tuple(params)).fetchall()
        finally:
            cursor.close()

    def begin_write(self) -> None:
        """On SQLite (WAL) a deferred transaction that reads first and writes later fails with SQLITE_BUSY
        when another connection committed in between; BEGIN IMMEDIATE takes the write lock up front and
        waits busy_timeout for it."""
        if self.sqlite and not self.raw.in_transaction:
            begin_immediate(self.raw)

    def lock_keys(self, lock_class: int, keys: Iterable[str]) -> None:
        """PostgreSQL: wait until no other transaction decides about these keys, and keep them until this
        transaction ends (several engines on one database; SQLite has one writer at a time already).

        Without it two engines could both find an event id not yet stored (the unique index then fails one
        whole transaction), or both find no waiting item for a unique key and each queue one. After the
        lock, the next statement's snapshot (READ COMMITTED) sees what the previous holder committed — a
        lock is released only after its transaction's commit is visible.

        Keys are hashed to 32 bits (two keys that share a hash only wait for each other, never decide
        wrongly). Up to MAX_KEY_LOCKS keys: the class's whole-class lock shared, then one lock per key;
        more keys (a big group under load): the whole-class lock alone, exclusive — such a group then waits
        for, and holds up, every other intake's decisions of that class, but never fills the lock table.
        """
        if self.sqlite or self.conn.dialect.name != "postgresql":
            return
        hashed = sorted({zlib.crc32(key.encode()) - 0x80000000 for key in keys})  # signed 32-bit
        if not hashed:
            return
        whole = {"whole": _WHOLE_CLASS, "lock_class": lock_class}
        if len(hashed) > MAX_KEY_LOCKS:
            self.conn.execute(_WHOLE_CLASS_SQL, whole).all()
            return
        self.conn.execute(_SHARED_CLASS_SQL, whole).all()
        self.conn.execute(_LOCK_SQL, {"lock_class": lock_class, "keys": hashed}).all()

    def existing_external_ids(self, ids: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(ids):
            if self.sqlite:
                rows = self._rows(
                    f"SELECT external_id, id FROM events WHERE external_id IN ({_marks(len(chunk))})", chunk
                )
            else:
                rows = self.conn.execute(
                    select(EVENTS.c.external_id, EVENTS.c.id).where(EVENTS.c.external_id.in_(chunk))
                ).all()  # type: ignore[assignment]
            found.update((ext, event_id) for ext, event_id in rows)
        return found

    def waiting_items(self, keys: set[str]) -> tuple[dict[str, int], dict[str, list[int]]]:
        """Per unique key: the oldest item still waiting that takes a newer payload in place (GROUPING_STATUSES),
        and the waiting items a newer item supersedes (SUPERSEDABLE_STATUSES) — domain/superseding.py."""
        grouping: dict[str, int] = {}
        supersedable: dict[str, list[int]] = {}
        for chunk in _chunks(keys):
            if self.sqlite:
                rows = self._rows(
                    f"SELECT unique_key, id, status FROM queue_items WHERE unique_key IN ({_marks(len(chunk))}) "
                    f"AND status IN ({_marks(len(WAITING_STATUSES))}) ORDER BY id",
                    [*chunk, *WAITING_STATUSES],
                )
            else:
                rows = self.conn.execute(  # type: ignore[assignment]
                    select(ITEMS.c.unique_key, ITEMS.c.id, ITEMS.c.status)
                    .where(ITEMS.c.unique_key.in_(chunk), ITEMS.c.status.in_(WAITING_STATUSES))
                    .order_by(ITEMS.c.id)
                ).all()
            for key, item_id, status in rows:
                if status in GROUPING_STATUSES:
                    grouping.setdefault(key, item_id)
                elif status in SUPERSEDABLE_STATUSES:
                    supersedable.setdefault(key, []).append(item_id)
        return grouping, supersedable

    def supersede(self, pairs: list[tuple[int, int]], now: datetime) -> int:
        """Cancel each older item of ``(older id, newer id)`` that still waits in SUPERSEDABLE_STATUSES, with
        "superseded by #N" as its message (the condition is in the UPDATE: an item a delivery engine took
        meanwhile is left alone, and cancelled when its attempt is recorded — store/claim.py)."""
        if not pairs:
            return 0
        params = [
            {"p_id": older, "p_message": superseding.superseded_message(newer), "p_now": now}
            for older, newer in pairs
        ]
        result = self.conn.execute(
            update(ITEMS)
            .where(ITEMS.c.id == bindparam("p_id"), ITEMS.c.status.in_(SUPERSEDABLE_STATUSES))
            .values(
                status=queue_rules.ItemStatus.CANCELLED.value,
                finished_at=bindparam("p_now", type_=ITEMS.c.finished_at.type),
                next_attempt_at=None,
                response_message=bindparam("p_message"),
            ),
            params,
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def ensure_shops(self, shop_ids: set[int], now: datetime) -> None:
        """Shops are learned from events: the first event of shop 3 creates "Shop 3"."""
        if not shop_ids:
            return
        ids = sorted(shop_ids)
        if self.sqlite:
            existing = {
                r[0] for r in self._rows(f"SELECT id FROM shops WHERE id IN ({_marks(len(ids))})", ids)
            }
        else:
            existing = set(self.conn.scalars(select(SHOPS.c.id).where(SHOPS.c.id.in_(ids))))
        missing = [{"id": s, "name": f"Shop {s}", "created_at": now} for s in ids if s not in existing]
        if not missing:
            return
        if self.conn.dialect.name == "postgresql":  # another engine may learn the same shop right now
            self.conn.execute(postgresql_insert(SHOPS).on_conflict_do_nothing(index_elements=["id"]), missing)
        else:
            self.insert(SHOPS, missing, with_ids=True)

    def enabled_trigger_rows(
        self, names: set[str]
    ) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
        """Enabled triggers of these events (every scope) and their actions in order, as plain dicts."""
        trigger_cols = [c.name for c in TRIGGERS.columns]
        action_cols = [c.name for c in ACTIONS.columns]
        wanted = sorted(names)
        if self.sqlite:
            trigger_rows = self._rows(
                f"SELECT {', '.join(trigger_cols)} FROM triggers WHERE enabled = 1 "
                f"AND event IN ({_marks(len(wanted))}) ORDER BY id",
                wanted,
            )
        else:
            trigger_rows = self.conn.execute(  # type: ignore[assignment]
                select(TRIGGERS)
                .where(TRIGGERS.c.event.in_(wanted), TRIGGERS.c.enabled.is_(True))
                .order_by(TRIGGERS.c.id)
            ).all()
        triggers = [dict(zip(trigger_cols, row, strict=True)) for row in trigger_rows]
        actions: dict[int, list[dict[str, Any]]] = {t["id"]: [] for t in triggers}
        if not triggers:
            return triggers, actions
        ids = list(actions)
        if self.sqlite:
            action_rows = self._rows(
                f"SELECT {', '.join(action_cols)} FROM webhook_actions WHERE trigger_id IN ({_marks(len(ids))}) "
                "ORDER BY trigger_id, position, id",
                ids,
            )
        else:
            action_rows = self.conn.execute(  # type: ignore[assignment]
                select(ACTIONS)
                .where(ACTIONS.c.trigger_id.in_(ids))
                .order_by(ACTIONS.c.trigger_id, ACTIONS.c.position, ACTIONS.c.id)
            ).all()
        for row in action_rows:
            action = dict(zip(action_cols, row, strict=True))
            actions[action["trigger_id"]].append(action)
        return triggers, actions

    def update_waiting_item(self, item_id: int, values: dict[str, Any], skipped: int) -> bool:
        """The uniqueness rule: a still-waiting item takes the newest payload and counts skipped events."""
        if self.sqlite:
            cursor = self.raw.cursor()
            try:
                cursor.execute(
                    "UPDATE queue_items SET event_id = ?, entity_code = ?, headers_json = ?, body = ?, "
                    f"skipped_count = skipped_count + ? WHERE id = ? AND status IN ({_marks(len(GROUPING_STATUSES))})",
                    (
                        values["event_id"],
                        values["entity_code"],
                        values["headers_json"],
                        values["body"],
                        skipped,
                        item_id,
                        *GROUPING_STATUSES,
                    ),
                )
                return cursor.rowcount > 0
            finally:
                cursor.close()
        result = self.conn.execute(
            update(ITEMS)
            .where(ITEMS.c.id == item_id, ITEMS.c.status.in_(GROUPING_STATUSES))
            .values(
                event_id=values["event_id"],
                entity_code=values["entity_code"],
                headers_json=values["headers_json"],
                body=values["body"],
                skipped_count=ITEMS.c.skipped_count + skipped,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def reserve_event_ids(self, n: int) -> list[int]:
        """``n`` event ids for rows inserted later with ``with_ids`` (payload templates render before the
        write transaction and may print the event's id). PostgreSQL: from the id sequence, never handed out
        twice. SQLite: the next ones after the newest event; a writer that takes them first makes the
        insert fail, and the intake retries the group (plans and renders again)."""
        if n <= 0:
            return []
        if self.sqlite:
            first = int(self._rows("SELECT coalesce(max(id), 0) FROM events")[0][0]) + 1
            return list(range(first, first + n))
        rows = self.conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, :n)"),
            {"n": n},
        ).all()
        return [int(r[0]) for r in rows]

    def insert(self, table: Any, rows: list[dict[str, Any]], *, with_ids: bool = False) -> list[int]:
        """Insert rows (all columns given, or their scalar defaults); returns the ids in row order."""
        if not rows:
            return []
        if self.conn.dialect.name == "postgresql":
            if with_ids:
                ids = [r["id"] for r in rows]
            else:
                ids = sorted(self.conn.scalars(_NEXT_IDS, {"table": table.name, "n": len(rows)}))
                for row, new_id in zip(rows, ids, strict=True):
                    row["id"] = new_id
            self._postgresql_insert_rows(table, rows)
            return ids
        if not self.sqlite:
            if with_ids:
                self.conn.execute(insert(table), rows)
                return [r["id"] for r in rows]
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return [r[0] for r in self.conn.execute(stmt, rows)]
        if with_ids:
            ids = [r["id"] for r in rows]
        else:
            first = int(self._rows(f"SELECT coalesce(max(id), 0) FROM {table.name}")[0][0]) + 1
            ids = list(range(first, first + len(rows)))
            for row, new_id in zip(rows, ids, strict=True):
                row["id"] = new_id
        self._insert_rows(table, rows)
        return ids

    def _postgresql_insert_rows(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """One ``INSERT … SELECT FROM unnest(…)`` with one array per column, sent in psycopg's binary format
        on the session's own cursor (%b). The statement never changes, so psycopg parses it once; binary arrays
        need no escaping of each JSON text. (An executemany through SQLAlchemy wrote a multi-row VALUES
        list, new text for every group size, which psycopg parsed again every time.)"""
        plan = _postgresql_insert_plans.get(table.name)
        if plan is None:
            dialect = self.conn.dialect
            names = [column.name for column in table.columns]
            arrays = ", ".join(f"%b::{column.type.compile(dialect=dialect)}[]" for column in table.columns)
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
            defaults = {  # scalar defaults as values, callable ones (utcnow) as functions of no context
                column.name: column.default.arg if column.default is not None else None
                for column in table.columns
                if column.default is None or column.default.is_scalar or column.default.is_callable
            }
            processors = [column.type._cached_bind_processor(dialect) for column in table.columns]  # noqa: SLF001
            plan = _postgresql_insert_plans[table.name] = (sql, names, defaults, processors)
        sql, names, defaults, processors = plan
        params: list[list[Any]] = []
        for name, processor in zip(names, processors, strict=True):
            default = defaults.get(name)
            if callable(default) and any(name not in row for row in rows):
                default = default(None)
            values = [row.get(name, default) for row in rows]
            if processor is not None:
                values = [processor(value) if value is not None else None for value in values]
            params.append(values)
        with self.conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(sql, params)

    def _insert_rows(self, table: Any, rows: list[dict[str, Any]]) -> None:
        plan = _insert_plans.get(table.name)
        if plan is None:
            names, defaults, processed = [], {}, []
            for index, column in enumerate(table.columns):
                names.append(column.name)
                scalar = column.default is not None and column.default.is_scalar
                defaults[column.name] = column.default.arg if scalar else None
                processor = column.type._cached_bind_processor(self.conn.dialect)  # noqa: SLF001
                if processor is not None:
                    processed.append((index, processor))
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
            getter = itemgetter(*names) if len(names) > 1 else (lambda row, _n=names[0]: (row[_n],))
            plan = _insert_plans[table.name] = (sql, getter, defaults, processed)
        sql, getter, defaults, processed = plan
        width = len(defaults)
        memo: dict[Any, Any] = {}  # the same "now" appears in every row
        params: list[Any] = []
        for row in rows:
            values = list(getter(row if len(row) == width else {**defaults, **row}))
            for index, processor in processed:
                value = values[index]
                if value is not None:
                    done = memo.get(value)
                    if done is None:
                        done = memo[value] = processor(value)
                    values[index] = done
            params.extend(values)
        # Multi-row INSERTs rather than executemany: one statement step per chunk instead of one per row,
        # so the worker thread releases and re-takes the GIL a few times per group, not twice per event
        # (each re-take can wait for the event loop thread).
        per_statement = max(1, MAX_VARIABLES // width)
        row_marks = f"({_marks(width)})"
        cursor = self.raw.cursor()
        try:
            for start in range(0, len(rows), per_statement):
                count = min(per_statement, len(rows) - start)
                cursor.execute(
                    sql + ", ".join([row_marks] * count), params[start * width : (start + count) * width]
                )
        finally:
            cursor.close()
