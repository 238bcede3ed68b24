"""Warn before a Call Webhook action's client certificate runs out (SPEC §6: Warning alerts).

A client certificate that expires silently turns every delivery of that endpoint into a TLS failure. The
engine checks the stored certificates at start and every few hours; one that expires within
``WARN_DAYS`` raises a Warning alert (an Error once it has expired), at most once a week per certificate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from shopctrl_desktop.domain.model import AlertSeverity
from shopctrl_desktop.domain.tls import CertificateError, describe_certificate
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AlertRow, TriggerRow, WebhookActionRow, utcnow
from shopctrl_desktop.store.secrets import SecretBox, SecretKeyError

log = logging.getLogger(__name__)

WARN_DAYS = 14
REPEAT_AFTER = timedelta(days=7)
CHECK_INTERVAL_SECONDS = 6 * 3600.0


def check_certificates(
    db: Database, box: SecretBox, *, now: datetime | None = None, warn_days: int = WARN_DAYS
) -> list[tuple[int, str, str]]:
    """Raise the alerts that are due; returns (alert id, severity, title) of each new one."""
    now = now or utcnow()
    raised: list[tuple[int, str, str]] = []
    with db.session() as session:
        rows = session.execute(
            select(WebhookActionRow, TriggerRow.title)
            .join(TriggerRow, TriggerRow.id == WebhookActionRow.trigger_id)
            .where(WebhookActionRow.client_certificate_enc.is_not(None), TriggerRow.enabled.is_(True))
        ).all()
        for action, trigger_title in rows:
            try:
                pem = box.decrypt(action.client_certificate_enc)
                passphrase = box.decrypt(action.client_certificate_passphrase_enc)
                info = describe_certificate(pem or "", passphrase)
            except (SecretKeyError, CertificateError, ValueError):
                continue  # unusable configuration: delivery fails the item with an alert of its own
            left = info.not_after - now
            if left > timedelta(days=warn_days):
                continue
            expired = left <= timedelta(0)
            when = f"{info.not_after:%Y-%m-%d %H:%M} UTC"
            about = f"Client certificate of “{trigger_title}” "
            kind = "has expired" if expired else "expires in"
            title = about + (kind if expired else f"{kind} {max(left.days, 0)} day(s)")
            already = session.scalar(
                select(AlertRow.id).where(
                    AlertRow.trigger_id == action.trigger_id,
                    AlertRow.title.startswith(about + kind, autoescape=True),
                    AlertRow.created_at >= now - REPEAT_AFTER,
                )
            )
            if already is not None:
                continue  # said this week already
            severity = AlertSeverity.ERROR if expired else AlertSeverity.WARNING
            message = (
                f"The client certificate {info.subject} (issued by {info.issuer}) of the Call Webhook action "
                f"to {action.url} {'expired' if expired else 'expires'} on {when}. "
                "Import a renewed certificate in the trigger's Call Webhook editor (General tab)."
            )
            alert_id = create_alert(
                session, severity, title, message, trigger_id=action.trigger_id, created_at=now
            )
            raised.append((alert_id, severity.value, title))
    return raised


async def watch_certificates(
    db: Database,
    box: SecretBox,
    on_alert: Callable[[int, str, str], None],
    *,
    interval: float = CHECK_INTERVAL_SECONDS,
) -> None:
    """Check now and then every ``interval`` seconds until cancelled."""
    while True:
        try:
            for alert in await asyncio.to_thread(check_certificates, db, box):
                on_alert(*alert)
        except Exception:  # noqa: BLE001 - a failed check must not stop the engine
            log.exception("checking client certificates for expiry failed")
        await asyncio.sleep(interval)
