"""The ingest listener over real sockets with a real SQLite file: every status code of SPEC 2.3."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from dataclasses import replace

import aiohttp
import pytest
from sqlalchemy import func, select

from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.engine.listener import ListenerError
from shopctrl_desktop.engine.service import Engine
from shopctrl_desktop.engine.token import rotate_token
from shopctrl_desktop.store import queue
from shopctrl_desktop.store.models import EventRow, QueueItemRow
from shopctrl_desktop.store.triggers import save_trigger

EVENT = {
    "id": "evt-1",
    "event": "OrderChanged",
    "shopId": 3,
    "occurredAt": "2026-11-28T10:00:00Z",
    "data": {"Order": {"Id": 1001, "OrderCode": "ORD-1001"}},
}


class Recorder:
    def __init__(self) -> None:
        self.changes: list = []
        self.states: list = []
        self.counts: list = []

    def items_changed(self, changes) -> None:
        self.changes.extend(changes)

    def alert_raised(self, alert_id, severity, title) -> None:
        pass

    def counts_changed(self, counts) -> None:
        self.counts.append(counts)

    def state_changed(self, component, state, detail) -> None:
        self.states.append((component, state, detail))


@pytest.fixture
def settings() -> Settings:
    return Settings(listen_host="127.0.0.1", listen_port=0)


@pytest.fixture
async def engine(db, box, app_paths, settings):
    with db.session() as s:
        save_trigger(
            s,
            box,
            Trigger(
                title="ERP", event="OrderChanged", actions=(WebhookAction(url="https://erp.example/hook"),)
            ),
        )
    recorder = Recorder()
    eng = Engine(db, box, settings, app_paths, recorder, deliver=False)
    await eng.start()
    eng.recorder = recorder
    yield eng
    await eng.stop()


@pytest.fixture
async def client(engine, app_paths):
    token = app_paths.token_file.read_text().strip()
    async with aiohttp.ClientSession(
        base_url=f"http://{engine.listener_address}", headers={"Authorization": f"Bearer {token}"}
    ) as session:
        yield session


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


async def post(client, body, **kw):
    data = body if isinstance(body, bytes | str) or hasattr(body, "__aiter__") else json.dumps(body)
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    async with client.post("/events", data=data, headers=headers, **kw) as resp:
        return resp.status, await resp.json()


async def test_single_event_is_committed_before_202(engine, client, db) -> None:
    status, body = await post(client, EVENT)
    assert status == 202
    assert body["accepted"] == 1 and body["duplicates"] == 0 and body["queued"] == 1
    assert len(body["eventIds"]) == 1
    assert count(db, EventRow) == 1 and count(db, QueueItemRow) == 1
    with db.session() as s:
        [item] = queue.list_items(s)
    assert item.entity_id == "1001" and json.loads(item.body)["entityData"] == {
        "OrderId": 1001,
        "OrderCode": "ORD-1001",
    }
    assert [c.item_id for c in engine.recorder.changes] == [item.id]
    assert ("listener", "running", engine.listener_address) in engine.recorder.states


async def test_display_name_case_and_spaces_ignored_and_entity_data_given(client, db) -> None:
    event = {"event": "  order CHANGED ", "entityData": {"OrderId": 7, "OrderCode": "X-7", "Other": 1}}
    status, body = await post(client, event)
    assert status == 202 and body["queued"] == 1
    with db.session() as s:
        [item] = queue.list_items(s)
    assert json.loads(item.body)["entityData"] == {"OrderId": 7, "OrderCode": "X-7"}
    assert item.event_name == "OrderChanged"


async def test_idempotent_ids(client, db) -> None:
    assert (await post(client, EVENT))[0] == 202
    status, body = await post(client, [EVENT, {**EVENT, "id": 42}, {**EVENT, "id": 42}])
    assert status == 202
    assert (body["accepted"], body["duplicates"], body["queued"]) == (1, 2, 1)
    assert body["eventIds"][1] == body["eventIds"][2]
    assert count(db, EventRow) == 2 and count(db, QueueItemRow) == 2


async def test_batch_of_1000_accepted_and_1001_refused(client, db) -> None:
    batch = [{**EVENT, "id": f"b{n}", "data": {"Order": {"Id": n}}} for n in range(1000)]
    status, body = await post(client, batch)
    assert status == 202 and body["accepted"] == 1000 and body["queued"] == 1000
    assert len(set(body["eventIds"])) == 1000
    status, body = await post(client, [*batch, {**EVENT, "id": "one-too-many"}])
    assert status == 413 and body["error"] == "too_many_events" and "1,001" in body["message"]
    assert count(db, EventRow) == 1000


@pytest.mark.parametrize(
    ("body", "field", "index", "words"),
    [
        (b'{"event": "OrderChanged",', None, None, "line 1"),
        (b"\xff\xfe{}", None, None, "JSON"),
        ("42", None, None, "event object"),
        ("[]", None, None, "no events"),
        ({"shopId": 3}, "event", None, "missing"),
        ([EVENT, {"event": "OrderChanged", "shopId": "3"}], "shopId", 1, "events[1].shopId"),
        ([EVENT, EVENT, {"event": "OrderChanged", "occurredAt": "yesterday"}], "occurredAt", 2, "ISO-8601"),
        ({"event": "OrderChanged", "data": [1]}, "data", None, "object"),
        ({"event": "OrderChanged", "entityData": "x"}, "entityData", None, "object"),
        ({"event": "OrderChanged", "id": True}, "id", None, "text or a number"),
        ({"event": "OrderChanged", "shopId": True}, "shopId", None, "whole number"),
        ([EVENT, 5], None, 1, "events[1]"),
        ("[" * 100_000 + "]" * 100_000, None, None, "nested too deeply"),
        ({"event": "OrderChanged", "shopId": 2**70}, "shopId", None, "whole number"),
        (
            {"event": "OrderChanged", "occurredAt": "0001-01-01T00:00:00+05:00"},
            "occurredAt",
            None,
            "ISO-8601",
        ),
    ],
)
async def test_400_names_field_and_index_and_stores_nothing(client, db, body, field, index, words) -> None:
    status, answer = await post(client, body)
    assert status == 400, answer
    assert answer["field"] == field and answer["index"] == index
    assert words in answer["message"]
    assert count(db, EventRow) == 0


async def test_422_unknown_event_with_closest_names(client, db) -> None:
    status, body = await post(client, [EVENT, {"event": "OrderChangd"}])
    assert status == 422
    assert body["error"] == "unknown_event" and body["index"] == 1 and body["field"] == "event"
    assert "OrderChanged" in body["closest"] and "OrderChangd" in body["message"]
    assert count(db, EventRow) == 0


SEED_SPELLINGS = {
    "Main Order Return Status Changed": "ReturnMainStatusChanged",
    "Order Return Changed": "ReturnChanged",
    "Order Return Created": "ReturnCreated",
    "Product Property Def Changed": "ProductPropertyDefinitionChanged",
    "Product Property Def Deleted": "ProductPropertyDefinitionDeleted",
    "Ticket Outcoming Message": "TicketOutgoingMessage",
}


@pytest.mark.parametrize(("alias", "system_name"), SEED_SPELLINGS.items())
async def test_seed_spelling_is_accepted_and_stored_under_the_system_name(
    client, db, alias, system_name
) -> None:
    status, body = await post(client, {"id": f"seed-{system_name}", "event": alias, "data": {}})
    assert status == 202, body
    assert body["accepted"] == 1
    with db.session() as s:
        [row] = s.scalars(select(EventRow)).all()
    assert row.event == system_name


async def test_401_missing_or_wrong_token(engine, client) -> None:
    async with aiohttp.ClientSession(base_url=f"http://{engine.listener_address}") as anon:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
            async with anon.post("/events", json=EVENT, headers=headers) as resp:
                assert resp.status == 401
                assert "token" in (await resp.json())["message"]
        async with anon.get("/health") as resp:  # health needs no token
            assert resp.status == 200


async def test_token_file_is_private_and_rotation_is_picked_up(engine, client, app_paths) -> None:
    assert stat.S_IMODE(os.stat(app_paths.token_file).st_mode) == 0o600
    new = rotate_token(app_paths)
    engine.listener._token_checked = 0.0  # skip the 1 s re-read interval
    assert (await post(client, EVENT))[0] == 401
    assert (await post(client, EVENT, headers={"Authorization": f"Bearer {new}"}))[0] == 202


async def test_413_body_over_limit(client, db) -> None:
    big = {**EVENT, "data": {"Blob": "x" * 1_100_000}}
    status, body = await post(client, big)
    assert status == 413 and body["error"] == "body_too_large" and "1,048,576" in body["message"]

    async def chunks():  # no Content-Length: the limit holds for a streamed body too
        yield json.dumps(big).encode()

    status, body = await post(client, chunks())
    assert status == 413
    assert count(db, EventRow) == 0
    assert (await post(client, EVENT))[0] == 202  # still serving


async def test_415_not_json(client) -> None:
    async with client.post(
        "/events", data="event=OrderChanged", headers={"Content-Type": "text/plain"}
    ) as resp:
        assert resp.status == 415 and "application/json" in (await resp.json())["message"]


async def test_404_405_are_json(client) -> None:
    async with client.get("/events") as resp:
        assert resp.status == 405 and (await resp.json())["error"] == "method_not_allowed"
    async with client.get("/nope") as resp:
        assert resp.status == 404 and (await resp.json())["error"] == "not_found"


async def test_health_reports_version_and_counts(client) -> None:
    await post(client, [EVENT, {**EVENT, "id": "2"}])
    async with client.get("/health") as resp:
        body = await resp.json()
    assert resp.status == 200 and body["status"] == "ok" and body["version"]
    assert body["queue"]["queued"] == 2 and body["queue"]["failed"] == 0


async def test_503_while_shutting_down(engine, client, db) -> None:
    engine.listener.stopping = True
    status, body = await post(client, EVENT)
    assert status == 503 and body["error"] == "shutting_down"
    engine.listener.stopping = False
    assert count(db, EventRow) == 0


async def test_concurrent_requests_share_commits(engine, client, db) -> None:
    import asyncio

    answers = await asyncio.gather(*(post(client, {**EVENT, "id": f"c{n}"}) for n in range(200)))
    assert all(status == 202 for status, _ in answers)
    assert count(db, EventRow) == 200 and count(db, QueueItemRow) == 200
    assert engine.intake.groups_committed < 200  # group commit: fewer transactions than requests


async def test_port_taken_and_remote_bind_refused(engine, db, box, app_paths, settings) -> None:
    host, port = engine.listener_address.rsplit(":", 1)
    other = Engine(db, box, replace(settings, listen_port=int(port)), app_paths, deliver=False)
    with pytest.raises(ListenerError, match="already in use"):
        await other.start()
    remote = Engine(db, box, replace(settings, listen_host="0.0.0.0"), app_paths, deliver=False)
    with pytest.raises(ListenerError, match="allow"):
        await remote.start()


async def test_remote_bind_allowed_logs_a_warning(db, box, app_paths, settings, caplog) -> None:
    eng = Engine(
        db, box, replace(settings, listen_host="0.0.0.0", allow_remote=True), app_paths, deliver=False
    )
    await eng.start()
    try:
        assert "other machines" in caplog.text
    finally:
        await eng.stop()


async def test_stop_answers_requests_in_flight_and_loses_no_accepted_event(
    db, box, app_paths, settings
) -> None:
    import asyncio

    first_commit = asyncio.Event()

    class Observer(Recorder):
        def items_changed(self, changes) -> None:
            first_commit.set()

    with db.session() as s:
        save_trigger(
            s,
            box,
            Trigger(
                title="ERP", event="OrderChanged", actions=(WebhookAction(url="https://erp.example/hook"),)
            ),
        )
    eng = Engine(db, box, settings, app_paths, Observer(), deliver=False)
    await eng.start()
    token = app_paths.token_file.read_text().strip()
    async with aiohttp.ClientSession(
        base_url=f"http://{eng.listener_address}", headers={"Authorization": f"Bearer {token}"}
    ) as session:

        async def one(n: int) -> int | None:
            try:
                return (await post(session, {**EVENT, "id": f"s{n}"}))[0]
            except aiohttp.ClientError:
                return None  # the socket closed before this request was sent: nothing accepted

        tasks = [asyncio.create_task(one(n)) for n in range(300)]
        await asyncio.wait_for(first_commit.wait(), 30)
        await eng.stop()
        statuses = await asyncio.gather(*tasks)
    accepted = statuses.count(202)
    assert accepted > 0 and set(statuses) <= {202, 503, None}
    assert count(db, EventRow) == accepted == count(db, QueueItemRow)


async def test_a_bug_answers_500_json_and_the_listener_keeps_serving(client, monkeypatch) -> None:
    from shopctrl_desktop.engine import listener as listener_module

    def broken(payload):
        raise RuntimeError("boom")

    monkeypatch.setattr(listener_module, "parse_body", broken)
    status, body = await post(client, EVENT)
    assert status == 500 and body["error"] == "internal_error"
    monkeypatch.undo()
    assert (await post(client, EVENT))[0] == 202


def test_the_202_body_is_the_json_of_the_result():
    from shopctrl_desktop.store.ingest import IngestResult

    result = IngestResult(accepted=2, duplicates=1, queued=3, event_ids=[5, 6, 5])
    assert json.loads(result.json_body()) == {
        "accepted": 2,
        "duplicates": 1,
        "queued": 3,
        "eventIds": [5, 6, 5],
    }
    assert json.loads(IngestResult().json_body())["eventIds"] == []


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (
            '{"event": "OrderChanged", "data": {"Order": {"OrderCode": "A\\ud800"}}}',
            "data.Order.OrderCode",
            "surrogate",
        ),
        ('{"event": "OrderChanged", "id": "evt-\\udc00"}', "id", "surrogate"),
        ('{"event": "OrderChanged", "data": {"Order": {"\\ud800": 1}}}', "data.Order.\\ud800", "key"),
        (
            '{"event": "OrderChanged", "data": {"Order": {"Id": ' + "7" * 5000 + "}}}",
            "data.Order.Id",
            "digits",
        ),
        ('{"event": "OrderChanged", "data": {"Order": {"TotalDue": 1e400}}}', "data.Order.TotalDue", "1e400"),
        ('{"event": "OrderChanged", "data": {"Order": {"TotalDue": NaN}}}', "data.Order.TotalDue", "NaN"),
        (
            '{"event": "OrderChanged", "data": {"Order": {"TotalDue": -Infinity}}}',
            "data.Order.TotalDue",
            "Infinity",
        ),
    ],
)
async def test_a_poison_event_is_a_400_naming_its_field_never_send_again(
    client, db, bad, field, words
) -> None:
    """An event no database or strict receiver can hold is a permanent error: 400 with the field and the
    index, no Retry-After; its 99 good neighbours are refused with it (a batch is all or nothing) and are
    taken once the bad one is left out."""
    good = [{**EVENT, "id": f"g{n}", "data": {"Order": {"Id": n}}} for n in range(99)]
    text = (
        "[" + ",".join([*(json.dumps(e) for e in good[:50]), bad, *(json.dumps(e) for e in good[50:])]) + "]"
    )
    async with client.post(
        "/events", data=text.encode(), headers={"Content-Type": "application/json"}
    ) as resp:
        answer = await resp.json()
        assert resp.status == 400, answer
        assert "Retry-After" not in resp.headers
    assert answer["error"] == "bad_request"
    assert answer["index"] == 50 and answer["field"] == field
    assert words in answer["message"] and f"events[50].{field}" in answer["message"]
    assert count(db, EventRow) == 0
    status, body = await post(client, good)
    assert status == 202 and body["accepted"] == 99


async def test_a_client_that_disconnects_mid_body_is_one_info_line(
    engine, client, db, app_paths, caplog
) -> None:
    """A sender that goes away before its body is complete costs nothing: nothing stored, one INFO line
    (it was an ERROR with a traceback), and the listener answers the next request."""
    token = app_paths.token_file.read_text().strip()
    host, port = engine.listener_address.rsplit(":", 1)
    caplog.set_level(logging.INFO, logger="shopctrl_desktop")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: 5000\r\n\r\n"
            '[{"event": "OrderChanged", "id": "half'
        ).encode()
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    status, _ = await post(client, {**EVENT, "id": "after"})
    assert status == 202

    def disconnect_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "disconnected" in r.getMessage()]

    for _ in range(200):  # the listener notices the closed connection on its own schedule
        if disconnect_lines():
            break
        await asyncio.sleep(0.01)
    [line] = disconnect_lines()
    assert line.levelno == logging.INFO and line.exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert count(db, EventRow) == 1
