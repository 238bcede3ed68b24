"""HTTPS deliveries against real TLS servers on 127.0.0.1 (trustme CAs), with and without client certificates."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopctrl_desktop.store.models import DeliveryAttemptRow
from tests.helpers.engine_harness import running_engine
from tests.helpers.factories import add_items, item_row, make_action
from tests.helpers.receivers import Receiver, tls_server


def first_error(db, item_id: int) -> str | None:
    with db.session() as s:
        return s.scalar(
            select(DeliveryAttemptRow.error)
            .where(DeliveryAttemptRow.item_id == item_id)
            .order_by(DeliveryAttemptRow.id)
        )


@pytest.fixture
async def https_receiver():
    material = tls_server()
    r = await Receiver(ssl_context=material.server_context).start()
    yield r, material
    await r.stop()


@pytest.fixture(params=["tls1.3", "tls1.2"])
async def mtls_receiver(request):
    material = tls_server(require_client_cert=True, tls12_only=request.param == "tls1.2")
    r = await Receiver(ssl_context=material.server_context).start()
    yield r, material
    await r.stop()


async def test_https_with_the_action_extra_ca(db, box, https_receiver):
    receiver, material = https_receiver
    action = make_action(db, box, receiver.url(), ca_certificate=material.ca_pem)
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "delivered"}
    assert len(receiver.requests) == 1


async def test_https_without_trusting_the_ca_fails_verification(db, box, https_receiver):
    receiver, _material = https_receiver
    action = make_action(db, box, receiver.url())
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    error = first_error(db, item_id)
    assert error.startswith("certificate verify failed: ") and "localhost" in error
    assert receiver.requests == []


async def test_client_certificate_is_accepted(db, box, mtls_receiver):
    receiver, material = mtls_receiver
    action = make_action(
        db, box, receiver.url(), ca_certificate=material.ca_pem, client_certificate=material.client_pem
    )
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "delivered"}
    (req,) = receiver.requests
    assert req.peer_cert is not None  # the server saw our certificate
    sans = [v for _k, v in req.peer_cert.get("subjectAltName", ())]
    assert "erp-client@shop.example" in sans


async def test_without_a_client_certificate_the_refusal_is_in_words(db, box, mtls_receiver):
    receiver, material = mtls_receiver
    action = make_action(db, box, receiver.url(), ca_certificate=material.ca_pem)
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        await observer.wait_until(lambda: observer.status.get(item_id) == "retrying")
    assert first_error(db, item_id) == "the server requires a client certificate (localhost)"
    assert receiver.requests == []


async def test_a_broken_client_certificate_fails_at_once_with_an_alert(db, box, mtls_receiver):
    receiver, material = mtls_receiver
    cert_only = material.client_pem.split("-----END EC PRIVATE KEY-----")[-1]
    action = make_action(
        db, box, receiver.url(), ca_certificate=material.ca_pem, client_certificate=cert_only
    )
    (item_id,) = add_items(db, action)
    async with running_engine(db, box) as (_engine, observer):
        assert await observer.wait_final([item_id]) == {item_id: "failed"}
        await observer.wait_until(lambda: len(observer.alerts) == 1)
    assert "no private key found" in item_row(db, item_id).response_message
    assert receiver.requests == []
