"""A throwaway PostgreSQL cluster for tests (unix socket only), started when the server binaries are
installed; the test is skipped otherwise."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from shopctrl_desktop.store.db import Database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PostgresCluster:
    base: Path  # holds the data dir, the log and the server's unix socket
    port: int

    def new_database(self) -> Database:
        """A fresh, empty database in this cluster."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = f"dbname=postgres user=shop host={self.base} port={self.port}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return Database(f"postgresql+psycopg://shop@/{name}?host={self.base}&port={self.port}")


@contextmanager
def throwaway_postgres(prefix: str = "shopctrl-pg-") -> Iterator[PostgresCluster]:
    """Start a cluster (user ``shop``, trust auth, no fsync), stop and delete it afterwards."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed")
    # not below pytest's tmp dir: that is private to root, and the server must not run as root
    base = Path(tempfile.mkdtemp(prefix=prefix))
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        shutil.chown(base, "nobody")
        run_as = ["runuser", "-u", "nobody", "--"]
    data, port = base / "data", _free_port()
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "shop", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses='' -c fsync=off"
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresCluster(base, port)
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
