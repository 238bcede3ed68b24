"""A throwaway PostgreSQL cluster (unix socket only) for tests and benchmarks.

:func:`postgres_server` starts one and raises :class:`PostgresUnavailable` when the server binaries are
missing (the benchmarks say so and stop); :func:`throwaway_postgres` is the tests' form, which skips the test
instead. Tests run the server with ``fsync=off``; benchmarks with the server's defaults (``durable=True``).
"""

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

from shopctrl_desktop.store.db import Database


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (binaries missing, root without runuser)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PostgresCluster:
    base: Path  # holds the data dir, the log and the server's unix socket
    port: int
    password: str | None = None  # the superuser ``shop``'s password when the cluster asks for one
    options: str = ""  # the server's start options (port, socket directory, fsync)

    def stop(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected), as an administrator would."""
        _, pg_ctl, run_as = _server_commands()
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(self.base / "data"), "-m", "fast", "-w", "stop"],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Start it again on the same port and socket."""
        _, pg_ctl, run_as = _server_commands()
        subprocess.run(
            [
                *run_as,
                pg_ctl,
                "-D",
                str(self.base / "data"),
                "-o",
                self.options,
                "-l",
                str(self.base / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )

    @property
    def owner_login(self) -> str:
        return f"shop:{self.password}" if self.password else "shop"

    def _admin_dsn(self) -> str:
        admin = f"dbname=postgres user=shop host={self.base} port={self.port}"
        return admin + (f" password={self.password}" if self.password else "")

    def new_database_url(self) -> str:
        """A fresh, empty database in this cluster; its SQLAlchemy URL (no schema yet)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://{self.owner_login}@/{name}?host={self.base}&port={self.port}"

    def new_database(self) -> Database:
        """A fresh, empty database in this cluster."""
        return Database(self.new_database_url())

    def setting(self, name: str) -> str:
        """A server setting as the server reports it (``SHOW name``)."""
        import psycopg

        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            row = conn.execute(f"SHOW {name}").fetchone()
        return str(row[0]) if row else ""


def _server_commands() -> tuple[str, str, list[str]]:
    """initdb, pg_ctl and the prefix that runs them as a non-root user; PostgresUnavailable if missing."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not installed (initdb/pg_ctl not on PATH; on Debian they are in "
            "/usr/lib/postgresql/<version>/bin)"
        )
    if os.geteuid() != 0:
        return initdb, pg_ctl, []
    if not shutil.which("runuser"):  # the server refuses to run as root
        raise PostgresUnavailable("running as root without runuser")
    return initdb, pg_ctl, ["runuser", "-u", "nobody", "--"]


@contextmanager
def postgres_server(
    prefix: str = "shopctrl-pg-", *, durable: bool = False, password: str | None = None
) -> Iterator[PostgresCluster]:
    """Start a cluster (user ``shop``, trust auth; ``fsync=off`` unless ``durable``), stop and delete it
    afterwards. With ``password``: every login needs its password (scram-sha-256), the superuser ``shop``
    has this one."""
    initdb, pg_ctl, run_as = _server_commands()
    # not below pytest's tmp dir: that is private to root, and the server must not run as root
    base = Path(tempfile.mkdtemp(prefix=prefix))
    if run_as:
        shutil.chown(base, "nobody")
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
    options = f"-p {port} -k {base} -c listen_addresses=''" + ("" if durable else " -c fsync=off")
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresCluster(base, port, password, options)
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def throwaway_postgres(
    prefix: str = "shopctrl-pg-", *, password: str | None = None
) -> Iterator[PostgresCluster]:
    """:func:`postgres_server` for a test (``fsync=off``); the test is skipped where no server can start."""
    import pytest

    try:
        _server_commands()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    with postgres_server(prefix, password=password) as cluster:
        yield cluster
