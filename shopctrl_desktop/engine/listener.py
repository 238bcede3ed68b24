"""The local ingest listener (SPEC 2.3) on aiohttp.web, running on the engine's asyncio loop.

``POST /events`` (bearer token) takes one event or an array of up to 1,000 and answers ``202`` only after
the intake committed them; ``GET /health`` needs no token. Every error is a JSON body that names the
field and the array index.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import ipaddress
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientConnectionResetError, ClientPayloadError, web

from shopctrl_desktop import __version__
from shopctrl_desktop.config import Settings
from shopctrl_desktop.domain import strict_json
from shopctrl_desktop.domain.queue import QueueCounts
from shopctrl_desktop.engine.event_input import MAX_BATCH, parse_body
from shopctrl_desktop.engine.intake import IntakeBatcher, IntakeClosed, StoreFailed
from shopctrl_desktop.engine.listener_guard import (
    BODY_GRACE,
    BODY_MIN_BYTES_PER_SECOND,
    HEADER_TIMEOUT,
    KERNEL_BACKLOG,
    ConnectionGuard,
    GuardedSite,
    body_deadline,
    default_max_connections,
)
from shopctrl_desktop.engine.token import load_or_create_token, read_token
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.resources import resource_path

log = logging.getLogger(__name__)

_JSON_TYPES = ("application/json",)
_OPENAPI: bytes | None = None
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ListenerError(RuntimeError):
    """The listener cannot start (port taken, remote bind not allowed …); the message says why."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=_dumps(body).encode("utf-8", "backslashreplace"),
        content_type="application/json",
        headers=headers,
    )


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    headers = extra.pop("headers", None)
    return _json(status, {"error": code, "message": message, **extra}, headers)


