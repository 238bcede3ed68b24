"""Wake-ups from the intake processes to the delivery processes of ``serve --workers N``.

An intake process that committed new items sends one empty UDP datagram to each delivery process, on
127.0.0.1 (one datagram per commit group, not per item: the intake calls :meth:`WakeSender.wake` once
after each commit). The supervisor binds one socket per delivery slot and keeps it across restarts of that
process, so the intake processes' addresses never change and a datagram sent while the delivery process
restarts waits in the socket for the new one. A lost datagram costs nothing but time: the delivery
engine's poll (every 2 s) finds the items anyway. The same channel serves SQLite and PostgreSQL — every
process of one ``serve`` runs on this machine, and a datagram is cheaper and quicker than a NOTIFY round
trip through the server.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

WAKE_HOST = "127.0.0.1"


def bind_wake_socket() -> socket.socket:
    """A datagram socket on a free port of 127.0.0.1 (made by the supervisor, one per delivery slot)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((WAKE_HOST, 0))
    sock.setblocking(False)
    return sock


class WakeSender:
    """Sends a wake-up to every delivery process; never blocks, never raises."""

    def __init__(self, ports: Sequence[int]) -> None:
        self._addresses = [(WAKE_HOST, int(port)) for port in ports]
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def wake(self) -> None:
        for address in self._addresses:
            try:
                self._sock.sendto(b"w", address)
            except OSError:  # a full buffer: a wake-up is pending there already; the poll is the fallback
                log.debug("wake-up to %s not sent", address, exc_info=True)

    def close(self) -> None:
        self._sock.close()


class _WakeProtocol(asyncio.DatagramProtocol):
    def __init__(self, on_wake: Callable[[], None]) -> None:
        self._on_wake = on_wake

    def datagram_received(self, data: bytes, addr: object) -> None:
        self._on_wake()

    def error_received(self, exc: Exception) -> None:
        log.debug("wake socket error: %s", exc)


async def receive_wakes(sock: socket.socket, on_wake: Callable[[], None]) -> asyncio.BaseTransport:
    """Call ``on_wake`` on this loop for every datagram on ``sock``; close the returned transport to stop."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _WakeProtocol(on_wake), sock=sock)
    return transport
