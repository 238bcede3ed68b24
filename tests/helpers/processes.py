"""Run ``shopctrl-desktop`` as a real process: one CLI command, or ``serve`` started and waited for."""

from __future__ import annotations

import re
import select
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(
    data_dir: Path, *args: str, listen: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One command against ``data_dir``; ``env`` None inherits this process' environment."""
    extra = ["--listen", listen] if listen else []
    return subprocess.run(
        [sys.executable, "-m", "shopctrl_desktop", "--data-dir", str(data_dir), *extra, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def read_line(proc: subprocess.Popen[str], pattern: str, deadline: float) -> re.Match[str]:
    """The first line of ``proc``'s output that matches ``pattern``; kills ``proc`` and fails without one."""
    assert proc.stdout is not None and proc.stderr is not None
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    proc.kill()
    raise AssertionError(f"no {pattern!r} in the output: {seen!r}; stderr: {proc.stderr.read()}")


def start_serve(
    data_dir: Path, env: dict[str, str], *, workers: int = 1
) -> tuple[subprocess.Popen[str], str]:
    """``serve --workers N`` on a free port (``env`` should set PYTHONUNBUFFERED=1); returns it and its
    host:port once it listens (within 30 s). One worker: the single process these tests were written for
    (the default from the core count would start a supervisor on a multi-core machine)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopctrl_desktop",
            "--data-dir",
            str(data_dir),
            "--listen",
            "127.0.0.1:0",
            "serve",
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        address = read_line(proc, r"listening on http://(\S+)", time.monotonic() + 30).group(1)
    except AssertionError:
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
        raise
    return proc, address


def import_one_trigger(data_dir: Path, url: str, env: dict[str, str] | None = None, **action: object) -> None:
    """Import a trigger "ERP" on OrderChanged with one Call Webhook action to ``url`` into ``data_dir`` (through
    the real command line, as a user would)."""
    import json

    data_dir.mkdir(parents=True, exist_ok=True)
    file = data_dir.parent / f"{data_dir.name}-triggers.json"
    document = {
        "version": 1,
        "triggers": [
            {
                "title": "ERP",
                "event": "OrderChanged",
                "actions": [{"type": "callWebhook", "url": url, **action}],
            }
        ],
    }
    file.write_text(json.dumps(document))
    done = cli(data_dir, "triggers", "import", str(file), env=env)
    assert done.returncode == 0, done.stderr
