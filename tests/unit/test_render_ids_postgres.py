"""Templates render before the intake's transaction (issue 15): on PostgreSQL the group's event ids come
from the id sequence beforehand, so a template that prints ``EventId`` carries the id the event is stored
under, also with another writer taking ids in between."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.domain.payload import render_body
from shopctrl_desktop.store.ingest import enqueue_batches, enqueue_events, prepare_batches
from shopctrl_desktop.store.models import QueueItemRow
from shopctrl_desktop.store.triggers import save_trigger
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_queue_store import order_event


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-render-ids-") as cluster:
        yield cluster


def test_reserved_ids_are_the_stored_ids_on_postgresql(postgres: PostgresCluster, box) -> None:
    pg = postgres.new_database()
    try:
        with pg.session() as s:
            body = '{"event": {{ EventId }}, "order": "$$Order.OrderCode$$"}'
            action = WebhookAction(url="https://erp.example/hook", payload_body=body)
            save_trigger(s, box, Trigger(title="ERP", event="OrderChanged", actions=(action,)))
        batches = [[order_event(1, ext="r-1"), order_event(2, ext="r-2")]]
        with pg.session() as s:
            prepared = prepare_batches(s, batches)
            assert prepared.event_ids is not None and len(prepared.templated) == 2
        # another writer stores an event meanwhile: it gets an id of its own, not one of the reserved
        with pg.session() as s:
            other = enqueue_events(s, box, [order_event(3, ext="other")])
        assert other.event_ids[0] not in prepared.event_ids
        # the renders happen here, outside every transaction (the engine uses its render pool)
        prepared.fill([(render_body(p.trigger, p.action, p.event), None) for p in prepared.templated])
        with pg.session() as s:
            result = enqueue_batches(s, box, batches, prepared)[0]
        assert result.event_ids == prepared.event_ids and result.queued == 2
        with pg.session() as s:
            bodies = {i.event_id: i.body for i in s.scalars(select(QueueItemRow))}
        for event_id, code in zip(result.event_ids, ("ORD-1", "ORD-2"), strict=True):
            assert bodies[event_id] == f'{{"event": {event_id}, "order": "{code}"}}'
    finally:
        pg.dispose()
