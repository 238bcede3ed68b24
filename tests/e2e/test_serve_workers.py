"""``serve --workers 2`` as real processes: a supervisor, an intake process and a delivery process on one
SQLite file, events over HTTP, a real receiver on 127.0.0.1. Each item arrives once; a child killed with
-9 is restarted and nothing is lost (only the items in flight at the kill may arrive twice); SIGTERM stops
every process with exit code 0 and leaves none behind."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_kill_delivery import ThreadedReceiver
from tests.helpers.processes import import_one_trigger, start_serve

pytestmark = pytest.mark.slow
DEADLINE = 60.0  # seconds for a condition on a busy two-core machine; the tests end as soon as it holds


def post_events(address: str, token: str, first: int, count: int) -> dict[str, object]:
    events = [
        {"id": f"evt-{n}", "event": "OrderChanged", "shopId": 1, "data": {"Order": {"Id": n}}}
        for n in range(first, first + count)
    ]
    request = urllib.request.Request(
        f"http://{address}/events",
        data=json.dumps(events).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 202
        return json.loads(resp.read())  # type: ignore[no-any-return]


def wait_for_log(data: Path, pattern: str, after: int = 0) -> re.Match[str]:
    """The first match of ``pattern`` in the service's log file (from byte ``after``), polled until DEADLINE."""
    log_file = data / "logs" / "shopctrl-desktop.log"
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if log_file.exists():
            match = re.search(pattern, log_file.read_text("utf-8", "replace")[after:])
            if match:
                return match
        time.sleep(0.05)
    raise AssertionError(f"no {pattern!r} in the log: {log_file.read_text('utf-8', 'replace')[-3000:]}")


def log_size(data: Path) -> int:
    return len((data / "logs" / "shopctrl-desktop.log").read_text("utf-8", "replace"))


def child_pids(data: Path) -> dict[str, int]:
    line = wait_for_log(data, r"serve: (.*)").group(1)
    return {name: int(pid) for name, pid in re.findall(r"(\w+ process(?: \d+)?) \(pid (\d+)\)", line)}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers signal 0: a child of the supervisor that exited but was not reaped would count
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def stop_cleanly(proc, pids: list[int]) -> None:  # type: ignore[no-untyped-def]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    assert "stopped cleanly" in proc.stdout.read()
    for pid in pids:
        deadline = time.monotonic() + 10
        while not gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(pid), f"process {pid} outlived the supervisor"


def items(data: Path) -> dict[int, tuple[str, int]]:
    with sqlite3.connect(data / "shopctrl.sqlite3", timeout=30) as conn:
        rows = conn.execute("SELECT id, status, attempts FROM queue_items").fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


@pytest.fixture
def env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "SHOPCTRL_RETRY_DELAYS": "0.2"}


def test_two_workers_deliver_each_event_once_and_stop_on_sigterm(tmp_path: Path, env: dict[str, str]) -> None:
    receiver = ThreadedReceiver().start()
    receiver.answer_normally()
    data = tmp_path / "data"
    import_one_trigger(data, f"http://127.0.0.1:{receiver.port}/hook", env=env)
    proc, address = start_serve(data, env, workers=2)
    try:
        pids = child_pids(data)
        assert set(pids) == {"delivery process", "intake process"}
        token = (data / "api-token").read_text().strip()
        for batch in range(3):
            assert post_events(address, token, batch * 20, 20)["queued"] == 20
        assert receiver.wait(lambda r: len(set(r.ids)) >= 60, DEADLINE)
        stop_cleanly(proc, list(pids.values()))
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.stop()
    assert sorted(receiver.ids) == sorted(set(receiver.ids)), "an item arrived twice"
    stored = items(data)
    assert {str(i) for i in stored} == set(receiver.ids)
    assert {status for status, _ in stored.values()} == {"delivered"}
    assert {attempts for _, attempts in stored.values()} == {1}


def test_kill_9_of_the_delivery_process_restarts_it_and_loses_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    receiver = ThreadedReceiver().start()  # holds every request until answer_normally()
    data = tmp_path / "data"
    import_one_trigger(data, f"http://127.0.0.1:{receiver.port}/hook", env=env, timeoutSeconds=30)
    proc, address = start_serve(data, env, workers=2)
    try:
        pids = child_pids(data)
        token = (data / "api-token").read_text().strip()
        assert post_events(address, token, 0, 30)["queued"] == 30
        assert receiver.wait(lambda r: r.in_flight >= 4, DEADLINE)
        in_flight_at_kill = set(receiver.ids)
        seen = log_size(data)
        os.kill(pids["delivery process"], signal.SIGKILL)
        restarted = wait_for_log(
            data, r"delivery process exited unexpectedly \(code -9\); restarted \(pid (\d+)\)", seen
        )
        receiver.answer_normally()
        # the listener kept taking events meanwhile
        assert post_events(address, token, 30, 10)["queued"] == 10
        assert receiver.wait(lambda r: len(set(r.ids)) >= 40, DEADLINE), "not every item arrived"
        stop_cleanly(proc, [pids["intake process"], int(restarted.group(1))])
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.stop()
    stored = items(data)
    assert len(stored) == 40 and {status for status, _ in stored.values()} == {"delivered"}
    assert {str(i) for i in stored} == set(receiver.ids)  # none lost
    twice = {i for i in receiver.ids if receiver.ids.count(i) > 1}
    assert twice <= in_flight_at_kill  # only what was in flight at the kill was sent again
    # an item sent again after the kill was given back without counting an attempt: one attempt recorded
    assert {attempts for _, attempts in stored.values()} == {1}


