"""Two real `serve` processes on one PostgreSQL database take the same 1,000 events at the same moment
(SPEC §10: event ids and "Queue items must be unique" are exact across engines): every event is stored
once, every answer adds up, and no unique key ever has two waiting items."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import aiohttp
from sqlalchemy import text

from shopctrl_desktop.domain.queue import WAITING_STATUSES, status_values
from tests.helpers.postgres import throwaway_postgres
from tests.helpers.processes import cli, start_serve

EVENTS = 1_000
ORDERS = 30  # the unique-items action's keys: 600 order events, 20 per order
ORDER_EVENTS = 600
REQUEST_SIZE = 25


def _events() -> list[dict]:
    events = []
    for n in range(EVENTS):
        if n < ORDER_EVENTS:
            order = n % ORDERS
            data = {"Order": {"Id": order, "OrderCode": f"O-{order}", "TotalDue": n}}
            events.append({"id": f"evt-{n}", "event": "OrderChanged", "shopId": 1 + n % 3, "data": data})
        else:
            data = {"Product": {"Id": n, "ProductCode": f"P-{n}"}}
            events.append({"id": f"evt-{n}", "event": "ProductChanged", "shopId": 1, "data": data})
    return events


def _triggers(url: str) -> dict:
    # the receiver never answers (timeout one hour): an item a delivery engine claims stays "sending", so
    # every waiting item the test finds is one the intake left waiting
    action = {"type": "callWebhook", "url": url, "timeoutSeconds": 3600}
    return {
        "version": 1,
        "triggers": [
            {"title": "ERP", "event": "OrderChanged", "actions": [{**action, "uniqueQueueItems": True}]},
            {"title": "Catalogue", "event": "ProductChanged", "actions": [action]},
        ],
    }


async def _post_all(targets: list[tuple[str, str, list[list[dict]]]]) -> list[list[tuple[list[dict], dict]]]:
    """Every request of every target at once (16 at a time per listener); the answers per target."""

    async def one_target(
        address: str, token: str, requests: list[list[dict]]
    ) -> list[tuple[list[dict], dict]]:
        limit = asyncio.Semaphore(16)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as client:

            async def post(batch: list[dict]) -> tuple[list[dict], dict]:
                async with (
                    limit,
                    client.post(f"http://{address}/events", data=json.dumps(batch), headers=headers) as resp,
                ):
                    body = await resp.json()
                    assert resp.status == 202, (resp.status, body)
                    return batch, body

            return await asyncio.gather(*(post(batch) for batch in requests))

    return await asyncio.gather(*(one_target(*target) for target in targets))


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def test_two_serve_processes_take_the_same_1000_events_exactly_once(tmp_path: Path) -> None:
    receiver = socket.socket()  # listens and never accepts: requests wait in the backlog, unanswered
    receiver.bind(("127.0.0.1", 0))
    receiver.listen(64)
    hook = f"http://127.0.0.1:{receiver.getsockname()[1]}/hook"
    with throwaway_postgres("shopctrl-pg-two-") as cluster:
        database = cluster.new_database()  # created and migrated here, before either engine starts
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SHOPCTRL_DATABASE_URL": database.url}
        workstations = [tmp_path / "workstation-a", tmp_path / "workstation-b"]
        triggers = tmp_path / "triggers.json"
        triggers.write_text(json.dumps(_triggers(hook)))
        imported = cli(workstations[0], "triggers", "import", str(triggers), env=env)
        assert imported.returncode == 0, imported.stderr

        events = _events()
        forward = [events[i : i + REQUEST_SIZE] for i in range(0, EVENTS, REQUEST_SIZE)]
        backward = [events[::-1][i : i + REQUEST_SIZE] for i in range(0, EVENTS, REQUEST_SIZE)]
        procs: list[subprocess.Popen[str]] = []
        try:
            targets = []
            for data, requests in zip(workstations, (forward, backward), strict=True):
                proc, address = start_serve(data, env)
                procs.append(proc)
                token = (data / "api-token").read_text().strip()
                targets.append((address, token, requests))
            answers = asyncio.run(_post_all(targets))

            with database.engine.connect() as conn:
                stored = dict(conn.execute(text("SELECT external_id, id FROM events")).all())
                items = conn.execute(
                    text("SELECT trigger_title, unique_key, status, skipped_count, event_id FROM queue_items")
                ).all()
        finally:
            receiver.close()  # the held requests fail at once, so the engines stop without waiting on them
            for proc in procs:
                _stop(proc)
            database.dispose()

    # the answers: each event new at exactly one listener, a duplicate at the other, with the stored id
    totals: Counter[str] = Counter()
    for per_target in answers:
        for batch, body in per_target:
            assert body["accepted"] + body["duplicates"] == len(batch) == len(body["eventIds"])
            totals.update(accepted=body["accepted"], duplicates=body["duplicates"], queued=body["queued"])
            assert body["eventIds"] == [stored[event["id"]] for event in batch]
    assert totals["accepted"] == EVENTS and totals["duplicates"] == EVENTS
    assert len(stored) == EVENTS  # 1,000 stored events (external_id is unique, so also 1,000 ids)

    # the queue: one Catalogue item per product event; per order, at most one waiting ERP item, and the
    # order's items account for each of its 20 events exactly once (sent or skipped)
    assert totals["queued"] == len(items)
    titles = Counter(item.trigger_title for item in items)
    assert titles["Catalogue"] == EVENTS - ORDER_EVENTS
    waiting = set(status_values(WAITING_STATUSES))
    by_key: dict[str, list] = defaultdict(list)
    for item in items:
        if item.trigger_title == "ERP":
            by_key[item.unique_key].append(item)
    assert len(by_key) == ORDERS
    for key, key_items in by_key.items():
        assert sum(item.status in waiting for item in key_items) <= 1, (key, key_items)
        assert sum(1 + item.skipped_count for item in key_items) == ORDER_EVENTS // ORDERS, (key, key_items)
