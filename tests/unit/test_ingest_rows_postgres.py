"""Intake writes the same rows on PostgreSQL as on SQLite: the PostgreSQL path inserts events and queue items
as one ``INSERT … SELECT FROM unnest(…)`` of binary arrays with ids taken from the sequence
(store/ingest_sql.py), the SQLite one as multi-row VALUES lists; every stored value must come out equal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.store.ingest import enqueue_batches
from shopctrl_desktop.store.models import EventRow, QueueItemRow
from shopctrl_desktop.store.triggers import save_trigger
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_queue_store import order_event


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-rows-") as cluster:
        yield cluster


def _columns(row: object, skip: tuple[str, ...]) -> dict[str, object]:
    table = type(row).__table__  # type: ignore[attr-defined]
    return {
        c.name: getattr(row, c.key if hasattr(c, "key") else c.name)
        for c in table.columns
        if c.name not in skip
    }


def _store(db, box) -> tuple[list[EventRow], list[QueueItemRow]]:
    with db.session() as s:
        for title, unique in (("ERP", True), ("Log", False)):
            action = WebhookAction(url=f"https://{title.lower()}.example/hook", unique_queue_items=unique)
            save_trigger(s, box, Trigger(title=title, event="OrderChanged", actions=(action,)))
    tricky = replace(
        order_event(3, ext="evt-3"),
        data={"Order": {"Id": 3, "Note": 'quote " backslash \\ {braces} ,comma Grüße 😀', "Empty": None}},
        entity_code=None,
    )
    groups = [
        [order_event(1), order_event(2, ext="evt-2", shop=None)],  # a column of only NULLs: shop/external id
        [tricky, order_event(1)],  # a repeat of a unique key: the waiting item is updated, not duplicated
    ]
    with db.session() as s:
        enqueue_batches(s, box, [groups[0]])
    with db.session() as s:
        enqueue_batches(s, box, groups[1:])
    with db.session() as s:
        events = list(s.scalars(select(EventRow).order_by(EventRow.id)))
        items = list(s.scalars(select(QueueItemRow).order_by(QueueItemRow.id)))
        s.expunge_all()
    return events, items


def test_events_and_items_are_stored_alike_on_both_databases(postgres, db, box):
    pg = postgres.new_database()
    try:
        pg_events, pg_items = _store(pg, box)
    finally:
        pg.dispose()
    sqlite_events, sqlite_items = _store(db, box)
    assert len(pg_events) == len(sqlite_events) == 4 and len(pg_items) == len(sqlite_items) >= 6
    times = ("received_at", "created_at", "next_attempt_at")
    for a, b in zip(pg_events, sqlite_events, strict=True):
        assert _columns(a, times) == _columns(b, times)
        assert a.received_at.tzinfo is not None
    for a, b in zip(pg_items, sqlite_items, strict=True):
        assert _columns(a, times) == _columns(b, times)
    assert [e.id for e in pg_events] == sorted({e.id for e in pg_events})  # ids from the sequence, in order
    assert any(e.shop_id is None for e in pg_events) and any(e.external_id is None for e in pg_events)
    note = 'quote " backslash \\ {braces} ,comma Grüße 😀'
    assert json.loads(pg_events[2].data_json)["Order"]["Note"] == note
