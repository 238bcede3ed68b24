"""Real webhook receivers on 127.0.0.1 for delivery tests: plain HTTP, HTTPS with a trustme CA, and
HTTPS that requires a client certificate. Every request is recorded; answers are programmable."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import trustme
from aiohttp import web


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    peer_cert: dict | None = None
    request: web.Request | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), None)


Responder = Callable[[Received, int], Awaitable[web.StreamResponse] | web.StreamResponse]


async def _ok(_req: Received, _n: int) -> web.StreamResponse:
    return web.Response(status=200, text="ok")


@dataclass
class Receiver:
    """``responder(received, n)`` builds the answer for the n-th request (0-based); default 200 "ok"."""

    ssl_context: ssl.SSLContext | None = None
    responder: Responder = _ok
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    host: str = "127.0.0.1"  # any 127.x.y.z is this machine on Linux: distinct hosts for offline tests

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.release = asyncio.Event()  # hanging handlers wait on this

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context else "http"

    def url(self, path: str = "/hook") -> str:
        host = "localhost" if self.ssl_context else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    async def start(self) -> Receiver:
        self._loop = asyncio.get_running_loop()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        server = site._server  # noqa: SLF001 - the only way to learn the port chosen for 0
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def release_threadsafe(self) -> None:
        """Let hanging handlers answer, from any thread (the server may run on a thread of its own)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.release.set)

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        peer = transport.get_extra_info("peercert") if transport is not None else None
        received = Received(
            method=request.method,
            path=request.path_qs,
            headers=dict(request.headers),
            body=await request.read(),
            at=time.monotonic(),
            peer_cert=peer,
            request=request,
        )
        n = len(self.requests)
        self.requests.append(received)
        async with self._changed:
            self._changed.notify_all()
        answer = self.responder(received, n)
        if asyncio.iscoroutine(answer) or isinstance(answer, asyncio.Future):
            answer = await answer
        return answer  # type: ignore[return-value]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.requests) >= count), timeout)
        return self.requests


@contextmanager
def on_a_thread(receiver: Receiver) -> Iterator[Receiver]:
    """Serve ``receiver`` from its own thread and loop, for callers whose thread runs another loop (the GUI's
    qasync loop): the server never waits on the client's thread."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        try:
            await receiver.start()
        except BaseException as exc:  # noqa: BLE001 - reported on the caller's thread
            failure.append(exc)
            return
        finally:
            started.set()
        await stop.wait()
        await receiver.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10) and not failure, f"receiver did not start: {failure}"
    try:
        yield receiver
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


# ---------------------------------------------------------------------------- TLS
@dataclass
class TLSMaterial:
    ca: trustme.CA
    server_context: ssl.SSLContext
    client_ca: trustme.CA | None = None
    client_pem: str | None = None  # certificate + key, as pasted in the action editor

    @property
    def ca_pem(self) -> str:
        return self.ca.cert_pem.bytes().decode()


def tls_server(*, require_client_cert: bool = False, tls12_only: bool = False) -> TLSMaterial:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if tls12_only:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    material = TLSMaterial(ca=ca, server_context=context)
    if require_client_cert:
        client_ca = trustme.CA()
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
        client = client_ca.issue_cert("erp-client@shop.example")
        material.client_ca = client_ca
        material.client_pem = client.private_key_and_cert_chain_pem.bytes().decode()
    return material


# ---------------------------------------------------------------------------- canned answers
def status(code: int, text: str = "", headers: dict[str, str] | None = None) -> Responder:
    def respond(_req: Received, _n: int) -> web.StreamResponse:
        return web.Response(status=code, text=text, headers=headers)

    return respond


def sequence(*codes: int) -> Responder:
    """The n-th request gets ``codes[n]``; later ones the last code."""

    def respond(_req: Received, n: int) -> web.StreamResponse:
        return web.Response(status=codes[min(n, len(codes) - 1)], text=f"answer {n}")

    return respond


def hang(receiver: Receiver) -> Responder:
    async def respond(_req: Received, _n: int) -> web.StreamResponse:
        await receiver.release.wait()
        return web.Response(status=200, text="late")

    return respond


def reset_mid_response() -> Responder:
    """Headers promise 1000 bytes, a few arrive, then the connection is aborted."""

    async def respond(req: Received, _n: int) -> web.StreamResponse:
        assert req.request is not None
        response = web.StreamResponse(status=200, headers={"Content-Length": "1000"})
        await response.prepare(req.request)
        await response.write(b'{"partial": ')
        assert req.request.transport is not None
        req.request.transport.abort()
        return response

    return respond
