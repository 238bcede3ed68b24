"""The PostgreSQL server stopped and started again under a running `serve` (issue 13 item 4): while it is down
events are answered 503 with Retry-After (nothing acknowledged that was not stored) and the log says so in a
line, not a traceback per turn; when it is back the same process takes and delivers events again by itself,
and every event it acknowledged reaches the receiver."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.postgres import throwaway_postgres
from tests.helpers.processes import import_one_trigger, start_serve
from tests.helpers.receivers import Receiver, on_a_thread

pytestmark = pytest.mark.slow


def post(address: str, token: str, event_id: str) -> tuple[int, dict[str, str]]:
    body = {"id": event_id, "event": "OrderChanged", "data": {"Order": {"Id": 1, "OrderCode": event_id}}}
    request = urllib.request.Request(
        f"http://{address}/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_serve_rides_out_a_postgresql_restart(tmp_path: Path) -> None:
    with throwaway_postgres("shopctrl-pg-restart-") as cluster, on_a_thread(Receiver()) as receiver:
        url = cluster.new_database_url()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SHOPCTRL_DATABASE_URL": url}
        data = tmp_path / "engine"
        import_one_trigger(data, receiver.url("/erp"), env)
        proc, address = start_serve(data, env)
        try:
            token = (data / "api-token").read_text().strip()
            acknowledged = []
            for n in range(5):
                status, _ = post(address, token, f"before-{n}")
                assert status == 202
                acknowledged.append(f"before-{n}")

            cluster.stop()
            status, headers = post(address, token, "while-down")
            assert status == 503 and headers.get("Retry-After")

            cluster.start()
            deadline = time.monotonic() + 60
            while True:  # the sender's retry loop, as Retry-After asks
                status, _ = post(address, token, "after-0")
                if status == 202 or time.monotonic() > deadline:
                    break
            assert status == 202, "serve did not take events again after the server came back"
            acknowledged.append("after-0")
            for n in range(1, 5):
                assert post(address, token, f"after-{n}")[0] == 202
                acknowledged.append(f"after-{n}")

            assert receiver._loop is not None  # noqa: SLF001
            waiting = asyncio.run_coroutine_threadsafe(  # noqa: SLF001
                receiver.wait_for(len(acknowledged), timeout=90), receiver._loop
            )
            got = waiting.result(100)
            codes = {json.loads(r.body)["entityData"]["OrderCode"] for r in got}
            assert set(acknowledged) <= codes and "while-down" not in codes
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        stderr = proc.stderr.read() if proc.stderr else ""
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        assert stderr.count("Traceback") == 0, stderr[-4000:]