def test_kill_9_of_the_intake_process_restarts_it_and_the_listener_answers_again(
    tmp_path: Path, env: dict[str, str]
) -> None:
    receiver = ThreadedReceiver().start()
    receiver.answer_normally()
    data = tmp_path / "data"
    import_one_trigger(data, f"http://127.0.0.1:{receiver.port}/hook", env=env)
    proc, address = start_serve(data, env, workers=2)
    try:
        pids = child_pids(data)
        token = (data / "api-token").read_text().strip()
        assert post_events(address, token, 0, 5)["queued"] == 5
        seen = log_size(data)
        os.kill(pids["intake process"], signal.SIGKILL)
        restarted = wait_for_log(
            data, r"intake process exited unexpectedly \(code -9\); restarted \(pid (\d+)\)", seen
        )
        deadline = time.monotonic() + DEADLINE
        answer: dict[str, object] | None = None
        while answer is None and time.monotonic() < deadline:
            try:  # the supervisor's socket kept listening: a connection waits in its backlog meanwhile
                answer = post_events(address, token, 5, 5)
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert answer is not None and answer["queued"] == 5
        assert receiver.wait(lambda r: len(set(r.ids)) >= 10, DEADLINE)
        stop_cleanly(proc, [pids["delivery process"], int(restarted.group(1))])
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.stop()
    assert sorted(receiver.ids) == sorted(set(receiver.ids))


def test_a_port_in_use_is_refused_in_words_before_any_child_starts(tmp_path: Path) -> None:
    import socket

    from tests.helpers.processes import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli(tmp_path / "data", "serve", "--workers", "2", listen=f"127.0.0.1:{port}")
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_postgresql_two_intake_and_two_delivery_processes_deliver_each_event_once(tmp_path: Path) -> None:
    """PostgreSQL: four workers are two intake processes on one socket and two delivery engines claiming
    with SKIP LOCKED, each with half the limits."""
    from tests.helpers.postgres import throwaway_postgres

    receiver = ThreadedReceiver().start()
    receiver.answer_normally()
    try:
        with throwaway_postgres("shopctrl-pg-workers-") as cluster:
            env = {**os.environ, "PYTHONUNBUFFERED": "1", "SHOPCTRL_DATABASE_URL": cluster.new_database_url()}
            data = tmp_path / "data"
            import_one_trigger(data, f"http://127.0.0.1:{receiver.port}/hook", env=env)
            proc, address = start_serve(data, env, workers=4)
            try:
                pids = child_pids(data)
                assert set(pids) == {
                    "delivery process",
                    "delivery process 2",
                    "intake process",
                    "intake process 2",
                }
                token = (data / "api-token").read_text().strip()
                for batch in range(4):
                    assert post_events(address, token, batch * 25, 25)["queued"] == 25
                assert receiver.wait(lambda r: len(set(r.ids)) >= 100, DEADLINE)
                stop_cleanly(proc, list(pids.values()))
            finally:
                if proc.poll() is None:
                    proc.kill()
    finally:
        receiver.stop()
    assert len(receiver.ids) == 100 and len(set(receiver.ids)) == 100, "an item arrived twice"


def test_a_child_that_cannot_start_stops_the_service_with_the_reason_in_words(tmp_path: Path) -> None:
    from shopctrl_desktop.store.engine_lock import EngineLock
    from tests.helpers.processes import cli

    data = tmp_path / "data"
    import_one_trigger(data, "http://127.0.0.1:9/never")
    with EngineLock(data / "shopctrl.sqlite3", exclusive=True):  # as a restore replacing the file holds it
        done = cli(data, "serve", "--workers", "2", listen="127.0.0.1:0")
    assert done.returncode == 1, done.stderr
    assert "process did not start:" in done.stderr and "restore" in done.stderr
    assert "Traceback" not in done.stderr
    assert "listening on" not in done.stdout


def test_a_child_that_does_not_stop_is_killed_and_serve_exits_3(tmp_path: Path, env: dict[str, str]) -> None:
    """The stop watchdog of a single serve, kept: here the delivery process is frozen (SIGSTOP), a first
    SIGTERM starts the clean stop, a second one ends it at once — the frozen child is killed, exit code 3."""
    data = tmp_path / "data"
    import_one_trigger(data, "http://127.0.0.1:9/never", env=env)
    proc, _address = start_serve(data, env, workers=2)
    pids = child_pids(data)
    try:
        os.kill(pids["delivery process"], signal.SIGSTOP)
        seen = log_size(data)
        proc.send_signal(signal.SIGTERM)
        wait_for_log(data, r"stopping: no new events", seen)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids.values():
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in pids.values()), "a child outlived the supervisor"
    assert (
        "an engine process did not stop; it was killed"
        in (data / "logs" / "shopctrl-desktop.log").read_text()
    )
