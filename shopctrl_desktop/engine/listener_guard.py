"""The listener's bounds on its clients (issue 15: slowloris needs no token).

aiohttp's server has no limit on open connections and no header-read timeout of its own. Here:

- **Header-read timeout.** aiohttp closes a connection whose handler is idle (no complete request) when its
  keep-alive timeout passes — counted from the connection's start and from each answer, not from the bytes
  that trickle in. So ``keepalive_timeout = HEADER_TIMEOUT`` bounds how long a request's headers may take.
- **A cap on open connections below the fd limit**, with room kept for real clients: when the cap is reached,
  a connection that is not in the middle of a request is closed to make room — first the oldest that never
  completed a request (a slow sender still sending its headers), then an idle keep-alive one that never sent
  the token, last an idle one that did; only when every connection is busy with a request is the new one
  refused. A legitimate client sends its headers at once and its token, so a flood of slow connections only
  evicts itself.
- **Per peer**, for peers other than this machine: at most ``max_per_peer`` connections (all local clients
  share 127.0.0.1, so a per-peer cap there would cap the legitimate client too).
- Body-read deadlines are the listener's (``body_deadline``).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from collections import Counter, OrderedDict
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

#: Seconds a client has to send a request's headers (from its connection or its previous answer).
HEADER_TIMEOUT = 10.0
#: A body must arrive at this rate at least (after BODY_GRACE seconds).
BODY_MIN_BYTES_PER_SECOND = 64 * 1024
BODY_GRACE = 10.0
MAX_PER_PEER = 256
#: Connections asyncio accepts per turn of the event loop (its ``backlog`` argument doubles as that batch):
#: small, so a flood of new connections cannot starve the requests of the connections already open — with
#: 1,024 a kept-alive client waited 14 s under 20,000 slow connections, with 128 1.7 s (benchmarks/slowloris.py).
ACCEPTS_PER_TURN = 32
#: The kernel's queue of connections waiting to be accepted (set after asyncio's listen(): capped by
#: net.core.somaxconn): new clients queue there instead of having their connection attempts dropped.
KERNEL_BACKLOG = 1024


def default_max_connections() -> int:
    """Half the process's file descriptors (the rest: database, log, outgoing deliveries), 64 … 4,096."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ValueError, OSError):
        soft = 1024
    if soft == resource.RLIM_INFINITY:
        soft = 8192
    return max(64, min(4096, soft // 2))


def body_deadline(content_length: int | None, limit: int, grace: float = BODY_GRACE) -> float:
    """Seconds a body of ``content_length`` bytes (unknown: ``limit``) may take to arrive."""
    size = limit if content_length is None else min(content_length, limit)
    return grace + size / BODY_MIN_BYTES_PER_SECOND


class _Refused(asyncio.Protocol):
    """A connection accepted only to be closed: every open connection is busy with a request."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
                b"Content-Length: 0\r\n\r\n"
            )
        transport.close()


class _Guarded(asyncio.Protocol):
    """aiohttp's handler for one connection, with the guard's bookkeeping around it."""

    __slots__ = ("gone", "guard", "inner", "made", "peer")

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self.guard = guard
        self.inner = inner
        self.peer: str | None = None
        self.gone = False  # evicted (perhaps before its connection_made)
        self.made = False  # the inner handler has its connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.gone:
            transport.close()
            return
        self.made = True
        self.inner.connection_made(transport)
        self.guard.opened(self, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed(self)
        if self.made:
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()  # type: ignore[no-any-return]

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def close(self) -> None:
        self.gone = True
        self.inner.force_close()


class ConnectionGuard:
    """Counts the listener's connections, evicts idle ones at the cap, refuses only when all are busy."""

    def __init__(self, max_connections: int, max_per_peer: int = MAX_PER_PEER) -> None:
        self.max_connections = max_connections
        self.max_per_peer = max_per_peer
        self.server: web.Server | None = None
        self._open: OrderedDict[_Guarded, None] = OrderedDict()  # oldest first
        self._by_handler: dict[Any, _Guarded] = {}  # aiohttp's handler (request.protocol) -> its connection
        self._busy: set[_Guarded] = set()
        self._fresh: OrderedDict[_Guarded, None] = OrderedDict()  # no request completed yet, oldest first
        self._trusted: set[_Guarded] = set()
        self._per_peer: Counter[str] = Counter()
        self.evicted = 0
        self.refused = 0

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def factory(self) -> asyncio.Protocol:
        """The protocol for a connection just accepted (asyncio's ``create_server`` factory)."""
        assert self.server is not None
        if len(self._open) >= self.max_connections and not self._evict_one():
            self.refused += 1
            if self.refused in (1, 100, 10_000):
                log.warning(
                    "the listener has %d connections, all busy with a request: a new one was refused "
                    "(%d so far)",
                    len(self._open),
                    self.refused,
                )
            return _Refused()
        guarded = _Guarded(self, self.server())
        self._by_handler[guarded.inner] = guarded
        self._open[guarded] = None
        self._fresh[guarded] = None  # counted at once: several accepts come before their connection_made
        return guarded

    def _evict_one(self) -> bool:
        """Close the connection that matters least: one that never completed a request (a slow sender), else
        an idle one that never sent the token, else the oldest idle one; never one in a request."""
        victim = next(iter(self._fresh), None)
        if victim is None:
            idle = (c for c in self._open if c not in self._busy)
            victim = next((c for c in idle if c not in self._trusted), None)
        if victim is None:
            victim = next((c for c in self._open if c not in self._busy), None)
        if victim is None:
            return False
        self._forget(victim)
        victim.close()
        self.evicted += 1
        return True

    def trust(self, request: web.Request) -> None:
        """The request on this connection carried the right token: evict it only after every other."""
        guarded = self._by_handler.get(request.protocol)
        if guarded is not None and guarded in self._open:
            self._trusted.add(guarded)

    def opened(self, guarded: _Guarded, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) and peer else None
        if host is None or _is_local(host):
            return
        guarded.peer = host
        self._per_peer[host] += 1
        if self._per_peer[host] > self.max_per_peer:
            self.refused += 1
            self._forget(guarded)
            guarded.close()

    def closed(self, guarded: _Guarded) -> None:
        self._forget(guarded)

    def _forget(self, guarded: _Guarded) -> None:
        self._by_handler.pop(guarded.inner, None)
        self._fresh.pop(guarded, None)
        self._trusted.discard(guarded)
        if self._open.pop(guarded, False) is not False or guarded in self._busy:
            self._busy.discard(guarded)
            if guarded.peer is not None:
                self._per_peer[guarded.peer] -= 1
                if self._per_peer[guarded.peer] <= 0:
                    del self._per_peer[guarded.peer]
                guarded.peer = None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Marks the connection busy while a request (headers complete) is handled: never evicted then."""
        guarded = self._by_handler.get(request.protocol)
        if guarded is None or guarded not in self._open:
            return await handler(request)  # type: ignore[no-any-return]
        self._busy.add(guarded)
        self._fresh.pop(guarded, None)  # its headers arrived: not a slow sender
        try:
            return await handler(request)  # type: ignore[no-any-return]
        finally:
            self._busy.discard(guarded)


def _is_local(host: str) -> bool:
    return host in ("127.0.0.1", "::1") or host.startswith("127.") or host == "::ffff:127.0.0.1"


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections go through a :class:`ConnectionGuard`."""

    def __init__(
        self,
        runner: web.AppRunner,
        guard: ConnectionGuard,
        *args: Any,
        sock: socket.socket | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(runner, *args, **kwargs)
        self._guard = guard
        self._sock = (
            sock  # a socket bound elsewhere (serve's supervisor shares one with its intake processes)
        )

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        loop = asyncio.get_running_loop()
        self._guard.server = self._runner.server
        if self._sock is not None:
            self._server = await loop.create_server(
                self._guard.factory, sock=self._sock, ssl=self._ssl_context, backlog=ACCEPTS_PER_TURN
            )
        else:
            self._server = await loop.create_server(
                self._guard.factory,
                self._host,
                self._port,
                ssl=self._ssl_context,
                backlog=ACCEPTS_PER_TURN,
                reuse_address=self._reuse_address,
                reuse_port=self._reuse_port,
            )
        # asyncio listened with its accept batch; the kernel's queue stays long (listen() again only resizes it)
        for listening in self._server.sockets:  # asyncio's TransportSocket has no listen(): a dup of its fd
            with socket.fromfd(listening.fileno(), listening.family, listening.type) as same_socket:
                same_socket.listen(self._backlog)
