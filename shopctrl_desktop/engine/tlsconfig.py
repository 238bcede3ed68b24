"""``ssl.SSLContext`` per action TLS configuration (client certificate, extra CA), cached.

Server certificates are always verified against the system trust store; an action's extra CA bundle is
added on top. The client certificate and key go through a private temporary file (mode 0600, removed at
once) because ``load_cert_chain`` only reads files.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from collections import OrderedDict

from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.domain.tls import CertificateError, parse_ca_bundle, parse_client_certificate


def tls_key(action: WebhookAction) -> str | None:
    """A digest naming the action's TLS configuration, or None when it has none."""
    if not action.client_certificate and not action.ca_certificate:
        return None
    h = hashlib.sha256()
    for part in (action.client_certificate, action.client_certificate_passphrase, action.ca_certificate):
        h.update(b"\0" + (part or "").encode("utf-8"))
    return h.hexdigest()


def build_context(action: WebhookAction) -> ssl.SSLContext:
    """Raises CertificateError with a clear message when the configuration cannot be used."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if action.ca_certificate:
        parse_ca_bundle(action.ca_certificate)  # clear message for a bad paste
        try:
            context.load_verify_locations(cadata=action.ca_certificate)
        except ssl.SSLError as exc:
            raise CertificateError(f"the trusted CA cannot be loaded: {exc.reason or exc}") from None
    if action.client_certificate:
        parsed = parse_client_certificate(action.client_certificate, action.client_certificate_passphrase)
        if parsed.info.expired:
            raise CertificateError(f"the client certificate expired on {parsed.info.not_after:%Y-%m-%d}")
        fd, path = tempfile.mkstemp(prefix="shopctrl-client-", suffix=".pem")
        try:
            os.chmod(path, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(parsed.chain_pem)
                fh.write(parsed.key_pem)
            context.load_cert_chain(path)
        except ssl.SSLError as exc:
            raise CertificateError(f"the client certificate cannot be used: {exc.reason or exc}") from None
        finally:
            os.unlink(path)
    return context


class TLSContextCache:
    """Few distinct configurations exist; keep the most recent ones (connections are pooled per context)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._contexts: OrderedDict[str, ssl.SSLContext | CertificateError] = OrderedDict()

    def context_for(self, action: WebhookAction) -> ssl.SSLContext | None:
        key = tls_key(action)
        if key is None:
            return None
        cached = self._contexts.get(key)
        if cached is None:
            try:
                cached = build_context(action)
            except CertificateError as exc:
                cached = exc
            self._contexts[key] = cached
            while len(self._contexts) > self._size:
                self._contexts.popitem(last=False)
        else:
            self._contexts.move_to_end(key)
        if isinstance(cached, CertificateError):
            raise CertificateError(str(cached))
        return cached
