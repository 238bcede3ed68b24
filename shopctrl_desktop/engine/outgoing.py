"""The request exactly as it goes out for one attempt (SPEC 5.2 headers, 5.3 signature, 5.4 TLS)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from functools import lru_cache

from shopctrl_desktop import __version__
from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.domain.secret_rotation import signing_secrets
from shopctrl_desktop.domain.signing import sign
from shopctrl_desktop.engine.senders import OutgoingRequest
from shopctrl_desktop.engine.tlsconfig import TLSContextCache
from shopctrl_desktop.store.models import utcnow

USER_AGENT = f"ShopCtrl-Desktop/{__version__}"


def build_request(
    action: WebhookAction,
    method: str,
    url: str,
    headers: dict[str, str],
    body: str,
    delivery_id: str,
    attempt: int,
    tls: TLSContextCache,
    *,
    timestamp: int | None = None,
) -> OutgoingRequest:
    """The request as sent: stored headers (Content-Type, X-ShopCtrl-Trigger, custom) plus User-Agent,
    X-ShopCtrl-Delivery/-Attempt, basic auth and the signature over the exact body bytes. A custom
    User-Agent is kept; every other header added here replaces a stored one of the same name.

    Raises ValueError / CertificateError (a subclass) when the action's configuration cannot be used.
    """
    raw = body.encode("utf-8")
    added = {"X-ShopCtrl-Delivery": delivery_id, "X-ShopCtrl-Attempt": str(attempt)}
    if action.username:
        token = base64.b64encode(f"{action.username}:{action.password or ''}".encode()).decode("ascii")
        added["Authorization"] = f"Basic {token}"
    if action.hmac_secret:
        ts = int(time.time()) if timestamp is None else timestamp
        also: tuple[str, ...] = ()
        if action.previous_hmac_secret:  # a rotation's overlap: the rule decides (domain/secret_rotation.py)
            also = signing_secrets(action, datetime.fromtimestamp(ts, UTC))[1:]
        added.update(sign(action.signature_scheme, action.hmac_secret, raw, delivery_id, ts, also=also))
    keep, user_agent = _merge_plan(tuple(headers), tuple(added))
    out = {name: headers[name] for name in keep}
    if user_agent:
        out["User-Agent"] = USER_AGENT
    out.update(added)
    context = tls.context_for(action) if url[:6].lower() == "https:" else None
    return OutgoingRequest(
        method.upper(), url, out, raw, float(action.timeout_seconds), context, bool(action.client_certificate)
    )


@lru_cache(maxsize=256)
def _merge_plan(stored: tuple[str, ...], added: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """(stored header names, added header names) -> (stored names to keep, whether to add a User-Agent).
    Keyed by the names themselves, so it is right for any headers dict; the items of one action repeat
    the same pair on every request."""
    replaced = {name.lower() for name in added}
    keep = tuple(name for name in stored if name.lower() not in replaced)
    return keep, all(name.lower() != "user-agent" for name in keep)


def config_failure(message: str) -> AttemptResult:
    """An attempt that could not be made: the action's configuration is unusable (no retry)."""
    return AttemptResult(started_at=utcnow(), duration_ms=0.0, error=message, permanent=True)
