"""The delivery engine against real HTTP servers on 127.0.0.1: headers, auth, signatures, outcomes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from shopctrl_desktop import __version__
from shopctrl_desktop.domain.model import Priority, SignatureScheme
from shopctrl_desktop.domain.signing import generate_secret
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow, utcnow
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import add_items, item_row, make_action
from tests.helpers.receivers import Receiver, hang, reset_mid_response, sequence, status


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


def attempts_of(db, item_id: int) -> list[DeliveryAttemptRow]:
    with db.session() as s:
        rows = list(
            s.scalars(
                select(DeliveryAttemptRow)
                .where(DeliveryAttemptRow.item_id == item_id)
                .order_by(DeliveryAttemptRow.number)
            )
        )
        for r in rows:
            s.expunge(r)
        return rows


def alert_count(db) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AlertRow)) or 0)


async def test_plain_http_delivery_with_all_headers(db, box, receiver):
    action = make_action(db, box, receiver.url(), headers={"X-Tenant": "shop-3"})
    body = json.dumps(
        {"Trigger": "OrderChanged", "entityData": {"OrderId": 1001, "Name": "Jürgen"}}, ensure_ascii=False
    )
    (item_id,) = add_items(
        db,
        action,
        body=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-ShopCtrl-Trigger": "OrderChanged",
            "X-Tenant": "shop-3",
        },
    )
    async with running_engine(db, box) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "delivered"}
    (req,) = receiver.requests
    assert req.method == "POST"
    assert req.body == body.encode("utf-8")
    assert req.header("Content-Type") == "application/json; charset=utf-8"
    assert req.header("User-Agent") == f"ShopCtrl-Desktop/{__version__}"
    assert req.header("X-ShopCtrl-Trigger") == "OrderChanged"
    assert req.header("X-ShopCtrl-Delivery") == str(item_id)
    assert req.header("X-ShopCtrl-Attempt") == "1"
    assert req.header("X-Tenant") == "shop-3"
    assert req.header("Authorization") is None and req.header("X-SIGNATURE") is None
    row = item_row(db, item_id)
    assert (row.status, row.attempts, row.response_status) == ("delivered", 1, 200)
    assert row.finished_at is not None and row.lease_owner is None
    (attempt,) = attempts_of(db, item_id)
    assert attempt.status_code == 200 and attempt.response_body == "ok" and attempt.error is None
    assert "Content-Type" in json.loads(attempt.response_headers_json)


@pytest.mark.parametrize("scheme", list(SignatureScheme))
async def test_signatures_verify_with_independent_code(db, box, receiver, scheme):
    secret = generate_secret(scheme)
    action = make_action(db, box, receiver.url(), hmac_secret=secret, signature_scheme=scheme)
    (item_id,) = add_items(db, action, body='{"a": "ü €"}')
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_final([item_id])
    (req,) = receiver.requests
    if scheme is SignatureScheme.SHOPCTRL:
        assert req.header("X-SIGNATURE") == hmac.new(secret.encode(), req.body, hashlib.sha512).hexdigest()
    elif scheme is SignatureScheme.GITHUB:
        expected = "sha256=" + hmac.new(secret.encode(), req.body, hashlib.sha256).hexdigest()
        assert req.header("X-Hub-Signature-256") == expected
    else:
        assert req.header("webhook-id") == str(item_id)
        Webhook(secret).verify(req.body, req.headers)
    assert req.body == '{"a": "ü €"}'.encode()


async def test_basic_auth_right_and_wrong(db, box, receiver):
    def check(req, _n):
        expected = "Basic " + base64.b64encode(b"erp:p\xc3\xa4ss").decode()
        from aiohttp import web

        return web.Response(status=200 if req.header("Authorization") == expected else 401, text="who?")

    receiver.responder = check
    good = make_action(db, box, receiver.url(), username="erp", password="päss")
    bad = make_action(db, box, receiver.url(), username="erp", password="wrong")
    settings = fast_settings(
        retry=fast_settings().retry.__class__(kind="custom", delays=(0.01,), max_retries=0)
    )
    (ok_id,) = add_items(db, good)
    (bad_id,) = add_items(db, bad)
    async with running_engine(db, box, settings) as (_engine, observer):
        assert await observer.wait_final([ok_id, bad_id]) == {ok_id: "delivered", bad_id: "failed"}
    assert item_row(db, bad_id).response_message.startswith("HTTP 401 Unauthorized: who?")


async def test_500_then_200_keeps_the_delivery_id(db, box, receiver):
    receiver.responder = sequence(500, 200)
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "delivered"}
    first, second = receiver.requests
    assert first.header("X-ShopCtrl-Delivery") == second.header("X-ShopCtrl-Delivery") == str(item_id)
    assert (first.header("X-ShopCtrl-Attempt"), second.header("X-ShopCtrl-Attempt")) == ("1", "2")
    assert [a.status_code for a in attempts_of(db, item_id)] == [500, 200]
    assert alert_count(db) == 0


async def test_always_500_gives_up_after_eleven_attempts_with_one_alert(db, box, receiver):
    receiver.responder = status(500, "database down")
    action = make_action(db, box, receiver.url(), title="ERP order sync")
    (item_id,) = add_items(db, action)
    # the retry policy alone: the circuit breaker, which would open after 5 (test_endpoint_breaker_engine.py),
    # is kept out of the way
    async with running_engine(db, box, fast_settings(circuit_failures=1000)) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "failed"}
        await observer.wait_until(lambda: len(observer.alerts) >= 1)
    assert len(receiver.requests) == 11
    row = item_row(db, item_id)
    assert row.attempts == 11 and row.status == "failed" and row.next_attempt_at is None
    assert [a.number for a in attempts_of(db, item_id)] == list(range(1, 12))
    assert alert_count(db) == 1
    with db.session() as s:
        alert = s.scalars(select(AlertRow)).one()
        assert alert.severity == "error" and alert.item_id == item_id
        assert "ERP order sync" in alert.title + alert.message
        assert (
            receiver.url() in alert.message
            and "HTTP 500" in alert.message
            and "database down" in alert.message
        )


async def test_410_stops_at_once_and_alerts(db, box, receiver):
    receiver.responder = status(410, "gone for good")
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "failed"}
        await observer.wait_until(lambda: len(observer.alerts) == 1)
    assert len(receiver.requests) == 1
    assert alert_count(db) == 1
    assert "410" in item_row(db, item_id).response_message


async def test_429_with_retry_after_waits_at_least_that_long(db, box, receiver):
    receiver.responder = status(429, "slow down", {"Retry-After": "120"})
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    row = item_row(db, item_id)
    wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
    assert 119 <= wait <= 125
    assert len(receiver.requests) == 1


async def test_retry_after_is_capped_at_one_hour(db, box, receiver):
    receiver.responder = status(503, "maintenance", {"Retry-After": "999999"})
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    row = item_row(db, item_id)
    assert 3590 <= (row.next_attempt_at - row.last_attempt_at).total_seconds() <= 3605


async def test_redirect_is_not_followed_and_names_the_location(db, box, receiver):
    receiver.responder = status(301, "", {"Location": "https://new.example/hook"})
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    assert len(receiver.requests) == 1
    message = item_row(db, item_id).response_message
    assert "301" in message and "https://new.example/hook" in message and "not followed" in message


async def test_slow_endpoint_times_out_in_words(db, box, receiver):
    receiver.responder = hang(receiver)
    action = make_action(db, box, receiver.url(), timeout_seconds=0.3)
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
        receiver.release.set()
    (attempt, *_) = attempts_of(db, item_id)
    assert attempt.error == "timed out after 0.3 s" and attempt.status_code is None


async def test_connection_reset_mid_response(db, box, receiver):
    receiver.responder = reset_mid_response()
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    (attempt, *_) = attempts_of(db, item_id)
    assert attempt.error == "connection reset by the server"


async def test_connection_refused_in_words(db, box, receiver):
    port = receiver.port
    await receiver.stop()
    action = make_action(db, box, f"http://127.0.0.1:{port}/hook")
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    (attempt, *_) = attempts_of(db, item_id)
    assert attempt.error == f"connection refused by 127.0.0.1:{port}"


async def test_dns_failure_in_words(db, box):
    action = make_action(db, box, "http://no-such-host.invalid/hook")
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying", timeout=30)
    (attempt, *_) = attempts_of(db, item_id)
    assert attempt.error == "DNS lookup failed for no-such-host.invalid"


async def test_priority_order_under_a_backlog(db, box, receiver):
    action = make_action(db, box, receiver.url())
    low = add_items(db, action, 3, priority=Priority.LOW)
    high = add_items(db, action, 3, priority=Priority.HIGHEST)
    normal = add_items(db, action, 3, priority=Priority.NORMAL)
    async with running_engine(db, box, fast_settings(concurrency=1)) as (_engine, observer):
        await observer.wait_final(low + high + normal)
    order = [int(r.header("X-ShopCtrl-Delivery")) for r in receiver.requests]
    assert order == high + normal + low


async def test_a_highest_item_queued_behind_a_claimed_ahead_backlog_is_sent_next(db, box, receiver):
    """The issue's case over real HTTP, SHOPCTRL_CONCURRENCY=1: one slow item in flight, then three lowest
    queued (claimed ahead), then one highest — the highest is the next request the receiver gets."""
    from aiohttp import web

    async def first_slow(_req, n):
        if n == 0:
            await receiver.release.wait()
        return web.Response(text="ok")

    receiver.responder = first_slow
    action = make_action(db, box, receiver.url())
    (slow,) = add_items(db, action)
    async with running_engine(db, box, fast_settings(concurrency=1)) as (engine, observer):
        await receiver.wait_for(1)
        lowest = add_items(db, action, 3, priority=Priority.LOWEST)
        engine.wake()
        await observer.wait_until(lambda: all(observer.status.get(i) == "sending" for i in lowest))
        (highest,) = add_items(db, action, priority=Priority.HIGHEST)
        engine.wake()
        receiver.release.set()
        await observer.wait_final([slow, *lowest, highest])
    order = [int(r.header("X-ShopCtrl-Delivery")) for r in receiver.requests]
    assert order == [slow, highest, *lowest]


async def test_a_hanging_host_does_not_stop_a_healthy_one(db, box, receiver):
    stuck = await Receiver().start()
    stuck.responder = hang(stuck)
    try:
        slow = make_action(db, box, stuck.url(), timeout_seconds=60)
        healthy = make_action(db, box, receiver.url())
        # the hanging host's items come first in priority order and outnumber every limit
        add_items(db, slow, 30, priority=Priority.HIGHEST)
        fine = add_items(db, healthy, 20)
        settings = fast_settings(concurrency=4, per_host_concurrency=2)
        async with running_engine(db, box, settings) as (_engine, observer):
            assert set((await observer.wait_final(fine)).values()) == {"delivered"}
            assert len(stuck.requests) == 2  # never more than the per-host limit at once
    finally:
        await stuck.stop()


async def test_stop_gives_unsent_items_back(db, box, receiver):
    receiver.responder = hang(receiver)
    action = make_action(db, box, receiver.url(), timeout_seconds=60)
    ids = add_items(db, action, 6)
    async with running_engine(db, box, fast_settings(concurrency=2, per_host_concurrency=2)) as (
        engine,
        _obs,
    ):
        await receiver.wait_for(2)
        await engine.stop(drain_timeout=0.1)
    rows = [item_row(db, i) for i in ids]
    assert {r.status for r in rows} == {"queued"}
    assert all(r.lease_owner is None for r in rows)


async def test_deleted_action_fails_with_an_alert(db, box, receiver):
    from shopctrl_desktop.store.models import WebhookActionRow
    from shopctrl_desktop.store.triggers import delete_trigger

    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    with db.session() as s:
        delete_trigger(s, s.get(WebhookActionRow, action.id).trigger_id)
    async with running_engine(db, box) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "failed"}
    assert receiver.requests == []
    assert "no longer exists" in item_row(db, item_id).response_message
    assert alert_count(db) == 1


async def test_attempt_log_keeps_the_first_64_kib_of_the_body(db, box, receiver):
    from aiohttp import web

    receiver.responder = lambda _req, _n: web.Response(status=500, text="é" + "x" * 200_000)
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    (attempt, *_) = attempts_of(db, item_id)
    assert attempt.status_code == 500
    assert len(attempt.response_body.encode("utf-8")) <= 64 * 1024
    assert attempt.response_body.startswith("éxxx") and len(attempt.response_body) >= 64 * 1024 - 2


async def test_heartbeats_keep_the_leases_of_waiting_items(db, box, receiver):
    """Items claimed ahead wait behind a slow host longer than their lease; the heartbeat keeps them ours."""
    receiver.responder = hang(receiver)
    action = make_action(db, box, receiver.url(), timeout_seconds=1.0)
    ids = add_items(db, action, 4)
    settings = fast_settings(concurrency=1, per_host_concurrency=1)
    async with running_engine(db, box, settings, lease_margin=0.3) as (engine, _observer):
        await receiver.wait_for(3, timeout=10)  # ~2 s in: the 4th item was claimed at 0 s with a 1.3 s lease
        row = item_row(db, ids[3])
        assert row.status == "sending" and row.lease_owner == engine.owner
        assert row.lease_expires_at > utcnow()
        receiver.release.set()


async def test_a_busy_engine_still_recovers_leases_that_run_out(db, box, receiver):
    """Items left in 'sending' by a killed engine come back while this one is busy, not after its backlog."""
    import asyncio

    from aiohttp import web

    from shopctrl_desktop.store import claim as claims

    async def slow_ok(_req, _n):
        await asyncio.sleep(0.02)  # simulated receiver latency keeps the engine busy for a few seconds
        return web.Response(text="ok")

    receiver.responder = slow_ok
    action = make_action(db, box, receiver.url())
    stranded = add_items(db, action, 2)
    with db.session() as s:  # a "dead" engine holds them with a lease that runs out in 1 s
        claims.claim_due(s, "dead-engine", 2, utcnow(), 1.0)
    backlog = add_items(db, action, 200)
    settings = fast_settings(concurrency=2, per_host_concurrency=2)
    async with running_engine(db, box, settings, poll_interval=0.3) as (_engine, observer):
        await observer.wait_final(stranded + backlog, timeout=60)
    order = [int(r.header("X-ShopCtrl-Delivery")) for r in receiver.requests]
    assert set(stranded) <= set(order)
    assert max(order.index(i) for i in stranded) < order.index(backlog[-1])


async def test_one_host_backlog_keeps_flowing_without_waiting_for_the_poll(db, box, receiver):
    """Default limits (per host 4): a claim cut short by the per-host cap must not park the engine
    until the next poll — the backlog of a single endpoint flows as fast as the endpoint answers."""
    action = make_action(db, box, receiver.url())
    ids = add_items(db, action, 120)
    settings = fast_settings(concurrency=16, per_host_concurrency=4)
    # a poll interval far beyond the wait below: only the engine's own wake-ups can move the backlog
    async with running_engine(db, box, settings, poll_interval=600.0) as (_engine, observer):
        assert set((await observer.wait_final(ids, timeout=20.0)).values()) == {"delivered"}
