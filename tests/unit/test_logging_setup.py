"""Logging goes to a rotating file in the log dir, and secrets logged by mistake are redacted there."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

import pytest

from shopctrl_desktop.logging_setup import MASK, redact, setup_logging

PEM_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "c2VjcmV0LWtleS1ib2R5\n-----END PRIVATE KEY-----\n"
)


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_secret_logged_by_mistake_is_redacted_in_the_file(app_paths, restore_root_logging, capsys):
    log_file = setup_logging(app_paths)
    log = logging.getLogger("shopctrl_desktop.test")
    headers = {
        "Authorization": "Basic dXNlcjpodW50ZXIy",
        "X-SIGNATURE": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
        "X-Hub-Signature-256": "sha256=6c2d1e3f4a5b6c7d8e9f0a1b2c3d4e5f",
        "Content-Type": "application/json",
    }
    log.info("sending with headers %s", headers)
    log.warning("settings: password=hunter2 hmacSecret='s3cr3t-value' timeout=30")
    log.error("bad certificate %s", PEM_KEY)
    log.info(
        '{"password": "pw-in-json", "clientCertificatePassphrase": "pp-value", "url": "https://x.example"}'
    )
    log.info("Authorization: Bearer tok-abcdef123456")
    log.info("database postgresql://shop:dbpass99@db.example/shopctrl")
    try:
        raise ValueError("secret=in-a-traceback")
    except ValueError:
        log.exception("it failed")
    for handler in logging.getLogger().handlers:
        handler.flush()

    assert log_file.parent == app_paths.log_dir
    text = log_file.read_text("utf-8")
    for secret in (
        "dXNlcjpodW50ZXIy",
        "9f86d081884c7d65",
        "K5oZfzN95Z9UVu1E",
        "6c2d1e3f4a5b",
        "hunter2",
        "s3cr3t-value",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
        "c2VjcmV0LWtleS1ib2R5",
        "pw-in-json",
        "pp-value",
        "tok-abcdef123456",
        "dbpass99",
        "in-a-traceback",
    ):
        assert secret not in text, secret
    # what is not secret stays readable
    for visible in (
        "application/json",
        "timeout=30",
        "https://x.example",
        "db.example/shopctrl",
        "-----BEGIN PRIVATE KEY-----",
        "it failed",
        "ValueError",
    ):
        assert visible in text, visible
    assert MASK in text
    assert "hunter2" not in capsys.readouterr().err


def test_rotating_handler_and_second_setup_does_not_double(app_paths, restore_root_logging):
    setup_logging(app_paths)
    setup_logging(app_paths, verbose=True)
    files = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
    assert len(files) == 1
    assert files[0].maxBytes == 2 * 1024 * 1024 and files[0].backupCount == 5
    assert logging.getLogger().level == logging.DEBUG


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hmacSecret: null", "hmacSecret: null"),
        ("the secret.key file was created", "the secret.key file was created"),
        ("X-SIGNATURE=abc123", "X-SIGNATURE=***"),
        ("key whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "key whsec_***"),
        ("retrying in 90 s", "retrying in 90 s"),
    ],
)
def test_redact_examples(text, expected):
    assert redact(text) == expected


def test_redaction_stays_linear_on_hostile_input():
    """A logged response body must not stall logging: the patterns cannot backtrack catastrophically.

    (An earlier pattern took two minutes on the first of these inputs.)
    """
    import time

    hostile = [
        "password" * 20_000,
        "a." * 50_000,
        'authorization: "' * 10_000,
        'password="' * 10_000,
        "http://a" * 20_000,
        "-----BEGIN AAAA AAAA AAAA" * 5_000,
        "token" + " " * 100_000,
    ]
    started = time.perf_counter()
    for text in hostile:
        redact(text)
    assert time.perf_counter() - started < 3.0


def test_verbose_logs_hold_no_ciphertext_of_a_secret(app_paths, restore_root_logging, box):
    """With -v SQLAlchemy logs every statement; its values (among them the secrets' ciphertexts, which the
    key file beside the log decrypts) are never in the log — nor in an error's message."""
    from sqlalchemy import select

    from shopctrl_desktop.domain.model import Trigger, WebhookAction
    from shopctrl_desktop.store.db import Database
    from shopctrl_desktop.store.models import WebhookActionRow
    from shopctrl_desktop.store.triggers import save_trigger

    log_file = setup_logging(app_paths, verbose=True)
    db = Database(f"sqlite:///{app_paths.data_dir / 'verbose.sqlite3'}")
    with db.session() as s:
        action = WebhookAction(url="https://erp.example/hook", hmac_secret="plain-hmac-secret-1234")
        save_trigger(s, box, Trigger(title="ERP", event="OrderChanged", actions=(action,)))
    with db.session() as s:
        stored = s.scalar(select(WebhookActionRow.hmac_secret_enc))
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text("utf-8")
    assert "INSERT INTO" in text  # the statements are logged …
    assert stored and stored not in text and stored[:24] not in text  # … their values are not
    assert "plain-hmac-secret-1234" not in text
