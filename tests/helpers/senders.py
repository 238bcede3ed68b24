"""A scripted ``Sender`` (engine/senders.py's protocol, implemented in memory): the delivery engine's logic
tested without sockets. Every request is recorded; answers come from a script; requests can be held."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.engine.senders import AiohttpSender, OutgoingRequest
from shopctrl_desktop.store.models import utcnow

#: ``script(request, n)`` answers the n-th request (0-based): a result, or an exception to raise.
Script = Callable[[OutgoingRequest, int], AttemptResult | BaseException]


def answer(status: int = 200, body: str = "ok") -> AttemptResult:
    return AttemptResult(
        started_at=utcnow(), duration_ms=1.0, status_code=status, response_headers={}, response_body=body
    )


def always_ok(_request: OutgoingRequest, _n: int) -> AttemptResult:
    return answer()


class ScriptedSender:
    def __init__(self, script: Script = always_ok) -> None:
        self.script = script
        self.requests: list[OutgoingRequest] = []
        self.held: dict[int, asyncio.Event] = {}  # request number -> released when set
        self.closed = False
        self._changed = asyncio.Condition()

    def hold(self, n: int) -> asyncio.Event:
        """The n-th request (0-based) waits until the returned event is set."""
        return self.held.setdefault(n, asyncio.Event())

    def delivery_ids(self) -> list[int]:
        return [int(r.headers["X-ShopCtrl-Delivery"]) for r in self.requests]

    async def send(self, request: OutgoingRequest) -> AttemptResult:
        n = len(self.requests)
        self.requests.append(request)
        async with self._changed:
            self._changed.notify_all()
        if n in self.held:
            await self.held[n].wait()
        outcome = self.script(request, n)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def close(self) -> None:
        self.closed = True

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[OutgoingRequest]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.requests) >= count), timeout)
        return self.requests


def record_closed_senders(monkeypatch) -> list[AiohttpSender]:  # type: ignore[no-untyped-def]
    """Every real AiohttpSender closed from now on in the test, in order (the close itself still runs)."""
    closed: list[AiohttpSender] = []
    real_close = AiohttpSender.close

    async def close(self: AiohttpSender) -> None:
        closed.append(self)
        await real_close(self)

    monkeypatch.setattr(AiohttpSender, "close", close)
    return closed
