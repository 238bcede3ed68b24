"""docs/deployment.md, step by step, as a new team would follow it: a PostgreSQL server that checks passwords,
the database owner's `db setup` on the engine machine, `db add-user` for an admin, a support person and the
engine, `whoami` on each workstation, the admin importing a signed trigger on their own workstation (which
never holds the engine key), `serve` on the engine machine delivering it signed to a real receiver, the
support workstation retrying and being refused what it may not do — all through the real command line, each
workstation with its own data directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from shopctrl_desktop.domain.signing import verify
from tests.helpers.postgres import throwaway_postgres
from tests.helpers.processes import REPO, start_serve
from tests.helpers.receivers import Receiver, on_a_thread, sequence

pytestmark = pytest.mark.slow

SUPERUSER_PASSWORD = "pg-superuser-pw-1"
OWNER_PASSWORD = "owner-pw-2345"
PASSWORDS = {"bob": "bob-admin-pw-9", "alice": "alice-support-pw-8", "engine1": "engine-pw-7"}
HMAC_SECRET = "whsec-deployment-walkthrough-0123456789"


def run(data: Path, url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopctrl_desktop", "--data-dir", str(data), "--database-url", url, *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("SHOPCTRL_", "PG"))},
    )


def test_the_deployment_guide_from_scratch(tmp_path: Path) -> None:
    with (
        throwaway_postgres("shopctrl-pg-deploy-", password=SUPERUSER_PASSWORD) as cluster,
        on_a_thread(Receiver(responder=sequence(200, 503))) as receiver,
    ):
        where = f"host={cluster.base}&port={cluster.port}"

        def url(user: str, password: str) -> str:
            return f"postgresql+psycopg://{user}:{password}@/shop_a?{where}"

        # 1. the server and the database owner (as the PostgreSQL superuser)
        with psycopg.connect(
            f"dbname=postgres user=shop password={SUPERUSER_PASSWORD} host={cluster.base} port={cluster.port}",
            autocommit=True,
        ) as conn:
            conn.execute(f"CREATE ROLE shopowner LOGIN CREATEROLE PASSWORD '{OWNER_PASSWORD}'")
            conn.execute("CREATE DATABASE shop_a OWNER shopowner")
        owner = url("shopowner", OWNER_PASSWORD)
        engine_dir, admin_dir, support_dir = tmp_path / "engine", tmp_path / "admin", tmp_path / "support"

        # 2. db setup, on the engine machine: schema, roles, the engine key
        setup = run(engine_dir, owner, "db", "setup")
        assert setup.returncode == 0, setup.stderr
        for group in ("shop_a_admin", "shop_a_support", "shop_a_engine"):
            assert f"created role {group}" in setup.stdout
        assert "engine key:" in setup.stdout and OWNER_PASSWORD not in setup.stdout + setup.stderr
        again = run(engine_dir, owner, "db", "setup")
        assert again.returncode == 0 and "created role" not in again.stdout

        # 3. one login per person and engine, the password on standard input
        for name, role in (("bob", "admin"), ("alice", "support"), ("engine1", "engine")):
            added = run(
                engine_dir, owner, "db", "add-user", name, "--role", role, stdin=PASSWORDS[name] + "\n"
            )
            assert added.returncode == 0, added.stderr
            assert f"added user {name} with role {role}" in added.stdout
        duplicate = run(engine_dir, owner, "db", "add-user", "bob", "--role", "support", stdin="x-password\n")
        assert duplicate.returncode != 0 and "already exists" in duplicate.stderr

        # 4. whoami on every workstation; a wrong password is said in words
        for name, role, data in (("bob", "admin", admin_dir), ("alice", "support", support_dir)):
            who = run(data, url(name, PASSWORDS[name]), "whoami")
            assert who.returncode == 0, who.stderr
            assert f"user: {name}" in who.stdout and f"role: {role}" in who.stdout
        wrong = run(support_dir, url("alice", "not-her-password"), "whoami")
        assert wrong.returncode != 0 and "password" in wrong.stderr.lower()
        assert "Traceback" not in wrong.stderr and "not-her-password" not in wrong.stderr

        # 5a/6. the admin imports a signed trigger on their own workstation (no engine key there)
        triggers = tmp_path / "triggers.json"
        action = {
            "type": "callWebhook",
            "url": receiver.url("/erp"),
            "hmacSecret": HMAC_SECRET,
            "signatureScheme": "shopctrl",
        }
        triggers.write_text(
            json.dumps(
                {"version": 1, "triggers": [{"title": "ERP", "event": "OrderChanged", "actions": [action]}]}
            )
        )
        imported = run(admin_dir, url("bob", PASSWORDS["bob"]), "triggers", "import", str(triggers))
        assert imported.returncode == 0, imported.stderr
        read_back = run(
            admin_dir,
            url("bob", PASSWORDS["bob"]),
            "triggers",
            "export",
            "--include-secrets",
            "-o",
            str(tmp_path / "x"),
        )
        assert read_back.returncode != 0 and "engine key" in read_back.stderr
        assert HMAC_SECRET not in read_back.stdout + read_back.stderr

        # 5. the engine as a service: serve with the engine login and the engine machine's data directory
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SHOPCTRL_", "PG"))},
            "PYTHONUNBUFFERED": "1",
            "SHOPCTRL_DATABASE_URL": url("engine1", PASSWORDS["engine1"]),
        }
        proc, address = start_serve(engine_dir, env)
        try:
            token = (engine_dir / "api-token").read_text().strip()
            event = {"id": "evt-1", "event": "OrderChanged", "data": {"Order": {"Id": 7, "OrderCode": "A-7"}}}
            request = urllib.request.Request(
                f"http://{address}/events",
                data=json.dumps(event).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as resp:
                assert resp.status == 202
            assert receiver._loop is not None  # noqa: SLF001 - the receiver's own thread's loop
            waiting = asyncio.run_coroutine_threadsafe(receiver.wait_for(1, timeout=30), receiver._loop)  # noqa: SLF001
            [delivered] = waiting.result(35)
            assert verify("shopctrl", HMAC_SECRET, delivered.body, delivered.headers)
            assert json.loads(delivered.body)["entityData"]["OrderCode"] == "A-7"
            # a second event the receiver answers 503: its item waits to be retried, for support to handle
            second = {**event, "id": "evt-2", "data": {"Order": {"Id": 8, "OrderCode": "A-8"}}}
            request = urllib.request.Request(
                f"http://{address}/events",
                data=json.dumps(second).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as resp:
                assert resp.status == 202
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the engine records the 503 and schedules a retry
                listed = run(admin_dir, url("bob", PASSWORDS["bob"]), "queue", "list", "--json")
                if {i["status"] for i in json.loads(listed.stdout)} == {"delivered", "retrying"}:
                    break
            else:
                raise AssertionError(f"the second item was not retrying: {listed.stdout}")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()

        # 6. the support workstation: watch and resend; changing triggers or reading secrets is refused
        support = url("alice", PASSWORDS["alice"])
        listed = run(support_dir, support, "queue", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        items = {i["status"]: i for i in json.loads(listed.stdout)}
        assert set(items) == {"delivered", "retrying"}
        assert HMAC_SECRET not in listed.stdout
        waiting_id = str(items["retrying"]["id"])
        stopped = run(support_dir, support, "queue", "cancel", waiting_id)  # the receiver is down: hold it …
        assert stopped.returncode == 0, stopped.stderr
        again = run(support_dir, support, "queue", "retry", waiting_id)  # … and send it again once it is back
        assert again.returncode == 0, again.stderr
        statuses = {
            i["id"]: i["status"]
            for i in json.loads(run(support_dir, support, "queue", "list", "--json").stdout)
        }
        assert statuses[int(waiting_id)] == "queued"
        refused = run(support_dir, support, "triggers", "import", str(triggers))
        assert refused.returncode == 1 and "refused" in refused.stderr and "Traceback" not in refused.stderr
        secrets = run(
            support_dir, support, "triggers", "export", "--include-secrets", "-o", str(tmp_path / "y")
        )
        assert secrets.returncode != 0 and HMAC_SECRET not in secrets.stdout + secrets.stderr
        with (
            psycopg.connect(
                f"dbname=shop_a user=alice password={PASSWORDS['alice']} host={cluster.base} port={cluster.port}"
            ) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute("SELECT hmac_secret_enc FROM webhook_actions")  # not even with psql

        # the audit trail, read by the admin: who added whom, who imported the trigger
        audit = run(admin_dir, url("bob", PASSWORDS["bob"]), "audit", "list", "--json")
        assert audit.returncode == 0, audit.stderr
        entries = json.loads(audit.stdout)
        by_action = {(e["action"], e["who"]) for e in entries}
        assert ("user.added", "shopowner") in by_action
        assert any(a == "trigger.created" and w == "bob" for a, w in by_action)
        assert {("item.retried", "alice"), ("item.cancelled", "alice")} <= by_action
        assert HMAC_SECRET not in audit.stdout
