"""The engine warns before a client certificate runs out, once a week, and says when it has expired."""

from __future__ import annotations

from datetime import timedelta

import trustme
from sqlalchemy import select

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.domain.tls import describe_certificate
from shopctrl_desktop.engine.cert_watch import check_certificates
from shopctrl_desktop.store.models import AlertRow
from shopctrl_desktop.store.triggers import save_trigger


def _client_pem() -> str:
    ca = trustme.CA()
    cert = ca.issue_cert("client.erp.example")
    return cert.private_key_and_cert_chain_pem.bytes().decode()


def _save(db, box, title: str, pem: str | None, enabled: bool = True) -> None:
    action = WebhookAction(url="https://erp.example/hooks", client_certificate=pem)
    with db.session() as s:
        save_trigger(s, box, Trigger(title=title, event="OrderChanged", enabled=enabled, actions=(action,)))


def test_expiring_certificate_raises_one_warning_a_week_then_an_error_when_expired(db, box):
    pem = _client_pem()
    not_after = describe_certificate(pem).not_after
    _save(db, box, "ERP sync", pem)
    _save(db, box, "No certificate", None)
    _save(db, box, "Disabled trigger", pem, enabled=False)

    assert check_certificates(db, box, now=not_after - timedelta(days=30)) == []

    soon = not_after - timedelta(days=9, hours=1)
    raised = check_certificates(db, box, now=soon)
    assert [(sev, title) for _, sev, title in raised] == [
        ("warning", "Client certificate of “ERP sync” expires in 9 day(s)")
    ]
    with db.session() as s:
        alert = s.scalar(select(AlertRow))
        assert (
            describe_certificate(pem).subject in alert.message
            and "https://erp.example/hooks" in alert.message
        )
        assert "PRIVATE KEY" not in alert.message

    assert check_certificates(db, box, now=soon + timedelta(days=1)) == []  # once a week, not every check
    # alerts are created "now"; a week later the warning may be repeated
    expired = check_certificates(db, box, now=not_after + timedelta(hours=1))
    assert [(sev, title) for _, sev, title in expired] == [
        ("error", "Client certificate of “ERP sync” has expired")
    ]
    assert check_certificates(db, box, now=not_after + timedelta(hours=2)) == []


def test_a_broken_certificate_is_left_to_delivery(db, box):
    _save(db, box, "Broken", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert check_certificates(db, box) == []


async def test_the_engine_checks_at_start_and_reports_the_alert(db, box, app_paths):
    import asyncio

    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.engine.progress import NullObserver
    from shopctrl_desktop.engine.service import Engine
    from shopctrl_desktop.store.models import utcnow

    ca = trustme.CA()
    pem = ca.issue_cert("client.erp.example", not_after=utcnow() + timedelta(days=3, hours=1))
    _save(db, box, "ERP sync", pem.private_key_and_cert_chain_pem.bytes().decode())
    raised: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()

    class Observer(NullObserver):
        def alert_raised(self, alert_id: int, severity: str, title: str) -> None:
            raised.put_nowait((alert_id, severity, title))

    engine = Engine(db, box, Settings(), app_paths, Observer(), listen=False)
    await engine.start()
    try:
        _, severity, title = await asyncio.wait_for(raised.get(), 10)
    finally:
        await engine.stop(drain_timeout=1)
    assert (severity, title) == ("warning", "Client certificate of “ERP sync” expires in 3 day(s)")
