"""The command line in-process (real SQLite files in tmp dirs); Qt must never be imported by it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from shopctrl_desktop.cli import main
from shopctrl_desktop.domain.model import IncomingEvent, SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store import queue
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import load_secret_box
from shopctrl_desktop.store.triggers import find_trigger_by_title, save_trigger

HMAC = "plain-hmac-secret-4b1d"
PASSWORD = "plain-password-77c3"
REPO = Path(__file__).resolve().parents[2]


class Dir:
    """One data dir: run CLI commands against it and open its database."""

    def __init__(self, path: Path, capsys) -> None:
        self.path = path
        self.capsys = capsys

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--data-dir", str(self.path), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def open(self):
        paths = resolve_paths(self.path).ensure()
        return Database(f"sqlite:///{paths.database_file}"), load_secret_box(
            paths.data_dir, use_keyring=False
        )


@pytest.fixture
def make_dir(tmp_path, capsys):
    counter = iter(range(100))
    return lambda: Dir(tmp_path / f"d{next(counter)}", capsys)


def seed(d: Dir) -> None:
    db, box = d.open()
    with db.session() as s:
        save_trigger(
            s,
            box,
            Trigger(
                title="ERP order sync",
                event="OrderChanged",
                shop_id=3,
                condition={
                    "match": "all",
                    "rules": [{"field": "Order.TotalDue", "operator": "greaterThan", "value": 100}],
                },
                actions=(
                    WebhookAction(
                        url="https://erp.example/hooks/order",
                        hmac_secret=HMAC,
                        username="erp",
                        password=PASSWORD,
                        headers={"X-Team": "erp"},
                        unique_queue_items=True,
                        signature_scheme=SignatureScheme.GITHUB,
                    ),
                ),
            ),
        )
    db.dispose()


def test_version_and_help(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and "0." in capsys.readouterr().out


def test_export_without_secrets_then_import_keeps_existing_secrets(make_dir, tmp_path) -> None:
    d = make_dir()
    seed(d)
    code, out, _ = d.run("triggers", "export")
    assert code == 0
    document = json.loads(out)
    assert document["version"] == 1
    [t] = document["triggers"]
    [a] = t["actions"]
    assert (t["title"], t["event"], t["shopId"], t["enabled"]) == ("ERP order sync", "OrderChanged", 3, True)
    assert a["type"] == "callWebhook" and a["hmacSecret"] is None and a["password"] is None
    assert a["signatureScheme"] == "github" and a["uniqueQueueItems"] is True and a["username"] == "erp"
    assert a["priority"] == "normal" and a["payloadMimeType"] == "application/json" and a["payloadBody"] == ""
    assert HMAC not in out and PASSWORD not in out
    # update in place: null secrets keep the stored ones
    a["url"] = "https://erp.example/hooks/v2"
    file = tmp_path / "t.json"
    file.write_text(json.dumps(document))
    code, out, _ = d.run("triggers", "import", str(file))
    assert code == 0 and "0 created, 1 updated" in out
    db, box = d.open()
    with db.session() as s:
        stored = find_trigger_by_title(s, box, "ERP order sync")
    assert stored.actions[0].url == "https://erp.example/hooks/v2"
    assert stored.actions[0].hmac_secret == HMAC and stored.actions[0].password == PASSWORD
    # into a fresh data dir: created, without secrets
    fresh = make_dir()
    assert fresh.run("triggers", "import", str(file))[0] == 0
    db, box = fresh.open()
    with db.session() as s:
        copy = find_trigger_by_title(s, box, "ERP order sync")
    assert copy.actions[0].hmac_secret is None and copy.condition == document["triggers"][0]["condition"]


def test_export_with_secrets_round_trips_into_a_fresh_dir(make_dir, tmp_path) -> None:
    d = make_dir()
    seed(d)
    file = tmp_path / "secret.json"
    code, _, err = d.run("triggers", "export", "--include-secrets", "-o", str(file))
    assert code == 0 and "1 trigger" in err
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    assert json.loads(file.read_text())["triggers"][0]["actions"][0]["hmacSecret"] == HMAC
    fresh = make_dir()
    code, out, _ = fresh.run("triggers", "import", str(file))
    assert code == 0 and "1 created" in out
    code, exported, _ = fresh.run("triggers", "export", "--include-secrets")
    assert json.loads(exported) == json.loads(file.read_text())


def test_bad_import_file_imports_nothing_and_names_trigger_and_field(make_dir, tmp_path) -> None:
    d = make_dir()
    good = {
        "title": "Good",
        "event": "OrderChanged",
        "actions": [{"type": "callWebhook", "url": "https://ok.example/"}],
    }
    bad = {
        "title": "Broken",
        "event": "Order changed",
        "actions": [{"url": "https://ok.example/"}, {"url": "ftp://files.example/", "priority": "urgent"}],
    }
    file = tmp_path / "bad.json"
    file.write_text(
        json.dumps({"version": 1, "triggers": [good, bad, {"title": "X", "event": "OrderChangd"}]})
    )
    code, out, err = d.run("triggers", "import", str(file))
    assert code == 1 and "nothing was imported" in err
    assert "'Broken' (triggers[1]) actions[1].url" in err and "http" in err
    assert "'Broken' (triggers[1]) actions[1].priority" in err
    assert "'X' (triggers[2]) event" in err and "OrderChanged" in err
    assert json.loads(d.run("triggers", "list", "--json")[1]) == []
    file.write_text("{not json")
    code, _, err = d.run("triggers", "import", str(file))
    assert code == 1 and "line 1" in err


def test_secret_plaintext_is_not_in_the_database_file(make_dir) -> None:
    d = make_dir()
    seed(d)
    files = list(d.path.glob("shopctrl.sqlite3*"))
    raw = b"".join(f.read_bytes() for f in files)
    assert b"erp.example" in raw  # the test reads the right bytes
    assert HMAC.encode() not in raw and PASSWORD.encode() not in raw


def test_database_from_the_future_is_refused(make_dir) -> None:
    d = make_dir()
    db, _ = d.open()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    db.dispose()
    code, _, err = d.run("queue", "list")
    assert code == 2 and "newer version" in err and "9999_from_the_future" in err


def test_queue_list_cancel_retry_and_alerts(make_dir) -> None:
    d = make_dir()
    seed(d)
    db, box = d.open()
    from datetime import UTC, datetime

    with db.session() as s:
        queue.enqueue_events(
            s,
            box,
            [
                IncomingEvent(
                    "OrderChanged",
                    3,
                    datetime.now(UTC),
                    {"Order": {"Id": n, "TotalDue": 500}},
                    {"OrderId": n, "OrderCode": None},
                    "Order",
                    str(n),
                    None,
                )
                for n in (1, 2)
            ],
        )
    db.dispose()
    code, out, _ = d.run("queue", "list", "--json")
    items = json.loads(out)
    assert code == 0 and len(items) == 2
    assert {
        "id",
        "status",
        "trigger",
        "event",
        "url",
        "priority",
        "attempts",
        "createdAt",
        "lastAttemptAt",
        "nextAttemptAt",
        "responseStatus",
        "responseMessage",
    } <= items[0].keys()
    first = str(items[0]["id"])
    assert d.run("queue", "cancel", first)[0] == 0
    code, _, err = d.run("queue", "cancel", first)
    assert code == 1 and "cancelled" in err
    assert "is cancelled; only queued or retrying items can be cancelled" in err
    assert d.run("queue", "cancel", "999")[2].count("no queue item") == 1
    assert json.loads(d.run("queue", "list", "--status", "cancelled", "--json")[1])[0]["id"] == int(first)
    assert d.run("queue", "list", "--status", "bogus")[0] == 2
    assert d.run("queue", "retry", first)[0] == 0
    assert "0 failed" in d.run("queue", "retry", "--failed")[1]
    code, out, _ = d.run("queue", "list")
    assert code == 0 and "ERP order sync" in out and "queued" in out
    assert json.loads(d.run("alerts", "list", "--json")[1]) == []
    assert d.run("alerts", "list")[0] == 0


def test_token_created_private_and_rotated(make_dir) -> None:
    d = make_dir()
    code, first, _ = d.run("token")
    assert code == 0 and len(first.strip()) >= 32
    assert d.run("token")[1] == first
    assert stat.S_IMODE(os.stat(d.path / "api-token").st_mode) == 0o600
    rotated = d.run("token", "--rotate")[1]
    assert rotated != first and d.run("token")[1] == rotated


def test_send_event_without_a_running_listener_says_so(make_dir, tmp_path) -> None:
    d = make_dir()
    d.run("token")
    file = tmp_path / "e.json"
    file.write_text(json.dumps({"event": "OrderChanged"}))
    code, _, err = d.run("--listen", "127.0.0.1:9", "send-event", str(file))
    assert code == 1 and "cannot reach the listener" in err


def test_cli_and_engine_never_import_qt(tmp_path) -> None:
    code = (
        "import sys; import shopctrl_desktop.cli as c, shopctrl_desktop.engine.service; "
        f"rc = c.main(['--data-dir', {str(tmp_path / 'x')!r}, 'queue', 'list']); "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'qasync'))]; "
        "assert rc == 0 and not bad, (rc, bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_queue_list_says_on_stderr_how_many_items_it_left_out(make_dir) -> None:
    from datetime import UTC, datetime

    d = make_dir()
    seed(d)
    db, box = d.open()
    with db.session() as s:
        queue.enqueue_events(
            s,
            box,
            [
                IncomingEvent(
                    "OrderChanged",
                    3,
                    datetime.now(UTC),
                    {"Order": {"Id": n, "TotalDue": 500}},
                    {"OrderId": n, "OrderCode": None},
                    "Order",
                    str(n),
                    None,
                )
                for n in range(1, 1206)
            ],
        )
        [first] = queue.list_items(s, limit=1)
        queue.cancel_item(s, first.id)
    db.dispose()

    code, out, err = d.run("queue", "list", "--json")
    assert code == 0
    assert len(json.loads(out)) == 1000  # standard output is the JSON array alone
    assert "showing the first 1,000 of 1,205 items" in err and "205 left out" in err and "--limit" in err

    code, out, err = d.run("queue", "list")
    assert code == 0 and "205 left out" in err and "left out" not in out
    assert len(out.splitlines()) == 1001  # header + 1,000 rows

    code, out, err = d.run("queue", "list", "--status", "queued", "--limit", "10", "--json")
    assert len(json.loads(out)) == 10 and "of 1,204 matching items" in err and "1,194 left out" in err

    code, out, err = d.run("queue", "list", "--limit", "1205", "--json")
    assert code == 0 and len(json.loads(out)) == 1205 and err == ""
    code, out, err = d.run("queue", "list", "--status", "cancelled", "--limit", "1", "--json")
    assert len(json.loads(out)) == 1 and err == ""  # exactly the limit: nothing left out

    code, _, err = d.run("queue", "list", "--limit", "0")
    assert code == 2 and "--limit must be 1 or more" in err
