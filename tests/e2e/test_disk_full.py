"""A full disk under a real `serve` (issue 13 item 4, issue 15 item 6): events are answered 503 with
Retry-After and nothing unstored is acknowledged; the log says so in a line or two, not a traceback per
turn; when space returns the same process takes events again by itself; and SIGTERM stops it promptly while
the disk is full. The disk is a small tmpfs mounted for the test (root only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.processes import import_one_trigger, start_serve

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk():
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mount = Path(tempfile.mkdtemp(prefix="shopctrl-small-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        mount.rmdir()


def fill(disk: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to give the space back)."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError:
            pass
        try:
            while True:  # the last few bytes
                fh.write(b"\0")
        except OSError:
            pass
    return filler


def post(address: str, token: str, n: int) -> tuple[int, dict[str, str], dict]:
    body = [
        {
            "id": f"evt-{n}-{k}",
            "event": "OrderChanged",
            "data": {"Order": {"Id": n * 100 + k, "Note": "x" * 500}},
        }
        for k in range(20)
    ]
    request = urllib.request.Request(
        f"http://{address}/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_a_full_disk_is_a_503_a_line_in_the_log_and_serve_recovers_and_stops(
    small_disk: Path, tmp_path
) -> None:
    data = small_disk / "data"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    import_one_trigger(data, "http://127.0.0.1:9/nobody-listens", env)  # nobody listens: items wait, retrying
    proc, address = start_serve(data, env)
    try:
        token = (data / "api-token").read_text().strip()
        assert post(address, token, 0)[0] == 202

        filler = fill(small_disk)
        answers = [post(address, token, n) for n in range(1, 30)]
        refused = [(s, h, b) for s, h, b in answers if s != 202]
        assert refused, "a full disk must refuse some events"
        for status, headers, body in refused:
            assert status == 503 and headers.get("Retry-After") and "nothing was stored" in body["message"]

        filler.unlink()  # space is back: the same process takes events again
        assert post(address, token, 99)[0] == 202

        fill(small_disk)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
        stopped_in = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    assert stopped_in < 30, f"SIGTERM took {stopped_in:.0f} s on a full disk"
    assert "--- Logging error ---" not in stderr
    assert stderr.count("Traceback") == 0, stderr[-6000:]
    assert stderr.count("cannot write the log file") <= 2
    assert "storing events failed" in stderr  # said, in words
