"""Call Webhook editor: validation next to the fields, masked secrets, certificates, headers, preview, Send test."""

from __future__ import annotations

import datetime
import json

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from shopctrl_desktop.domain.model import SignatureScheme, Trigger
from shopctrl_desktop.gui.webhook.editor import TAB_GENERAL, TAB_HEADERS, TAB_PAYLOAD, WebhookEditorDialog
from shopctrl_desktop.gui.webhook.headers_tab import HeadersModel
from tests.gui.triggers_support import (  # noqa: F401
    OFFSCREEN_NOISE,
    Receiver,
    ctx,
    dialogs,
    full_action,
    receiver,
    store_event,
)

pytestmark = OFFSCREEN_NOISE
TRIGGER = Trigger(title="ERP order sync", event="OrderChanged")


def _editor(dialogs, ctx, action=None, trigger=TRIGGER) -> WebhookEditorDialog:  # noqa: F811
    return dialogs(WebhookEditorDialog(ctx, action, trigger))


def _client_pem() -> tuple[trustme.CA, trustme.LeafCert]:
    ca = trustme.CA()
    return ca, ca.issue_cert("erp-client@shop.example")


def test_bad_url_is_named_next_to_the_field_and_blocks_ok(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _editor(dialogs, ctx)
    qtbot.keyClicks(dialog.general_tab.url_edit, "ftp://erp.example/hook")
    assert dialog.general_tab.url_message.isVisible()
    assert "http:// or https://" in dialog.general_tab.url_message.text()
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert "URL (General)" in dialog.summary.text()
    assert dialog.tabs.currentIndex() == TAB_GENERAL and dialog.tabs.tabText(TAB_GENERAL).endswith("⚠")
    dialog.general_tab.url_edit.clear()
    qtbot.keyClicks(dialog.general_tab.url_edit, "https://erp.example/hook")
    assert not dialog.general_tab.url_message.isVisible()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert dialog.action().url == "https://erp.example/hook"


@pytest.mark.parametrize(
    "url", ["", "erp.example/hook", "https://", "https://erp example/x", "https://h:99999/"]
)
def test_urls_that_cannot_be_called_are_refused(qtbot, ctx, dialogs, url):  # noqa: F811
    dialog = _editor(dialogs, ctx)
    dialog.general_tab.url_edit.setText(url)
    assert dialog.problems() and dialog.general_tab.url_message.text()


def test_broken_json_template_marks_the_line_and_says_why(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _editor(dialogs, ctx, full_action(payload_body=""))
    dialog.tabs.setCurrentIndex(TAB_PAYLOAD)
    editor = dialog.payload_tab.editor
    with qtbot.waitSignal(dialog.payload_tab.validated, timeout=3000) as checked:
        qtbot.keyClicks(editor, '{"order": "$$Order.OrderCode$$",')
        qtbot.keyClick(editor, Qt.Key.Key_Return)  # keyClicks cannot type a line break
        qtbot.keyClicks(editor, '"total": }')
    assert checked.args == [False]
    message = dialog.payload_tab.message
    assert message.isVisible() and "JSON" in message.text() and "line 2" in message.text().lower()
    assert editor.error_line == 2
    assert editor.extraSelections()  # the line is painted
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "payload template (Payload)" in dialog.summary.text()
    with qtbot.waitSignal(dialog.payload_tab.validated, timeout=3000) as checked:
        editor.setPlainText('{"order": "$$Order.OrderCode$$",\n"total": {{ Order.TotalDue | json }}}')
    assert checked.args == [True]
    assert editor.error_line is None and not dialog.payload_tab.problems()


def test_without_a_stored_event_the_template_is_checked_against_the_events_sample(qtbot, ctx, dialogs):  # noqa: F811
    # the same sample `triggers import` checks against: a number may stand unquoted, a text may not
    dialog = _editor(dialogs, ctx, full_action(payload_body='{"id": $$Order.Id$$}'))
    with qtbot.waitSignal(dialog.sample_loaded, timeout=5000):
        pass
    tab = dialog.payload_tab
    assert not tab.problems(), tab.message.text()
    assert "sample OrderChanged event" in tab.message.text()
    tab.editor.setPlainText('{"id": $$Order.Id$$,\n "code": $$Order.OrderCode$$}')
    assert tab.problems() == ["payload template"]
    assert (
        "JSON" in tab.message.text() and "line 2" in tab.message.text().lower() and tab.editor.error_line == 2
    )
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "payload template (Payload)" in dialog.summary.text()


def test_template_syntax_error_names_the_template_line(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _editor(dialogs, ctx)
    dialog.payload_tab.editor.setPlainText('{\n  "a": 1,\n  "b": "{{ Order.OrderCode | }}"\n}')
    dialog.payload_tab.validate_now()
    assert dialog.payload_tab.editor.error_line == 3
    assert "line 3" in dialog.payload_tab.message.text().lower()


def test_a_runaway_template_is_refused_in_words_without_freezing_the_window(qtbot, ctx, dialogs):  # noqa: F811
    import time

    dialog = _editor(dialogs, ctx)
    dialog.payload_tab.mime_combo.setCurrentIndex(2)  # plain text: only the bound can refuse it
    dialog.payload_tab.editor.setPlainText("total\n{{ ('<a>' * 3000000)|striptags|length }}")
    started = time.monotonic()
    dialog.payload_tab.validate_now()  # was > 25 s in the GUI process; now the worker is stopped at 2 s
    assert time.monotonic() - started < 8  # the first check may wait for the worker to start
    assert "ran longer than 2 s" in dialog.payload_tab.message.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "payload template (Payload)" in dialog.summary.text()


def test_standard_webhooks_secret_must_be_whsec(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _editor(dialogs, ctx)
    general = dialog.general_tab
    qtbot.keyClicks(general.url_edit, "https://erp.example/hook")
    general.scheme_combo.setCurrentIndex(
        general.scheme_combo.findData(SignatureScheme.STANDARD_WEBHOOKS.value)
    )
    qtbot.keyClicks(general.secret_edit.edit, "plain-secret-123")
    assert general.secret_message.isVisible() and "whsec_" in general.secret_message.text()
    assert "plain-secret-123" not in general.secret_message.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "HMAC secret" in dialog.summary.text()
    qtbot.mouseClick(general.generate_button, Qt.MouseButton.LeftButton)
    assert general.secret_edit.text().startswith("whsec_")
    assert not general.secret_message.isVisible()
    assert general.secret_edit.edit.echoMode() == QLineEdit.EchoMode.Password  # generated, still masked
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert dialog.action().signature_scheme is SignatureScheme.STANDARD_WEBHOOKS


def test_secrets_are_masked_by_default_and_round_trip(qtbot, ctx, dialogs):  # noqa: F811
    _ca, leaf = _client_pem()
    pem = leaf.private_key_and_cert_chain_pem.bytes().decode()
    action = full_action(client_certificate=pem, client_certificate_passphrase=None, id=7)
    dialog = _editor(dialogs, ctx, action)
    general, auth = dialog.general_tab, dialog.auth_tab
    assert general.secret_edit.edit.echoMode() == QLineEdit.EchoMode.Password
    assert auth.password_edit.edit.echoMode() == QLineEdit.EchoMode.Password
    assert general.certificate_box.pem_edit.isHidden()  # the private key is not on screen
    assert "erp-client@shop.example" in general.certificate_box.info_label.text()
    qtbot.mouseClick(auth.password_edit.toggle, Qt.MouseButton.LeftButton)
    assert auth.password_edit.edit.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.action() == action and not dialog.is_dirty()
    assert dialog.headers_tab.model.headers() == {"X-Api-Version": "2", "X-Tenant": "shop-3"}


def test_pasted_certificate_shows_subject_and_expiry_or_the_error(qtbot, ctx, dialogs):  # noqa: F811
    _ca, leaf = _client_pem()
    box = _editor(dialogs, ctx).general_tab.certificate_box
    box.pem_edit.setPlainText(leaf.cert_chain_pems[0].bytes().decode())  # no key
    box.refresh_info()
    assert "private key" in box.message.text()
    box.pem_edit.setPlainText(leaf.private_key_and_cert_chain_pem.bytes().decode())
    box.refresh_info()
    assert not box.message.has_error()
    assert "erp-client@shop.example" in box.info_label.text() and "valid until" in box.info_label.text()
    assert not box.pem_edit.isHidden()  # what the user just pasted stays visible
    box.pem_edit.setPlainText("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----")
    box.refresh_info()
    assert box.message.has_error()


def test_pkcs12_import(qtbot, ctx, dialogs):  # noqa: F811
    _ca, leaf = _client_pem()
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    data = pkcs12.serialize_key_and_certificates(
        b"client", key, cert, None, serialization.BestAvailableEncryption(b"pw-123")
    )
    box = _editor(dialogs, ctx).general_tab.certificate_box
    assert box.import_pkcs12(data, "wrong") is False
    assert "password" in box.message.text().lower()
    assert box.import_pkcs12(data, "pw-123") is True
    assert "BEGIN CERTIFICATE" in box.pem() and "PRIVATE KEY" in box.pem()
    assert box.pem_edit.isHidden()
    assert str(cert.not_valid_after_utc.date()) in box.info_label.text()
    assert datetime.date.today().year <= cert.not_valid_after_utc.year


def test_headers_model_and_validation(qtbot, ctx, dialogs, qtmodeltester):  # noqa: F811
    model = HeadersModel()
    model.set_headers({"X-Api-Version": "2", "X-Tenant": "shop-3"})
    qtmodeltester.check(model)
    dialog = _editor(dialogs, ctx)
    dialog.tabs.setCurrentIndex(TAB_HEADERS)
    qtbot.mouseClick(dialog.headers_tab.add_button, Qt.MouseButton.LeftButton)
    headers = dialog.headers_tab.model
    headers.setData(headers.index(0, 0), "X Bad Name")
    headers.setData(headers.index(0, 1), "1")
    assert "not a valid header name" in dialog.headers_tab.message.text()
    headers.setData(headers.index(0, 0), "X-Good")
    assert not dialog.headers_tab.message.isVisible()
    assert dialog.action().headers == {"X-Good": "1"}


def test_preview_against_a_stored_event_then_send_test(qtbot, gui_loop, ctx, dialogs, receiver):  # noqa: F811
    event_id = store_event(ctx)
    action = full_action(url=receiver, client_certificate=None, hmac_secret="s3cr3t")
    dialog = _editor(dialogs, ctx, action)
    preview = dialog.show_preview()
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000) as rendered:
        pass
    request = rendered.args[0]
    assert json.loads(request.body) == {"order": "ORD-1001", "total": 149.95}
    assert preview.event_combo.currentText().startswith(f"#{event_id}")
    assert "ORD-1001" in preview.request_view.toPlainText()
    with qtbot.waitSignal(preview.test_finished, timeout=10000) as finished:
        qtbot.mouseClick(preview.send_button, Qt.MouseButton.LeftButton)
    result = finished.args[0]
    assert result.status_code == 200, result
    assert "HTTP 200" in preview.status_label.text() or "Delivered" in preview.status_label.text()
    assert '"ok": true' in preview.response_view.toPlainText()
    [(headers, body)] = Receiver.received
    assert json.loads(body) == {"order": "ORD-1001", "total": 149.95}
    assert headers.get("X-SIGNATURE") and headers.get("Authorization", "").startswith("Basic ")
    preview.close()


def test_preview_without_stored_events_uses_a_sample(qtbot, ctx, dialogs):  # noqa: F811
    dialog = _editor(dialogs, ctx, full_action(payload_body=""))
    preview = dialog.show_preview()
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000) as rendered:
        pass
    body = json.loads(rendered.args[0].body)
    assert body["Trigger"] == "OrderChanged" and body["entityData"] == {"OrderId": None, "OrderCode": None}
    assert "sample event" in preview.message.text()
    preview.close()


@pytest.mark.usefixtures("gui_loop")
def test_preview_says_why_a_payload_cannot_be_rendered_and_send_test_reports_refusal(qtbot, ctx, dialogs):  # noqa: F811
    store_event(ctx, {"Order": {"Id": 7, "OrderCode": "ORD-7"}})  # no TotalDue
    action = full_action(url="http://127.0.0.1:9/hook", payload_body='{"total": {{ Order.TotalDue }}}')
    dialog = _editor(dialogs, ctx, action)
    preview = dialog.show_preview()
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000) as rendered:
        pass
    assert isinstance(rendered.args[0], str) and "JSON" in rendered.args[0]
    assert "cannot be rendered" in preview.message.text() and not preview.send_button.isEnabled()
    preview.close()

    dialog.payload_tab.editor.setPlainText('{"total": {{ Order.TotalDue | json }}}')
    preview = dialog.show_preview()
    with qtbot.waitSignal(preview.preview_rendered, timeout=5000):
        pass
    assert '"total": null' in preview.request_view.toPlainText()
    with qtbot.waitSignal(preview.test_finished, timeout=15000) as finished:
        qtbot.mouseClick(preview.send_button, Qt.MouseButton.LeftButton)
    result = finished.args[0]
    assert result.status_code is None and result.error
    assert "Not delivered" in preview.status_label.text()
    preview.close()