class Listener:
    def __init__(
        self,
        intake: IntakeBatcher,
        paths: AppPaths,
        settings: Settings,
        *,
        counts: Callable[[], Awaitable[QueueCounts]] | None = None,
        offline: Callable[[], bool] | None = None,
        token: str | None = None,
        max_connections: int | None = None,
        header_timeout: float = HEADER_TIMEOUT,
        body_grace: float = BODY_GRACE,
        sock: socket.socket | None = None,
    ) -> None:
        self.intake = intake
        self._sock = (
            sock  # bound by serve's supervisor (bind_listening_socket), shared by its intake processes
        )
        self.paths = paths
        self.settings = settings
        self._counts = counts
        self._offline = offline  # deliveries paused: this workstation is offline (docs/endpoints.md)
        self._token = token
        self._token_checked = 0.0
        self._token_fixed = token is not None
        self.stopping = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.guard = ConnectionGuard(max_connections or default_max_connections())
        self._header_timeout = header_timeout
        self._body_grace = body_grace
        self.app = web.Application(
            client_max_size=settings.body_limit_bytes, middlewares=[self.guard.middleware]
        )
        for path, handler in (("/health", self._health), ("/openapi.yaml", self._openapi)):
            self.app.router.add_get(path, handler)  # (and HEAD)
            self.app.router.add_route("*", path, self._only_get)
        self.app.router.add_route("*", "/events", self._events)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.address = ""

    def add_catch_all(self) -> None:
        """JSON 404 for unknown paths (added last, after any extra routes)."""
        self.app.router.add_route("*", "/{tail:.*}", self._not_found)

    # --- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> str:
        host, port = self.settings.listen_host, self.settings.listen_port
        if self._sock is None:
            check_remote(self.settings)
        if self._token is None:
            self._token = load_or_create_token(self.paths)
            self._token_checked = time.monotonic()
        self.add_catch_all()
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=5.0,
            keepalive_timeout=self._header_timeout,  # the header-read timeout: listener_guard.py
        )
        await self._runner.setup()
        self._site = GuardedSite(
            self._runner, self.guard, host, port, backlog=KERNEL_BACKLOG, reuse_address=True, sock=self._sock
        )
        try:
            await self._site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ListenerError(_bind_failure(host, port, exc)) from exc
        server = self._site._server  # noqa: SLF001 - the only way to learn the port chosen for port 0
        sockname = server.sockets[0].getsockname() if server and server.sockets else (host, port)  # type: ignore[union-attr,attr-defined]
        shown = f"[{sockname[0]}]" if ":" in sockname[0] else sockname[0]
        self.address = f"{shown}:{sockname[1]}"
        log.info("listening for events on http://%s", self.address)
        return self.address

    async def stop_accepting(self) -> None:
        """Close the listening socket; requests on open connections now get 503."""
        self.stopping = True
        if self._site is not None:
            await self._site.stop()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every request in flight was answered; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        self.stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- auth ----------------------------------------------------------------------------------------
    def _current_token(self) -> str:
        now = time.monotonic()
        if not self._token_fixed and now - self._token_checked > 1.0:
            self._token_checked = now
            self._token = read_token(self.paths) or self._token
        assert self._token is not None
        return self._token

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return False
        return hmac.compare_digest(given.strip().encode(), self._current_token().encode())

    # --- handlers ------------------------------------------------------------------------------------
    async def _events(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return _error(405, "method_not_allowed", "use POST /events", headers={"Allow": "POST"})
        if self.stopping:
            return _error(
                503,
                "shutting_down",
                "the engine is shutting down; send again shortly",
                headers={"Retry-After": "5"},
            )
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._take_events(request)
        except (ConnectionResetError, ClientConnectionResetError, ClientPayloadError):
            # the client went away (or broke its body) before the events were read: nothing was stored, and
            # there is nobody to answer — one line, not a traceback
            log.info(
                "POST /events from %s: the client disconnected before its body was read; nothing stored",
                request.remote,
            )
            return _error(
                400, "incomplete_body", "the body ended before its announced length; nothing stored"
            )
        except Exception:  # noqa: BLE001 - a bug must not cost the client a clear answer
            log.exception("POST /events failed")
            return _error(
                500,
                "internal_error",
                "the engine failed while taking the events (see its log); "
                "send them again — an event with an id is never stored twice",
            )
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _take_events(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return _error(
                401,
                "unauthorized",
                "missing or wrong token: send 'Authorization: Bearer <token>' "
                "(shown in Settings and by 'shopctrl-desktop token')",
                headers={"WWW-Authenticate": 'Bearer realm="shopctrl-desktop"'},
            )
        self.guard.trust(request)
        ctype = request.content_type
        if ctype not in _JSON_TYPES and not ctype.endswith("+json"):
            return _error(
                415,
                "unsupported_media_type",
                f"the body must be JSON sent with 'Content-Type: application/json' (got {ctype!r})",
            )
        limit = self.settings.body_limit_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._too_large(request.content_length)
        deadline = body_deadline(request.content_length, limit, self._body_grace)
        try:
            if request.content.is_eof():  # the whole body arrived with the headers: nothing to wait for
                raw = await request.read()
            else:  # (wait_for costs a task and a timer per request)
                raw = await asyncio.wait_for(request.read(), deadline)
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(None)
        except TimeoutError:
            log.info(
                "POST /events from %s: the body did not arrive within %.0f s; nothing stored",
                request.remote,
                deadline,
            )
            answer = _error(
                408,
                "body_timeout",
                f"the body did not arrive within {deadline:.0f} s (at least "
                f"{BODY_MIN_BYTES_PER_SECOND // 1024} KiB/s after {self._body_grace:.0f} s); nothing was stored",
            )
            answer.force_close()  # no keep-alive for a client this slow
            return answer
        try:
            decoded = strict_json.loads(raw)
        except UnicodeDecodeError:
            return _error(400, "malformed_json", "the body is not valid UTF-8 JSON", field=None, index=None)
        except RecursionError:
            return _error(400, "malformed_json", "the JSON is nested too deeply", field=None, index=None)
        except json.JSONDecodeError as exc:
            return _error(
                400,
                "malformed_json",
                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                field=None,
                index=None,
            )
        outcome = parse_body(decoded.value, suspicious=decoded.suspicious)
        if outcome.status == 413:
            return _error(
                413,
                "too_many_events",
                f"a request holds at most {MAX_BATCH:,} events; this one has {outcome.too_many:,} — "
                "split it into several requests",
                limit=MAX_BATCH,
            )
        if outcome.problems:
            first = outcome.problems[0]
            code = "unknown_event" if outcome.status == 422 else "bad_request"
            extra: dict[str, Any] = {"field": first.field, "index": first.index}
            if outcome.status == 422:
                extra["closest"] = list(first.closest)
            return _error(
                outcome.status,
                code,
                first.message + " (nothing was stored)",
                **extra,
                errors=[p.to_json() for p in outcome.problems],
            )
        try:
            result = await self.intake.submit(outcome.events)
        except IntakeClosed:
            return _error(
                503,
                "shutting_down",
                "the engine is shutting down; send again shortly",
                headers={"Retry-After": "5"},
            )
        except StoreFailed as exc:
            return _error(
                503, "store_failed", f"{exc}; nothing was stored, send again", headers={"Retry-After": "5"}
            )
        return web.Response(status=202, body=result.json_body(), content_type="application/json")

    def _too_large(self, size: int | None) -> web.Response:
        limit = self.settings.body_limit_bytes
        got = f" (got {size:,} bytes)" if size is not None else ""
        return _error(
            413,
            "body_too_large",
            f"the body is over the limit of {limit:,} bytes{got}; send fewer events per request",
            limit=limit,
        )

    async def _health(self, request: web.Request) -> web.StreamResponse:
        queue: dict[str, int] | None = None
        if self._counts is not None:
            try:
                counts = await self._counts()
                queue = {
                    "queued": counts.queued,
                    "retrying": counts.retrying,
                    "failed": counts.failed,
                    "sending": counts.sending,
                }
            except Exception as exc:  # noqa: BLE001 - health must answer even when the database is trouble
                log.warning("health: queue counts unavailable: %s", exc)
        body: dict[str, object] = {
            "status": "stopping" if self.stopping else "ok",
            "version": __version__,
            "queue": queue,
        }
        if self._offline is not None:
            body["offline"] = self._offline()
        return _json(503 if self.stopping else 200, body)

    async def _only_get(self, request: web.Request) -> web.StreamResponse:
        return _error(405, "method_not_allowed", f"use GET {request.path}", headers={"Allow": "GET, HEAD"})

    async def _openapi(self, request: web.Request) -> web.StreamResponse:
        """The intake's OpenAPI document (resources/openapi/ingest.yaml; docs/ingest-openapi.yaml)."""
        global _OPENAPI
        if _OPENAPI is None:
            _OPENAPI = resource_path("openapi", "ingest.yaml").read_bytes()
        return web.Response(body=_OPENAPI, content_type="application/yaml")

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _error(404, "not_found", f"no such endpoint {request.path!r}; use POST /events or GET /health")


def check_remote(settings: Settings) -> None:
    """Refuse a non-loopback address unless allow_remote is on; warn when it is."""
    host, port = settings.listen_host, settings.listen_port
    if is_loopback(host):
        return
    if not settings.allow_remote:
        raise ListenerError(
            f"listening on {host}:{port} would accept events from other machines; switch on "
            "'allow remote connections' in Settings (allow_remote) to do that on purpose"
        )
    log.warning("the listener binds to %s:%s, reachable from other machines (token required)", host, port)


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    reason = (
        "the port is already in use (is another ShopCtrl Desktop running?)"
        if exc.errno == errno.EADDRINUSE
        else exc
    )
    return f"cannot listen on {host}:{port}: {reason}"


def bind_listening_socket(settings: Settings) -> socket.socket:
    """The listening socket ``serve --workers N`` binds once and hands to each intake process: one port,
    the "port in use" check as for a single process, and connections waiting in its backlog survive the
    restart of an intake process. Raises ListenerError."""
    check_remote(settings)
    host, port = settings.listen_host, settings.listen_port
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ListenerError(_bind_failure(host, port, exc)) from exc
    try:
        if hasattr(socket, "SO_REUSEADDR") and os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise ListenerError(_bind_failure(host, port, exc)) from exc
    sock.setblocking(False)
    return sock
