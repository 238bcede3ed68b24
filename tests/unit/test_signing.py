"""Signature schemes checked with code that is not the project's (hashlib/hmac, the standardwebhooks package)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook

from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.domain.signing import generate_secret, sign, validate_secret, verify

BODY = '{"Trigger":"OrderChanged","entityData":{"OrderId":1001,"Name":"Jürgen"}}'.encode()


def test_shopctrl_is_lowercase_hex_hmac_sha512_of_the_raw_body():
    headers = sign(SignatureScheme.SHOPCTRL, "s3cret", BODY, "17", 1700000000)
    assert headers == {"X-SIGNATURE": hmac.new(b"s3cret", BODY, hashlib.sha512).hexdigest()}
    assert headers["X-SIGNATURE"] == headers["X-SIGNATURE"].lower()
    assert len(headers["X-SIGNATURE"]) == 128


def test_github_is_sha256_prefixed_hex():
    headers = sign("github", "gh-secret", BODY, "17", 1700000000)
    expected = "sha256=" + hmac.new(b"gh-secret", BODY, hashlib.sha256).hexdigest()
    assert headers == {"X-Hub-Signature-256": expected}


def test_standard_webhooks_verifies_with_the_reference_package():
    secret = generate_secret(SignatureScheme.STANDARD_WEBHOOKS)
    now = int(time.time())
    headers = sign(SignatureScheme.STANDARD_WEBHOOKS, secret, BODY, "4711", now)
    assert headers["webhook-id"] == "4711"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,")
    Webhook(secret).verify(BODY, headers)  # raises on mismatch


def test_standard_webhooks_by_hand():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    headers = sign("standard-webhooks", secret, BODY, "abc", 1234)
    mac = hmac.new(key, b"abc.1234." + BODY, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_a_changed_body_fails_verification():
    for scheme in SignatureScheme:
        secret = generate_secret(scheme)
        headers = sign(scheme, secret, BODY, "9", int(time.time()))
        assert verify(scheme, secret, BODY, headers)
        assert not verify(scheme, secret, BODY + b" ", headers)
        assert not verify(
            scheme,
            secret + "x" if scheme != SignatureScheme.STANDARD_WEBHOOKS else generate_secret(scheme),
            BODY,
            headers,
        )


def test_generated_secrets_validate():
    for scheme in SignatureScheme:
        validate_secret(scheme, generate_secret(scheme))
    assert generate_secret("standard-webhooks").startswith("whsec_")
    assert generate_secret("shopctrl") != generate_secret("shopctrl")


@pytest.mark.parametrize(
    ("scheme", "secret", "words"),
    [
        ("shopctrl", "", "empty"),
        ("github", " padded ", "spaces"),
        ("standard-webhooks", "plainsecret", "must start with 'whsec_'"),
        ("standard-webhooks", "whsec_not base64!", "not valid base64"),
        ("standard-webhooks", "whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
        ("nonsense", "x", "unknown signature scheme"),
    ],
)
def test_bad_secrets_are_rejected_with_a_clear_message(scheme, secret, words):
    with pytest.raises(ValueError, match=words) as info:
        validate_secret(scheme, secret)
    if secret.strip() and len(secret) > 3:
        assert secret.strip() not in str(info.value)  # the secret itself is never echoed
