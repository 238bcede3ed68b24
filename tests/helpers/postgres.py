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
    password: str | None = None  # the superuser ``shop``'s password when the cluster asks for one

    @property
    def owner_login(self) -> str:
        return f"shop:{self.password}" if self.password else "shop"

    def new_database(self) -> Database:
        """A fresh, empty database in this cluster."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = f"dbname=postgres user=shop host={self.base} port={self.port}"
        if self.password:
            admin += f" password={self.password}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return Database(f"postgresql+psycopg://{self.owner_login}@/{name}?host={self.base}&port={self.port}")


@contextmanager
def throwaway_postgres(
    prefix: str = "shopctrl-pg-", *, password: str | None = None
) -> Iterator[PostgresCluster]:
    """Start a cluster (user ``shop``, trust auth, no fsync), stop and delete it afterwards. With
    ``password``: every login needs its password (scram-sha-256), the superuser ``shop`` has this one."""
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
    auth = ["-A", "trust"]
    if password:
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        if run_as:
            shutil.chown(pwfile, "nobody")
        auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
    subprocess.run(
        [*run_as, initdb, "-D", str(data), *auth, "-U", "shop", "--no-sync"],
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
        yield PostgresCluster(base, port, password)
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
