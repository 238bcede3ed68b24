"""Client certificates and extra CAs (SPEC 5.4): parse what a person pastes, explain what is wrong.

Pure parsing with ``cryptography``; building an ``ssl.SSLContext`` from the result happens in engine/.
Private keys and passphrases never appear in messages or reprs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.S)
_KEY_LABELS = {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"}


class CertificateError(ValueError):
    """The pasted certificate, key or CA cannot be used; the message says why in plain words."""


@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    serial_number: int
    fingerprint_sha256: str
    has_private_key: bool = False
    alt_names: tuple[str, ...] = ()  # subject alternative names (DNS, e-mail, IP, URI)

    @property
    def expired(self) -> bool:
        return self.not_after <= datetime.now(UTC)

    @property
    def days_left(self) -> int:
        return (self.not_after - datetime.now(UTC)).days

    def summary(self) -> str:
        state = "EXPIRED" if self.expired else f"valid until {self.not_after:%Y-%m-%d}"
        names = f" [{', '.join(self.alt_names[:3])}]" if self.alt_names else ""
        return f"{self.subject}{names} (issued by {self.issuer}; {state})"


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate chain and its unencrypted private key, ready for ``ssl.load_cert_chain``."""

    info: CertInfo
    chain_pem: str
    key_pem: str = field(repr=False)


def _pem_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(text)]


def _name(name: x509.Name) -> str:
    try:
        cn = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        if cn:
            value = cn[0].value
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - odd encodings fall back to the RFC 4514 string
        pass
    return name.rfc4514_string() or "(empty name)"


def _alt_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(getattr(n, "value", n)) for n in san)


def cert_info(cert: x509.Certificate, *, has_private_key: bool = False) -> CertInfo:
    return CertInfo(
        alt_names=_alt_names(cert),
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial_number=cert.serial_number,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        has_private_key=has_private_key,
    )


def _load_certs(blocks: list[tuple[str, str]]) -> list[x509.Certificate]:
    certs = []
    for label, block in blocks:
        if label in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
            try:
                certs.append(x509.load_pem_x509_certificate(block.replace("TRUSTED ", "").encode()))
            except ValueError as exc:
                raise CertificateError(f"a CERTIFICATE block cannot be read: {exc}") from None
    return certs


def _load_key(block: str, label: str, passphrase: str | None):  # type: ignore[no-untyped-def]
    encrypted = label == "ENCRYPTED PRIVATE KEY" or "Proc-Type: 4,ENCRYPTED" in block
    password = passphrase.encode("utf-8") if passphrase else None
    if encrypted and not password:
        raise CertificateError("the private key is encrypted; enter its passphrase")
    try:
        return serialization.load_pem_private_key(block.encode(), password=password if encrypted else None)
    except (ValueError, TypeError) as exc:
        if encrypted:
            raise CertificateError("wrong passphrase for the private key") from None
        raise CertificateError(f"the private key cannot be read: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - unsupported algorithms and similar
        raise CertificateError(f"the private key cannot be read: {type(exc).__name__}") from None


def _public_der(obj) -> bytes:  # type: ignore[no-untyped-def]
    return obj.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def parse_client_certificate(pem: str, passphrase: str | None = None) -> ClientCertificate:
    """Parse pasted PEM holding the certificate (plus optional chain) and its private key."""
    text = (pem or "").strip()
    if not text:
        raise CertificateError("the client certificate is empty")
    blocks = _pem_blocks(text)
    if not blocks:
        raise CertificateError(
            "no PEM blocks found; paste the certificate and the private key, each starting with "
            "'-----BEGIN ...-----' (or import a PKCS#12 file)"
        )
    certs = _load_certs(blocks)
    keys = [(label, block) for label, block in blocks if label in _KEY_LABELS]
    if not certs:
        raise CertificateError("no certificate found; paste the '-----BEGIN CERTIFICATE-----' block too")
    if not keys:
        raise CertificateError("no private key found; paste the '-----BEGIN PRIVATE KEY-----' block too")
    if len(keys) > 1:
        raise CertificateError("more than one private key found; paste only the key of this certificate")
    key = _load_key(keys[0][1], keys[0][0], passphrase)
    key_public = _public_der(key)
    leaf = next((c for c in certs if _public_der(c) == key_public), None)
    if leaf is None:
        raise CertificateError("the private key does not match the certificate")
    chain = [leaf] + [c for c in certs if c is not leaf]
    chain_pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return ClientCertificate(info=cert_info(leaf, has_private_key=True), chain_pem=chain_pem, key_pem=key_pem)


def pkcs12_to_pem(data: bytes, password: str | None = None) -> str:
    """A PKCS#12 (.p12/.pfx) file as PEM: certificate, chain, then the private key (unencrypted;
    the store encrypts it at rest)."""
    pwd = password.encode("utf-8") if password else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, pwd)
    except ValueError as exc:
        text = str(exc).lower()
        if "password" in text or "mac" in text or "decrypt" in text:
            raise CertificateError("wrong password for the PKCS#12 file") from None
        raise CertificateError(f"this is not a readable PKCS#12 (.p12/.pfx) file: {exc}") from None
    if cert is None:
        raise CertificateError("the PKCS#12 file holds no certificate")
    if key is None:
        raise CertificateError("no private key found in the PKCS#12 file")
    parts = [cert.public_bytes(serialization.Encoding.PEM)]
    parts += [c.public_bytes(serialization.Encoding.PEM) for c in extra or ()]
    parts.append(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return b"".join(parts).decode("ascii")


def describe_certificate(pem_or_p12: str | bytes, passphrase: str | None = None) -> CertInfo:
    """Subject, issuer and expiry of a pasted PEM (certificate + key) or of a PKCS#12 file's bytes.

    When a private key is present it is checked against the certificate (and the passphrase against the
    key); a PEM holding only certificates describes the first one.
    """
    if isinstance(pem_or_p12, bytes):
        if b"-----BEGIN" in pem_or_p12:
            pem_or_p12 = pem_or_p12.decode("utf-8", "replace")
        else:
            pem_or_p12 = pkcs12_to_pem(pem_or_p12, passphrase)
            passphrase = None
    blocks = _pem_blocks(pem_or_p12)
    if any(label in _KEY_LABELS for label, _ in blocks):
        return parse_client_certificate(pem_or_p12, passphrase).info
    certs = _load_certs(blocks)
    if not certs:
        raise CertificateError("no certificate found; paste a '-----BEGIN CERTIFICATE-----' block")
    return cert_info(certs[0])


def parse_ca_bundle(pem: str) -> list[CertInfo]:
    """Validate an extra CA bundle (one or more certificates); returns what it holds."""
    blocks = _pem_blocks((pem or "").strip())
    if any(label in _KEY_LABELS for label, _ in blocks):
        raise CertificateError("the trusted CA field holds a private key; paste only the CA certificate")
    certs = _load_certs(blocks)
    if not certs:
        raise CertificateError("no CA certificate found; paste a '-----BEGIN CERTIFICATE-----' block")
    return [cert_info(c) for c in certs]
