"""The demo's built-in sample receiver: a small aiohttp server on 127.0.0.1 that answers like real endpoints.

How a path answers is decided by a word in it, so any demo trigger URL works:

``.../fail...``   always ``500 Internal Server Error`` -> retries, then ``failed`` and an Error alert
``.../gone...``   ``410 Gone`` -> no retries, an alert at once
``.../flaky...``  ``503`` (with ``Retry-After: 1``) about half the time, else ``200`` -> visible retries
``.../slow...``   ``200`` after 1-2.5 s
anything else     ``200`` after a short random delay (50-600 ms)

When the demo tells it the HMAC secret of a URL, the receiver checks the signature and answers ``401`` when it
does not match (the receivers' snippets of docs/receivers.md, here through domain.signing.verify).
``GET /`` answers a JSON summary of what it received.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from shopctrl_desktop.domain.signing import verify

log = logging.getLogger(__name__)


@dataclass
class ReceiverStats:
    requests: Counter[str] = field(default_factory=Counter)  # by answer status, e.g. "200"
    paths: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0
    delivery_ids: set[str] = field(default_factory=set)


class SampleReceiver:
    """``await start()`` binds 127.0.0.1 on a free port (or ``port``); ``address`` is then host:port."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_range: tuple[float, float] = (0.05, 0.6),
        slow_range: tuple[float, float] = (1.0, 2.5),
        flaky_failure_rate: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.delay_range = delay_range
        self.slow_range = slow_range
        self.flaky_failure_rate = flaky_failure_rate
        self.stats = ReceiverStats()
        self._rng = rng or random.Random()
        self._secrets: dict[str, tuple[str, str]] = {}  # path -> (scheme, secret)
        self._runner: web.AppRunner | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    def expect_signature(self, path: str, scheme: str, secret: str) -> None:
        """Check requests to ``path`` against this secret (the demo passes its triggers' secrets)."""
        self._secrets[path] = (scheme, secret)

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/", self._summary)
        app.router.add_route("*", "/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # aiohttp keeps the bound sockets there
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("demo receiver listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _summary(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "answers": dict(self.stats.requests),
                "paths": dict(self.stats.paths),
                "badSignatures": self.stats.bad_signatures,
                "distinctDeliveries": len(self.stats.delivery_ids),
            }
        )

    def _answer(self, path: str) -> tuple[int, float, dict[str, str]]:
        lowered = path.lower()
        if "fail" in lowered:
            return 500, self._rng.uniform(*self.delay_range), {}
        if "gone" in lowered:
            return 410, self._rng.uniform(*self.delay_range), {}
        if "flaky" in lowered and self._rng.random() < self.flaky_failure_rate:
            return 503, self._rng.uniform(*self.delay_range), {"Retry-After": "1"}
        if "slow" in lowered:
            return 200, self._rng.uniform(*self.slow_range), {}
        return 200, self._rng.uniform(*self.delay_range), {}

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        self.stats.paths[path] += 1
        delivery = request.headers.get("X-ShopCtrl-Delivery")
        if delivery:
            self.stats.delivery_ids.add(delivery)
        expected = self._secrets.get(path)
        if expected is not None and not verify(expected[0], expected[1], body, dict(request.headers)):
            self.stats.bad_signatures += 1
            self.stats.requests["401"] += 1
            return web.json_response({"error": "signature does not match"}, status=401)
        status, delay, headers = self._answer(path)
        await asyncio.sleep(delay)  # a simulated slow endpoint; nothing waits on this but the request
        self.stats.requests[str(status)] += 1
        messages = {
            200: {"received": True, "delivery": delivery},
            410: {"error": "this endpoint was removed"},
            500: {"error": "internal error in the demo receiver (on purpose)"},
            503: {"error": "busy, try again"},
        }
        return web.json_response(messages.get(status, {}), status=status, headers=headers)
