"""One attempt outside the queue (the GUI's "Send test"): built and sent exactly as the delivery engine sends
an item's attempt — ``build_request`` (auth, signature, TLS context) and the same ``Sender`` — with nothing
claimed or recorded. A coroutine for whatever loop the caller runs (the GUI: its qasync loop)."""

from __future__ import annotations

import asyncio

from shopctrl_desktop.domain.model import RenderedRequest, WebhookAction
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.domain.tls import CertificateError
from shopctrl_desktop.engine.outgoing import build_request, config_failure
from shopctrl_desktop.engine.senders import AiohttpSender, OutgoingRequest, Sender
from shopctrl_desktop.engine.tlsconfig import TLSContextCache, tls_key

#: TLS contexts of the actions tried lately: a second Send test of the same action reuses its context.
_CONTEXTS = TLSContextCache(size=8)


async def send_once(
    action: WebhookAction,
    request: RenderedRequest,
    delivery_id: str,
    sender: Sender | None = None,
    *,
    tls: TLSContextCache | None = None,
) -> AttemptResult:
    """Send ``request`` once as ``action`` configures it (attempt 1) and return the outcome.

    An unusable configuration (certificate, URL) is an outcome too, not an exception. Without a ``sender``
    a fresh ``AiohttpSender`` is used and closed before returning (also when cancelled); a given one is
    left open for its owner.
    """
    try:
        outgoing = await _build(action, request, delivery_id, tls or _CONTEXTS)
    except (CertificateError, ValueError) as exc:
        return config_failure(f"invalid configuration: {exc}")
    if sender is not None:
        return await sender.send(outgoing)
    own = AiohttpSender()
    try:
        return await own.send(outgoing)
    finally:
        await own.close()


async def _build(
    action: WebhookAction, request: RenderedRequest, delivery_id: str, tls: TLSContextCache
) -> OutgoingRequest:
    def build() -> OutgoingRequest:
        return build_request(
            action, request.method, request.url, request.headers, request.body, delivery_id, 1, tls
        )

    if tls_key(action) is not None and request.url[:6].lower() == "https:":
        # Loading the trust store and a client certificate takes ~60 ms: not on the caller's loop thread,
        # which for the GUI is the thread that paints the window.
        return await asyncio.to_thread(build)
    return build()


__all__ = ["send_once"]
