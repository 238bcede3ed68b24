"""One attempt outside the queue (the GUI's Send test), against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64

import pytest

from shopctrl_desktop.domain.model import RenderedRequest, WebhookAction
from shopctrl_desktop.domain.signing import generate_secret
from shopctrl_desktop.engine.one_shot import send_once
from shopctrl_desktop.engine.senders import AiohttpSender
from tests.helpers.receivers import Receiver, hang, tls_server
from tests.helpers.senders import record_closed_senders


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
def closes(monkeypatch) -> list[AiohttpSender]:
    """Every AiohttpSender closed during the test, in order."""
    return record_closed_senders(monkeypatch)


def plain(url: str) -> RenderedRequest:
    return RenderedRequest("PUT", url, {"Content-Type": "text/plain; charset=utf-8"}, "hi")


async def test_send_once_for_the_gui(receiver, closes):
    secret = generate_secret("github")
    action = WebhookAction(
        url=receiver.url(), hmac_secret=secret, signature_scheme="github", username="u", password="p"
    )
    result = await send_once(action, plain(receiver.url("/test")), "test-1")
    assert result.ok and result.status_code == 200
    (req,) = receiver.requests
    assert req.method == "PUT" and req.path == "/test" and req.header("X-ShopCtrl-Delivery") == "test-1"
    assert req.header("X-ShopCtrl-Attempt") == "1"
    assert req.header("Authorization") == "Basic " + base64.b64encode(b"u:p").decode()
    assert req.header("X-Hub-Signature-256").startswith("sha256=")
    assert len(closes) == 1  # its own sender, closed after use


async def test_a_given_sender_is_used_and_left_open(receiver, closes):
    sender = AiohttpSender()
    try:
        first = await send_once(WebhookAction(url=receiver.url()), plain(receiver.url()), "t-1", sender)
        second = await send_once(WebhookAction(url=receiver.url()), plain(receiver.url()), "t-2", sender)
        assert first.ok and second.ok and closes == []
    finally:
        await sender.close()
    assert [r.header("X-ShopCtrl-Delivery") for r in receiver.requests] == ["t-1", "t-2"]


async def test_cancelled_while_waiting_closes_its_sender(receiver, closes):
    receiver.responder = hang(receiver)
    task = asyncio.ensure_future(send_once(WebhookAction(url=receiver.url()), plain(receiver.url()), "t"))
    await receiver.wait_for(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(closes) == 1


async def test_refused_connection_is_an_answer_in_words(closes):
    result = await send_once(
        WebhookAction(url="http://127.0.0.1:9/hook"), plain("http://127.0.0.1:9/hook"), "t"
    )
    assert result.status_code is None and result.error == "connection refused by 127.0.0.1:9"
    assert len(closes) == 1


async def test_unusable_certificate_is_an_outcome_not_an_exception(closes):
    action = WebhookAction(url="https://localhost:1/hook", client_certificate="not a certificate")
    result = await send_once(action, plain(action.url), "t")
    assert result.permanent and result.error.startswith("invalid configuration: ")
    assert closes == []  # nothing was sent


async def test_https_with_client_certificate_reuses_the_tls_context(monkeypatch):
    from shopctrl_desktop.engine import tlsconfig

    material = tls_server(require_client_cert=True)
    receiver = await Receiver(ssl_context=material.server_context).start()
    built: list[str | None] = []
    real_build = tlsconfig.build_context

    def build_context(action):  # type: ignore[no-untyped-def]
        built.append(action.client_certificate)
        return real_build(action)

    monkeypatch.setattr(tlsconfig, "build_context", build_context)
    try:
        action = WebhookAction(
            url=receiver.url(), ca_certificate=material.ca_pem, client_certificate=material.client_pem
        )
        results = [await send_once(action, plain(receiver.url()), f"t-{n}") for n in range(2)]
    finally:
        await receiver.stop()
    assert [r.status_code for r in results] == [200, 200], results
    assert built == [material.client_pem]  # built once, for the first send
    sans = [v for _k, v in receiver.requests[0].peer_cert.get("subjectAltName", ())]
    assert "erp-client@shop.example" in sans


async def test_an_untrusted_server_certificate_is_named():
    material = tls_server()
    receiver = await Receiver(ssl_context=material.server_context).start()
    try:
        result = await send_once(WebhookAction(url=receiver.url()), plain(receiver.url()), "t")
    finally:
        await receiver.stop()
    assert result.error.startswith("certificate verify failed: ") and "localhost" in result.error
    assert receiver.requests == []
