"""Parsing pasted client certificates, PKCS#12 files and extra CAs, with clear messages."""

from __future__ import annotations

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from shopctrl_desktop.domain.tls import (
    CertificateError,
    describe_certificate,
    parse_ca_bundle,
    parse_client_certificate,
    pkcs12_to_pem,
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def client(ca):
    return ca.issue_cert("erp-client@shop.example")


def _key(client):
    return serialization.load_pem_private_key(client.private_key_pem.bytes(), None)


def _cert_pem(client) -> str:
    return client.cert_chain_pems[0].bytes().decode()


def test_cert_and_key_parse_and_describe(client):
    pem = client.private_key_and_cert_chain_pem.bytes().decode()
    parsed = parse_client_certificate(pem)
    assert "erp-client@shop.example" in parsed.info.alt_names
    assert "erp-client@shop.example" in parsed.info.summary()
    assert parsed.info.has_private_key and not parsed.info.expired
    assert parsed.chain_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in parsed.key_pem
    assert "PRIVATE" not in repr(parsed)
    assert describe_certificate(pem).fingerprint_sha256 == parsed.info.fingerprint_sha256


def test_encrypted_key_needs_the_right_passphrase(client):
    enc = _key(client).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"open sesame"),
    )
    pem = _cert_pem(client) + enc.decode()
    assert parse_client_certificate(pem, "open sesame").info.has_private_key
    with pytest.raises(CertificateError, match="wrong passphrase"):
        parse_client_certificate(pem, "nope")
    with pytest.raises(CertificateError, match="encrypted; enter its passphrase"):
        parse_client_certificate(pem, None)


def test_mismatched_key_and_missing_parts(ca, client):
    other = ca.issue_cert("other.example")
    mixed = _cert_pem(client) + other.private_key_pem.bytes().decode()
    with pytest.raises(CertificateError, match="the private key does not match the certificate"):
        parse_client_certificate(mixed)
    with pytest.raises(CertificateError, match="no private key found"):
        parse_client_certificate(_cert_pem(client))
    with pytest.raises(CertificateError, match="no certificate found"):
        parse_client_certificate(client.private_key_pem.bytes().decode())
    with pytest.raises(CertificateError, match="no PEM blocks"):
        parse_client_certificate("hello")
    with pytest.raises(CertificateError, match="empty"):
        parse_client_certificate("  ")


def test_pkcs12_import_round_trip(client):
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes())
    blob = pkcs12.serialize_key_and_certificates(
        b"client", _key(client), cert, None, serialization.BestAvailableEncryption(b"p12pass")
    )
    pem = pkcs12_to_pem(blob, "p12pass")
    assert (
        parse_client_certificate(pem).info.fingerprint_sha256
        == describe_certificate(blob, "p12pass").fingerprint_sha256
    )
    with pytest.raises(CertificateError, match="wrong password"):
        pkcs12_to_pem(blob, "bad")
    with pytest.raises(CertificateError, match="PKCS#12"):
        pkcs12_to_pem(b"not a p12 at all", None)


def test_ca_bundle(ca, client):
    infos = parse_ca_bundle(ca.cert_pem.bytes().decode())
    assert len(infos) == 1
    with pytest.raises(CertificateError, match="private key"):
        parse_ca_bundle(client.private_key_and_cert_chain_pem.bytes().decode())
    with pytest.raises(CertificateError, match="no CA certificate"):
        parse_ca_bundle("")
