"""The request as it goes out (engine/outgoing.py): header merge rules and the signature over the exact
bytes, checked with hmac/hashlib — also across repeated calls, since the merge plan and the keyed HMAC
are cached."""

from __future__ import annotations

import base64
import hashlib
import hmac

from shopctrl_desktop import __version__
from shopctrl_desktop.domain.model import WebhookAction
from shopctrl_desktop.engine.outgoing import build_request
from shopctrl_desktop.engine.tlsconfig import TLSContextCache

SECRET = "s3cret-for-tests"


def _build(action, headers, body="{}", delivery_id="7", attempt=1):
    return build_request(action, "post", action.url, headers, body, delivery_id, attempt, TLSContextCache())


def test_stored_headers_are_kept_added_ones_replace_same_names_and_a_custom_user_agent_stays():
    action = WebhookAction(url="http://a.example/hook", hmac_secret=SECRET, username="shop", password="pw")
    stored = {
        "content-type": "application/json",
        "user-agent": "ShopIntegration/2",
        "x-signature": "stale",
        "AUTHORIZATION": "Bearer stale",
        "X-Custom": "1",
    }
    req = _build(action, stored, '{"a": 1}', "42", 3)
    assert req.method == "POST" and req.body == b'{"a": 1}'
    lower = {k.lower(): v for k, v in req.headers.items()}
    assert len(lower) == len(req.headers)  # no name twice in different case
    assert lower["user-agent"] == "ShopIntegration/2" and lower["x-custom"] == "1"
    assert lower["content-type"] == "application/json"
    assert lower["x-shopctrl-delivery"] == "42" and lower["x-shopctrl-attempt"] == "3"
    assert lower["authorization"] == "Basic " + base64.b64encode(b"shop:pw").decode()
    expected = hmac.new(SECRET.encode(), b'{"a": 1}', hashlib.sha512).hexdigest()
    assert lower["x-signature"] == expected
    assert stored["x-signature"] == "stale"  # the stored dict is never changed


def test_repeated_calls_use_the_current_values_and_sign_each_body():
    action = WebhookAction(url="http://a.example/hook", hmac_secret=SECRET)
    first = _build(action, {"Content-Type": "application/json", "X-Shop": "one"}, '{"n": 1}')
    second = _build(action, {"Content-Type": "application/json", "X-Shop": "two"}, '{"n": 2}')
    assert first.headers["X-Shop"] == "one" and second.headers["X-Shop"] == "two"
    assert second.headers["User-Agent"] == f"ShopCtrl-Desktop/{__version__}"
    for req, body in ((first, b'{"n": 1}'), (second, b'{"n": 2}')):
        assert req.headers["X-SIGNATURE"] == hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()
    github = WebhookAction(url="http://a.example/hook", hmac_secret=SECRET, signature_scheme="github")
    req = _build(github, {}, '{"n": 3}')
    digest = hmac.new(SECRET.encode(), b'{"n": 3}', hashlib.sha256).hexdigest()
    assert req.headers["X-Hub-Signature-256"] == f"sha256={digest}"
