"""The receiver snippets in docs/receivers.md verify the signatures domain/signing.py produces."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from shopctrl_desktop.domain.signing import generate_secret, sign

DOC = Path(__file__).resolve().parents[2] / "docs" / "receivers.md"
BODY = json.dumps({"Trigger": "OrderChanged", "TriggerActionId": 7, "entityData": {"OrderId": 1001}}).encode()


@pytest.fixture(scope="module")
def snippets() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), re.DOTALL)
    assert len(blocks) == 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


@pytest.mark.parametrize(
    ("scheme", "function"),
    [
        ("shopctrl", "verify_shopctrl"),
        ("standard-webhooks", "verify_standard_webhooks"),
        ("github", "verify_github"),
    ],
)
def test_snippet_accepts_real_signature_and_rejects_tampering(snippets, scheme, function):
    verify = snippets[function]
    secret = generate_secret(scheme)
    headers = sign(scheme, secret, BODY, "42", int(time.time()))
    assert verify(secret, BODY, headers)
    assert verify(
        secret, BODY, {k.upper(): v for k, v in headers.items()}
    )  # header names are case-insensitive
    assert not verify(secret, BODY + b" ", headers)
    assert not verify(generate_secret(scheme), BODY, headers)
    assert not verify(secret, BODY, {})


def test_standard_webhooks_snippet_rejects_old_timestamp(snippets):
    secret = generate_secret("standard-webhooks")
    headers = sign("standard-webhooks", secret, BODY, "42", int(time.time()) - 3600)
    assert not snippets["verify_standard_webhooks"](secret, BODY, headers)


def test_standard_webhooks_snippet_agrees_with_the_official_library(snippets):
    standardwebhooks = pytest.importorskip("standardwebhooks")
    secret = generate_secret("standard-webhooks")
    headers = sign("standard-webhooks", secret, BODY, "msg_1", int(time.time()))
    standardwebhooks.Webhook(secret).verify(BODY, headers)  # raises when wrong
    assert snippets["verify_standard_webhooks"](secret, BODY, headers)


async def test_minimal_receiver_snippet_over_http(snippets):
    runner = web.AppRunner(snippets["app"])
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/hooks/shopctrl"
    try:
        headers = {"Content-Type": "application/json", "X-ShopCtrl-Delivery": "5"}
        async with httpx.AsyncClient() as client:
            good = await client.post(
                url, content=BODY, headers=headers | sign("shopctrl", snippets["SECRET"], BODY, "5", 0)
            )
            bad = await client.post(url, content=BODY, headers=headers | {"X-SIGNATURE": "00" * 64})
        assert good.status_code == 204
        assert bad.status_code == 401
    finally:
        await runner.cleanup()
