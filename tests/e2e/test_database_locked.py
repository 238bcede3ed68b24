"""Another program holds the SQLite database's write lock for a while (issue 13 item 4): `serve` waits for it
(SQLite's busy timeout, 30 s) instead of failing — the event posted meanwhile is answered 202 once the lock is
gone, nothing is lost — and delivery carries on by itself. (Past the busy timeout the intake answers 503 with
Retry-After, the same path as a full disk: tests/e2e/test_disk_full.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.processes import import_one_trigger, start_serve
from tests.helpers.receivers import Receiver, on_a_thread

pytestmark = pytest.mark.slow


def post(address: str, token: str, event_id: str) -> int:
    body = {"id": event_id, "event": "OrderChanged", "data": {"Order": {"Id": 1, "OrderCode": event_id}}}
    request = urllib.request.Request(
        f"http://{address}/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        return resp.status


def test_serve_waits_for_a_lock_held_by_another_program(tmp_path: Path) -> None:
    with on_a_thread(Receiver()) as receiver:
        data = tmp_path / "data"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        import_one_trigger(data, receiver.url("/erp"), env)
        proc, address = start_serve(data, env)
        try:
            token = (data / "api-token").read_text().strip()
            assert post(address, token, "before") == 202
            other = sqlite3.connect(
                data / "shopctrl.sqlite3", isolation_level=None, timeout=30, check_same_thread=False
            )
            other.execute("BEGIN IMMEDIATE")  # another program writes, and takes its time
            released = threading.Event()

            def release_later() -> None:
                time.sleep(2)  # the other program's slow transaction, not a wait for a condition
                other.execute("COMMIT")
                other.close()
                released.set()

            threading.Thread(target=release_later, daemon=True).start()
            assert post(address, token, "during") == 202  # waited for the lock, then stored
            assert released.is_set()
            assert post(address, token, "after") == 202
            assert receiver._loop is not None  # noqa: SLF001
            waiting = asyncio.run_coroutine_threadsafe(receiver.wait_for(3, timeout=60), receiver._loop)  # noqa: SLF001
            codes = {json.loads(r.body)["entityData"]["OrderCode"] for r in waiting.result(70)}
            assert codes >= {"before", "during", "after"}

            # stop means stop: SIGTERM while another program holds the lock for good
            holder = sqlite3.connect(data / "shopctrl.sqlite3", isolation_level=None, timeout=30)
            holder.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            assert time.monotonic() - started < 30, "serve did not stop while the database was locked"
            holder.execute("ROLLBACK")
            holder.close()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
