"""The circuit breaker and pause/resume through the real engine, real SQLite and real HTTP servers on
127.0.0.1. Time jumps with an injected clock (no waiting 30 s); tests wait on what the engine reports."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from shopctrl_desktop.domain.breaker import endpoint_key
from shopctrl_desktop.store import endpoints
from shopctrl_desktop.store.models import AlertRow, AuditEntryRow, EndpointRow, QueueItemRow, utcnow
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.receivers import Receiver


async def until(predicate, timeout: float = 10.0) -> None:
    """Wait for a condition nothing reports (checked every 20 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


class Clock:
    """Real time plus jumps: ``advance(31)`` is "31 seconds later" for the engine."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self):
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Switchable:
    """Answers ``status`` (503 until told otherwise)."""

    def __init__(self, status: int = 503) -> None:
        self.status = status

    def __call__(self, _req, _n):
        return web.Response(status=self.status, text="down for maintenance" if self.status >= 500 else "ok")


@pytest.fixture
async def failing():
    answer = Switchable(503)
    r = await Receiver(responder=answer).start()
    r.answer = answer  # type: ignore[attr-defined]
    yield r
    await r.stop()


@pytest.fixture
async def healthy():
    r = await Receiver().start()
    yield r
    await r.stop()


def items(db, ids):
    with db.session() as s:
        rows = {r.id: (r.status, r.attempts, r.next_attempt_at) for r in s.scalars(select(QueueItemRow))}
    return {i: rows[i] for i in ids}


def alerts(db):
    with db.session() as s:
        return [(a.severity, a.title, a.message) for a in s.scalars(select(AlertRow).order_by(AlertRow.id))]


def endpoint_row(db, url):
    with db.session() as s:
        row = s.scalar(select(EndpointRow).where(EndpointRow.url == endpoint_key(url)))
        return endpoints.circuit_of(row)


SETTINGS = fast_settings(concurrency=2, per_host_concurrency=1)


async def test_a_failing_endpoint_opens_its_circuit_and_recovers(db, box, failing, healthy):
    clock = Clock()
    erp = make_action(db, box, failing.url("/api/orders"), title="Orders to ERP")
    shop = make_action(db, box, healthy.url(), title="Orders to shop")
    first = add_items(db, erp, 3)
    async with running_engine(db, box, SETTINGS, clock=clock) as (engine, observer):
        await observer.wait_until(lambda: any(sev == "warning" for _, sev, _ in observer.alerts))
        later = add_items(db, erp, 20)  # arrive while the circuit is open
        flowing = add_items(db, shop, 10)
        engine.wake()
        assert set((await observer.wait_final(flowing)).values()) == {"delivered"}
        flowing2 = add_items(db, shop, 5)  # a few more engine turns: still nothing goes to the ERP
        engine.wake()
        await observer.wait_final(flowing2)
        sent_while_open = len(failing.requests)
        circuit = endpoint_row(db, failing.url("/api/orders"))
        assert circuit.label == "circuit open" and circuit.wait_seconds == 30
        state = items(db, first + later)
        assert sum(attempts for _, attempts, _ in state.values()) == sent_while_open
        assert 5 <= sent_while_open <= 6  # the fifth failure opens it; at most one more was already in flight
        assert all(state[i][1] == 0 for i in later)  # items that arrived later spent nothing
        assert all(status in ("queued", "retrying") for status, _, _ in state.values())
        (warning,) = [a for a in alerts(db) if a[0] == "warning"]
        assert warning[1] == f"Endpoint failing: 127.0.0.1:{failing.port}/api/orders"
        assert "503 Service Unavailable" in warning[2] and "3 items waiting" in warning[2]  # when it opened
        assert 'trigger "Orders to ERP"' in warning[2]

        # 31 s later one probe goes; it fails: open again, the wait doubled, still one warning
        clock.advance(31)
        engine.wake()
        await failing.wait_for(sent_while_open + 1)
        await observer.wait_until(lambda: endpoint_row(db, failing.url("/api/orders")).wait_seconds == 60)
        assert len(failing.requests) == sent_while_open + 1

        # the ERP is back: 61 s later the probe succeeds, the circuit closes, everything waiting goes
        failing.answer.status = 200
        clock.advance(61)
        engine.wake()
        final = await observer.wait_final(first + later, timeout=20)
        assert set(final.values()) == {"delivered"}
    severities = [a[0] for a in alerts(db)]
    assert severities.count("warning") == 1 and severities.count("information") == 1
    assert "error" not in severities  # no item failed for good, no alert per item
    info = next(a for a in alerts(db) if a[0] == "information")
    assert info[1] == f"Endpoint recovered: 127.0.0.1:{failing.port}/api/orders"
    assert endpoint_row(db, failing.url("/api/orders")).label == "healthy"
    assert all(attempts == 1 for _, attempts, _ in items(db, later).values())


async def test_open_for_five_days_pauses_the_endpoint_with_one_error_and_keeps_its_items(db, box, failing):
    clock = Clock()
    erp = make_action(db, box, failing.url())
    ids = add_items(db, erp, 8)
    async with running_engine(db, box, SETTINGS, clock=clock) as (engine, observer):
        await observer.wait_until(lambda: any(sev == "warning" for _, sev, _ in observer.alerts))
        sent = len(failing.requests)
        clock.advance(5 * 86400 + 60)
        engine.wake()
        await observer.wait_until(lambda: any(sev == "error" for _, sev, _ in observer.alerts))
        assert len(failing.requests) == sent + 1  # the probe
        clock.advance(3600)
        engine.wake()
        more = add_items(db, erp, 2)
        engine.wake()
        await observer.wait_until(lambda: endpoint_row(db, failing.url()).paused)
    assert len(failing.requests) == sent + 1  # paused: no more probes
    (error,) = [a for a in alerts(db) if a[0] == "error"]
    assert error[1].startswith("Endpoint paused") and "8 items are kept" in error[2]
    state = items(db, ids + more)
    assert all(status in ("queued", "retrying") for status, _, _ in state.values())


async def test_a_paused_endpoint_gets_nothing_until_it_is_resumed(db, box, failing, healthy):
    failing.answer.status = 200
    erp = make_action(db, box, failing.url("/erp"))
    shop = make_action(db, box, healthy.url())
    with db.session() as s:
        key, waiting, changed = endpoints.pause_endpoint(s, failing.url("/erp?via=cli"))
    assert (key, waiting, changed) == (endpoint_key(failing.url("/erp")), 0, True)
    paused_items = add_items(db, erp, 6)
    async with running_engine(db, box, SETTINGS) as (engine, observer):
        shop_items = add_items(db, shop, 6)
        engine.wake()
        await observer.wait_final(shop_items)
        more = add_items(db, shop, 3)
        engine.wake()
        await observer.wait_final(more)
        assert failing.requests == []
        state = items(db, paused_items)
        assert all(s == ("queued", 0, None) for s in state.values())  # they wait, attempts kept
        with db.session() as s:
            key, released, changed = endpoints.resume_endpoint(s, str(failing.port) and failing.url("/erp"))
        assert released == 6 and changed
        engine.wake()
        assert set((await observer.wait_final(paused_items)).values()) == {"delivered"}
    assert len(failing.requests) == 6
    with db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))]
    assert actions[-2:] == ["endpoint.paused", "endpoint.resumed"]


async def test_pausing_while_the_engine_runs_stops_it_within_a_refresh(db, box, failing, healthy):
    """Paused by another process (the CLI): the engine learns it from the database within seconds; the
    items still waiting are held without an attempt."""
    failing.answer.status = 200
    erp = make_action(db, box, failing.url("/erp"))
    async with running_engine(db, box, SETTINGS, poll_interval=0.05) as (engine, observer):
        with db.session() as s:
            endpoints.pause_endpoint(s, failing.url("/erp"))
        # the engine's cached view of the endpoints is at most a couple of seconds old
        await until(lambda: endpoint_key(failing.url("/erp")) in engine._store.circuits.blocked)  # noqa: SLF001
        ids = add_items(db, erp, 4)
        engine.wake()
        shop = make_action(db, box, healthy.url())
        flowing = add_items(db, shop, 4)
        engine.wake()
        await observer.wait_final(flowing)
    assert failing.requests == []
    assert all(s[:2] == ("queued", 0) for s in items(db, ids).values())


async def test_an_item_that_is_the_probe_each_time_still_gives_up_after_its_retries(db, box, failing):
    """The probes are real attempts of a real item: a lone item to a dead endpoint still fails after 11
    attempts (its retries, paced by the probes), with its Error alert beside the one Warning."""
    clock = Clock()
    (item_id,) = add_items(db, make_action(db, box, failing.url()), 1)
    async with running_engine(db, box, SETTINGS, clock=clock) as (engine, observer):
        await observer.wait_until(lambda: any(sev == "warning" for _, sev, _ in observer.alerts))
        while observer.status.get(item_id) != "failed":
            sent = len(failing.requests)
            clock.advance(301)
            engine.wake()
            await failing.wait_for(sent + 1)
            await observer.wait_until(lambda: observer.status.get(item_id) in ("retrying", "failed"))
    assert items(db, [item_id])[item_id][:2] == ("failed", 11) and len(failing.requests) == 11
    assert [a[0] for a in alerts(db)] == ["warning", "error"]


async def test_an_action_url_edited_while_its_circuit_is_open_delivers_to_the_new_endpoint(db, box):
    """One host, two paths: /old is down, /new works. Items queued for /old wait for its probe; items
    queued after the URL was edited to /new go at once (another endpoint)."""

    def by_path(req, _n):
        return web.Response(status=503 if req.path.startswith("/old") else 200, text="x")

    server = await Receiver(responder=by_path).start()
    try:
        action = make_action(db, box, server.url("/old"))
        old = add_items(db, action, 4)
        async with running_engine(db, box, SETTINGS) as (engine, observer):
            await observer.wait_until(lambda: any(sev == "warning" for _, sev, _ in observer.alerts))
            new = add_items(db, action, 6, url=server.url("/new?v=2"))
            engine.wake()
            assert set((await observer.wait_final(new)).values()) == {"delivered"}
        assert all(status in ("queued", "retrying") for status, _, _ in items(db, old).values())
        assert endpoint_row(db, server.url("/old")).label == "circuit open"
        assert endpoint_row(db, server.url("/new")).label == "healthy"
    finally:
        await server.stop()


async def test_items_claimed_ahead_stop_at_the_fifth_failure_not_a_turn_later(db, box, failing):
    """Four requests at a time to one host, sixteen items claimed ahead: once this engine has seen five
    failures in a row, what it holds for that endpoint goes back unsent — only requests already under way
    still count an attempt."""
    settings = fast_settings(concurrency=8, per_host_concurrency=4)
    ids = add_items(db, make_action(db, box, failing.url()), 40)
    async with running_engine(db, box, settings) as (_engine, observer):
        await observer.wait_until(lambda: any(sev == "warning" for _, sev, _ in observer.alerts))
        await until(lambda: sum(a for _, a, _ in items(db, ids).values()) == len(failing.requests))
        await until(lambda: all(status != "sending" for status, _, _ in items(db, ids).values()))
    assert 5 <= len(failing.requests) <= 5 + settings.per_host_concurrency - 1
    assert sum(a for _, a, _ in items(db, ids).values()) == len(failing.requests)


def test_one_turn_raises_one_event_per_endpoint_from_where_it_was_to_where_it_is():
    """An item sent before the circuit opened may answer in the same turn as the failures that open it:
    opened and closed again in one turn raises nothing (and holds nothing)."""
    from shopctrl_desktop.domain.breaker import BreakerEvent, Circuit, CircuitState
    from shopctrl_desktop.store.circuits import _net_events

    closed, opened = Circuit(), Circuit(state=CircuitState.OPEN, consecutive_failures=5)
    item = object()
    both = [("k", BreakerEvent.OPENED, item), ("k", BreakerEvent.RECOVERED, item)]
    assert _net_events(both, {"k": closed}, {"k": closed}) == []
    assert _net_events(both[:1], {"k": closed}, {"k": opened}) == [("k", BreakerEvent.OPENED, item)]
    assert _net_events(both[1:], {"k": opened}, {"k": closed}) == [("k", BreakerEvent.RECOVERED, item)]
    assert _net_events(both[::-1], {"k": opened}, {"k": opened}) == []  # recovered, then opened again
