"""The three signature schemes of SPEC 5.3, computed over the exact bytes that are sent.

``shopctrl`` (default)  ``X-SIGNATURE``: lowercase hex HMAC-SHA512(secret as UTF-8, raw body)
``standard-webhooks``   ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``:
                        ``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, key = base64-decoded
                        secret after ``whsec_``; id = the delivery id
``github``              ``X-Hub-Signature-256``: ``sha256=<hex HMAC-SHA256(secret, body)>``

The ``verify_*`` helpers exist for receivers written in Python and for the demo receiver; the tests
check the signatures with independent code (hashlib/hmac and the ``standardwebhooks`` package).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets as _secrets
from functools import lru_cache
from typing import Any

from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.domain.stored_secret import is_stored_secret

WHSEC_PREFIX = "whsec_"
#: The Standard Webhooks specification asks for keys of 24 to 64 bytes.
WHSEC_MIN_BYTES = 24
WHSEC_MAX_BYTES = 64


def _scheme(scheme: SignatureScheme | str) -> SignatureScheme:
    try:
        return SignatureScheme(scheme)
    except ValueError:
        names = ", ".join(s.value for s in SignatureScheme)
        raise ValueError(f"unknown signature scheme {scheme!r}; use one of {names}") from None


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; raises ValueError with a message for a person."""
    validate_secret(SignatureScheme.STANDARD_WEBHOOKS, secret)
    return base64.b64decode(secret.strip()[len(WHSEC_PREFIX) :], validate=True)


try:  # the C object hmac.HMAC wraps; using it directly skips the Python wrapper on every request
    from _hashlib import hmac_new as _openssl_hmac
except ImportError:  # pragma: no cover - Python without OpenSSL's hashlib
    _openssl_hmac = None  # type: ignore[assignment]


def _new_hmac(key: bytes, digest: str) -> Any:
    if _openssl_hmac is not None:
        try:
            return _openssl_hmac(key, digestmod=digest)
        except (TypeError, ValueError):  # pragma: no cover - e.g. a digest this OpenSSL build refuses
            pass
    return hmac.new(key, digestmod=digest)


@lru_cache(maxsize=64)
def _keyed_proto(scheme: SignatureScheme, secret: str) -> Any:
    """The keyed HMAC for (scheme, secret); callers copy it per request: keying an HMAC costs more than
    signing a small body (OpenSSL looks the digest up and hashes the padded key twice)."""
    if scheme is SignatureScheme.STANDARD_WEBHOOKS:
        return _new_hmac(standard_webhooks_key(secret), "sha256")
    if scheme is SignatureScheme.GITHUB:
        return _new_hmac(secret.encode("utf-8"), "sha256")
    return _new_hmac(secret.encode("utf-8"), "sha512")


def sign(
    scheme: SignatureScheme | str,
    secret: str,
    body: bytes,
    delivery_id: str,
    timestamp: int,
    *,
    also: tuple[str, ...] = (),
) -> dict[str, str]:
    """The signature headers for one request. ``body`` must be the exact bytes put on the wire.

    ``also``: further secrets that sign too (a rotation's overlap, domain/secret_rotation.py); only Standard
    Webhooks carries several signatures (``v1,<new> v1,<old>``, space-separated); the other schemes ignore it.
    """
    chosen = scheme if isinstance(scheme, SignatureScheme) else _scheme(scheme)
    if is_stored_secret(secret) or any(is_stored_secret(s) for s in also):
        raise ValueError(
            "the HMAC secret is sealed for the engine key, which this workstation does not hold: it cannot sign "
            "here; send from the engine's workstation (or import its key with `shopctrl-desktop key import`)"
        )
    if also and chosen is SignatureScheme.STANDARD_WEBHOOKS:
        headers = sign(chosen, secret, body, delivery_id, timestamp)
        more = [sign(chosen, s, body, delivery_id, timestamp)["webhook-signature"] for s in also]
        headers["webhook-signature"] = " ".join([headers["webhook-signature"], *more])
        return headers
    mac = _keyed_proto(chosen, secret).copy()
    if chosen is SignatureScheme.SHOPCTRL:
        mac.update(body)
        return {"X-SIGNATURE": mac.hexdigest()}
    if chosen is SignatureScheme.GITHUB:
        mac.update(body)
        return {"X-Hub-Signature-256": f"sha256={mac.hexdigest()}"}
    ts = str(int(timestamp))
    mac.update(delivery_id.encode("utf-8") + b"." + ts.encode("ascii") + b"." + body)
    signature = base64.b64encode(mac.digest()).decode("ascii")
    return {"webhook-id": delivery_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{signature}"}


def generate_secret(scheme: SignatureScheme | str = SignatureScheme.SHOPCTRL) -> str:
    """A new random secret in the form the scheme expects (``whsec_`` + base64 for Standard Webhooks)."""
    if _scheme(scheme) is SignatureScheme.STANDARD_WEBHOOKS:
        return WHSEC_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")
    return _secrets.token_hex(32)


def validate_secret(scheme: SignatureScheme | str, secret: str | None) -> None:
    """Raise ValueError with a clear message when ``secret`` cannot be used with ``scheme``.

    The message never contains the secret itself.
    """
    chosen = _scheme(scheme)
    if secret is None or secret == "":
        raise ValueError("the HMAC secret is empty; enter one or click Generate")
    if is_stored_secret(secret):
        return  # stored (sealed) as it was entered: checked then

    if secret != secret.strip():
        raise ValueError("the HMAC secret starts or ends with spaces or line breaks; remove them")
    if chosen is not SignatureScheme.STANDARD_WEBHOOKS:
        return
    if not secret.startswith(WHSEC_PREFIX):
        raise ValueError(
            "a Standard Webhooks secret must start with 'whsec_' followed by base64 "
            "(e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw); click Generate to create one"
        )
    encoded = secret[len(WHSEC_PREFIX) :]
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "the part after 'whsec_' is not valid base64 (only A-Z, a-z, 0-9, '+', '/' and '=' padding)"
        ) from None
    if not WHSEC_MIN_BYTES <= len(key) <= WHSEC_MAX_BYTES:
        raise ValueError(
            f"a Standard Webhooks key must be {WHSEC_MIN_BYTES} to {WHSEC_MAX_BYTES} bytes "
            f"after base64 decoding; this one is {len(key)} bytes"
        )


def verify(scheme: SignatureScheme | str, secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """True when ``headers`` carry a valid signature of ``body`` (timestamps are not checked here)."""
    lower = {k.lower(): v for k, v in headers.items()}
    chosen = _scheme(scheme)
    if chosen is SignatureScheme.STANDARD_WEBHOOKS:
        delivery_id, ts = lower.get("webhook-id"), lower.get("webhook-timestamp")
        given = lower.get("webhook-signature", "")
        if not delivery_id or not ts or not ts.isdigit():
            return False
        expected = sign(chosen, secret, body, delivery_id, int(ts))["webhook-signature"]
        return any(hmac.compare_digest(expected, part) for part in given.split())
    expected_headers = sign(chosen, secret, body, "", 0)
    name, value = next(iter(expected_headers.items()))
    return hmac.compare_digest(value, lower.get(name.lower(), ""))
