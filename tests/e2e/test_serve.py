"""`shopctrl-desktop serve` as a real process: /health, an event in, SIGTERM -> exit 0 with the event committed."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.processes import cli, start_serve

pytestmark = pytest.mark.slow


def test_serve_health_event_and_clean_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    triggers = tmp_path / "triggers.json"
    triggers.write_text(
        json.dumps(
            {
                "version": 1,
                "triggers": [
                    {
                        "title": "ERP",
                        "event": "OrderChanged",
                        "actions": [{"type": "callWebhook", "url": "http://127.0.0.1:9/never-called"}],
                    }
                ],
            }
        )
    )
    assert cli(data, "triggers", "import", str(triggers)).returncode == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc, address = start_serve(data, env)
    try:
        with urllib.request.urlopen(f"http://{address}/health", timeout=10) as resp:
            health = json.loads(resp.read())
        assert resp.status == 200 and health["status"] == "ok" and health["version"]
        event = tmp_path / "event.json"
        event.write_text(
            json.dumps(
                {
                    "id": "e2e-1",
                    "event": "Order changed",
                    "shopId": 3,
                    "data": {"Order": {"Id": 1001, "OrderCode": "ORD-1001"}},
                }
            )
        )
        sent = cli(data, "send-event", str(event), listen=address)
        assert sent.returncode == 0, sent.stderr
        assert "HTTP 202" in sent.stdout and '"queued": 1' in sent.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "stopped cleanly" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    engine = create_engine(f"sqlite:///{data / 'shopctrl.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT external_id, shop_id FROM events")).all() == [("e2e-1", 3)]
        assert conn.execute(text("SELECT count(*) FROM queue_items")).scalar() == 1
        assert conn.execute(text("SELECT name FROM shops")).scalar() == "Shop 3"
    engine.dispose()


def test_serve_refuses_a_taken_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = cli(tmp_path / "d", "serve", listen=f"127.0.0.1:{port}")
    assert result.returncode == 1 and "already in use" in result.stderr
