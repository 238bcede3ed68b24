"""The intake transaction and the queue repository on a real PostgreSQL (the shared multi-workstation
backend): the SQLAlchemy Core statement path with INSERT … RETURNING. Started for the test when the
server binaries are installed, skipped otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from shopctrl_desktop.domain.model import Priority, Trigger, WebhookAction
from shopctrl_desktop.store import queue
from shopctrl_desktop.store.triggers import save_trigger
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_queue_store import order_event


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-intake-") as cluster:
        yield cluster


@pytest.fixture
def pg(postgres: PostgresCluster):
    database = postgres.new_database()
    yield database
    database.dispose()


def _trigger(db, box, title, **action) -> None:
    with db.session() as s:
        save_trigger(s, box, Trigger(title=title, event="OrderChanged", actions=(WebhookAction(**action),)))


def test_intake_on_postgresql(pg, box) -> None:
    _trigger(pg, box, "ERP", url="https://erp.example/hook", unique_queue_items=True, priority=Priority.HIGH)
    _trigger(pg, box, "Log", url="https://log.example:8443/in")
    with pg.session() as s:
        first = queue.enqueue_events(
            s, box, [order_event(1, ext="a"), order_event(2, ext="b"), order_event(1)]
        )
    assert (first.accepted, first.duplicates, first.queued) == (3, 0, 5)
    with pg.session() as s:
        again = queue.enqueue_events(s, box, [order_event(1, ext="a"), order_event(2, ext="c")])
    assert (again.accepted, again.duplicates, again.queued) == (1, 1, 1)
    assert again.event_ids[0] == first.event_ids[0]
    with pg.session() as s:
        items = queue.list_items(s)
        counts = queue.queue_counts(s, finished=False)
    assert [(i.trigger_title, i.entity_id) for i in items][:2] == [("ERP", "1"), ("ERP", "2")]
    erp = {i.entity_id: i for i in items if i.trigger_title == "ERP"}
    assert erp["1"].skipped_count == 1 and erp["2"].skipped_count == 1
    assert json.loads(erp["2"].body)["entityData"]["OrderId"] == 2
    assert {i.host for i in items} == {"erp.example", "log.example:8443"}
    assert counts.queued == len(items) == 6
    with pg.session() as s:
        assert queue.cancel_item(s, erp["1"].id) and queue.retry_item(s, erp["1"].id)
        assert queue.resend_item(s, erp["2"].id) is not None
