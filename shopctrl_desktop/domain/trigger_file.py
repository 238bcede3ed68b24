"""The trigger import/export file (SPEC 3.3): Trigger <-> camelCase JSON, and validation of a whole file.

``parse_document`` validates everything first and raises :class:`TriggerFileError` listing every problem as
``trigger "<title>" (triggers[i]) actions[j].<field>: <what is wrong>``; nothing is returned half-parsed.
Given the sample event of each event type, every payload template is also rendered for its trigger's sample
exactly as delivery would render it, so a template whose output is not well-formed JSON or XML (an unquoted
``$$Order.OrderCode$$``) is refused at import with its line and column, not found at delivery.
Secrets are ``None`` in an export unless asked for; on import ``None`` means "keep the stored secret".
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from shopctrl_desktop.domain.conditions import normalize_condition
from shopctrl_desktop.domain.events import closest_event_names, find_event
from shopctrl_desktop.domain.model import (
    HTTP_METHODS,
    MimeType,
    Priority,
    SignatureScheme,
    StoredEvent,
    Trigger,
    WebhookAction,
)
from shopctrl_desktop.domain.signing import validate_secret
from shopctrl_desktop.domain.templates.errors import RenderError

FILE_VERSION = 1
SECRET_FIELDS = ("hmacSecret", "clientCertificate", "clientCertificatePassphrase", "password")
_SECRET_ATTRS = {
    "hmacSecret": "hmac_secret",
    "clientCertificate": "client_certificate",
    "clientCertificatePassphrase": "client_certificate_passphrase",
    "password": "password",
}


class TriggerFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"the trigger file has {len(problems)} problem(s); nothing was imported:\n{shown}{more}"
        )


# --- export ------------------------------------------------------------------------------------------
def action_to_json(action: WebhookAction, *, include_secrets: bool) -> dict[str, Any]:
    def secret(value: str | None) -> str | None:
        return value if include_secrets else None

    return {
        "type": "callWebhook",
        "url": action.url,
        "method": action.method,
        "priority": Priority(action.priority).json_name,
        "uniqueQueueItems": action.unique_queue_items,
        "hmacSecret": secret(action.hmac_secret),
        "signatureScheme": SignatureScheme(action.signature_scheme).value,
        "clientCertificate": secret(action.client_certificate),
        "clientCertificatePassphrase": secret(action.client_certificate_passphrase),
        "caCertificate": action.ca_certificate,
        "timeoutSeconds": _number(action.timeout_seconds),
        "username": action.username,
        "password": secret(action.password),
        "headers": dict(action.headers),
        "payloadMimeType": MimeType(action.payload_mime_type).value,
        "payloadBody": action.payload_body,
    }


def trigger_to_json(trigger: Trigger, *, include_secrets: bool = False) -> dict[str, Any]:
    return {
        "title": trigger.title,
        "event": trigger.event,
        "shopId": trigger.shop_id,
        "enabled": trigger.enabled,
        "condition": trigger.condition,
        "actions": [action_to_json(a, include_secrets=include_secrets) for a in trigger.actions],
    }


def export_document(triggers: list[Trigger], *, include_secrets: bool = False) -> dict[str, Any]:
    return {
        "version": FILE_VERSION,
        "triggers": [trigger_to_json(t, include_secrets=include_secrets) for t in triggers],
    }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# --- import ------------------------------------------------------------------------------------------
def parse_document(document: Any) -> list[Trigger]:
    """Validated triggers of an import file. Secrets given as ``null`` come back as ``None``. Templates are
    not rendered here: the import renders them in a bounded worker (engine/render_pool.py
    ``check_templates``) and words each failure with :func:`template_problem`."""
    if not isinstance(document, dict):
        raise TriggerFileError(['the file must hold a JSON object {"version": 1, "triggers": [...]}'])
    problems: list[str] = []
    version = document.get("version", FILE_VERSION)
    if version != FILE_VERSION:
        problems.append(f"version: this ShopCtrl Desktop reads version {FILE_VERSION} files, not {version!r}")
    raw_triggers = document.get("triggers")
    if not isinstance(raw_triggers, list):
        raise TriggerFileError([*problems, "triggers: must be a list of triggers"])
    triggers: list[Trigger] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_triggers):
        trigger = _parse_trigger(raw, i, problems)
        if trigger is None:
            continue
        if trigger.title in seen:
            problems.append(
                f"{_label(trigger.title, i)} title: the same title as triggers[{seen[trigger.title]}]"
            )
        seen[trigger.title] = i
        triggers.append(trigger)
    if problems:
        raise TriggerFileError(problems)
    return triggers


_MOVES_LINES_RE = re.compile(r"RangeStart:|\{%")


def _template_line(body: str, error: RenderError) -> int | None:
    """The template line an error points at: its own line, or for an output that is not well formed the
    same line of the template when no loop or condition above it can have moved it."""
    if error.lineno is None or error.where == "template":
        return error.lineno
    first = _MOVES_LINES_RE.search(body)
    if first is not None and body.count("\n", 0, first.start()) + 1 <= error.lineno:
        return None
    return error.lineno if error.lineno <= body.count("\n") + 1 else None


def template_problem(
    trigger: Trigger, index: int, number: int, error: RenderError, sample: StoredEvent | None
) -> str:
    """One template's failure in words, naming the trigger, the action, the template line (when it can be
    told) and the sample it was rendered with; a JSON output gets a hint about quoting."""
    action = trigger.actions[number]
    where = f"{_label(trigger.title, index)} actions[{number}].payloadBody"
    line = _template_line(action.payload_body, error)
    if line is not None and line <= len(action.payload_body.splitlines()):
        text = action.payload_body.splitlines()[line - 1].strip()
        where += f", template line {line} ({text[:80]!r})"
    hint = ""
    if error.where == "output" and MimeType(action.payload_mime_type) is MimeType.JSON:
        hint = '; put text values in quotes ("$$Order.OrderCode$$") or use the json filter'
    rendered = ""
    if sample is not None:
        event_type = find_event(sample.event)
        rendered = (
            f' (rendered with the sample "{event_type.display_name if event_type else sample.event}" event)'
        )
    return f"{where}: {error}{rendered}{hint}"


def _label(title: Any, index: int) -> str:
    if isinstance(title, str) and title.strip():
        return f"trigger {title.strip()!r} (triggers[{index}])"
    return f"triggers[{index}]"


def _parse_trigger(raw: Any, index: int, problems: list[str]) -> Trigger | None:
    if not isinstance(raw, dict):
        problems.append(f"triggers[{index}]: must be an object")
        return None
    label = _label(raw.get("title"), index)
    before = len(problems)

    def bad(name: str, message: str) -> None:
        problems.append(f"{label} {name}: {message}")

    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        bad("title", "is missing or empty")
    elif len(title.strip()) > 300:
        bad("title", "is longer than 300 characters")
    event_name = raw.get("event")
    event_system_name = ""
    if not isinstance(event_name, str) or not event_name.strip():
        bad("event", 'is missing (an event system name such as "OrderChanged")')
    else:
        found = find_event(event_name)
        if found is None:
            closest = closest_event_names(event_name)
            hint = f"; did you mean {', '.join(closest)}?" if closest else ""
            bad("event", f"unknown event {event_name!r}{hint}")
        else:
            event_system_name = found.system_name
    shop_id = raw.get("shopId")
    if shop_id is not None and (isinstance(shop_id, bool) or not isinstance(shop_id, int)):
        bad("shopId", "must be a whole number (one shop) or null (all shops)")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        bad("enabled", "must be true or false")
    condition = raw.get("condition")
    if condition is not None:
        try:
            condition = normalize_condition(condition)
        except ValueError as exc:
            bad("condition", str(exc))
    raw_actions = raw.get("actions", [])
    actions: list[WebhookAction] = []
    if not isinstance(raw_actions, list):
        bad("actions", "must be a list")
    else:
        for j, raw_action in enumerate(raw_actions):
            action = _parse_action(raw_action, f"{label} actions[{j}]", problems)
            if action is not None:
                actions.append(action)
    if len(problems) > before:
        return None
    return Trigger(
        title=str(title).strip(),
        event=event_system_name,
        shop_id=shop_id,
        enabled=bool(enabled),
        condition=condition,
        actions=tuple(actions),
    )


def _parse_action(raw: Any, where: str, problems: list[str]) -> WebhookAction | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object")
        return None
    before = len(problems)

    def bad(name: str, message: str) -> None:
        problems.append(f"{where}.{name}: {message}")

    def text(name: str, *, required: bool = False) -> str | None:
        value = raw.get(name)
        if value is None or (value == "" and not required):
            if required:
                bad(name, "is missing")
            return None
        if not isinstance(value, str):
            bad(name, "must be a text or null")
            return None
        return value

    kind = raw.get("type", "callWebhook")
    if kind != "callWebhook":
        bad("type", f"unknown action type {kind!r}; this version has callWebhook")
    url = text("url", required=True) or ""
    if url:
        url_problem = url_error(url)
        if url_problem:
            bad("url", url_problem)
    method = str(raw.get("method") or "POST")
    if method.upper() not in HTTP_METHODS:
        bad("method", f"must be one of {', '.join(HTTP_METHODS)} (got {method!r})")
    try:
        priority = Priority.parse(raw.get("priority") or "normal")
    except ValueError as exc:
        bad("priority", str(exc))
        priority = Priority.NORMAL
    unique = raw.get("uniqueQueueItems", False)
    if not isinstance(unique, bool):
        bad("uniqueQueueItems", "must be true or false")
    try:
        scheme = SignatureScheme(raw.get("signatureScheme") or "shopctrl")
    except ValueError:
        bad("signatureScheme", "must be one of " + ", ".join(s.value for s in SignatureScheme))
        scheme = SignatureScheme.SHOPCTRL
    try:
        mime = MimeType(raw.get("payloadMimeType") or "application/json")
    except ValueError:
        bad("payloadMimeType", "must be one of " + ", ".join(m.value for m in MimeType))
        mime = MimeType.JSON
    timeout = raw.get("timeoutSeconds", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
        bad("timeoutSeconds", "must be a number of seconds between 0 and 3600")
        timeout = 30
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in headers.items()
    ):
        bad("headers", 'must be an object of header names to text values, e.g. {"X-Team": "erp"}')
        headers = {}
    elif any("\n" in k or "\r" in k or "\n" in v or "\r" in v or ":" in k for k, v in headers.items()):
        bad("headers", "a header name or value contains a line break or a colon in the name")
    hmac_secret = text("hmacSecret")
    if hmac_secret is not None:
        try:
            validate_secret(scheme, hmac_secret)
        except ValueError as exc:
            bad("hmacSecret", str(exc))
    body = raw.get("payloadBody") or ""
    if not isinstance(body, str):
        bad("payloadBody", "must be a text (empty = the default JSON payload)")
        body = ""
    elif body.strip():
        try:
            from shopctrl_desktop.domain.templates.render import validate_template

            validate_template(body, mime)
        except ValueError as exc:
            bad("payloadBody", str(exc))
    cert = text("clientCertificate")
    passphrase = text("clientCertificatePassphrase")
    ca = text("caCertificate")
    username = text("username")
    password = text("password")
    if len(problems) > before:
        return None
    return WebhookAction(
        url=url,
        method=method.upper(),
        priority=priority,
        unique_queue_items=bool(unique),
        hmac_secret=hmac_secret,
        signature_scheme=scheme,
        client_certificate=cert,
        client_certificate_passphrase=passphrase,
        ca_certificate=ca,
        timeout_seconds=float(timeout),
        username=username,
        password=password,
        headers={str(k): str(v) for k, v in headers.items()},
        payload_mime_type=mime,
        payload_body=body,
    )


#: Why a URL with ``user:password@`` is refused: it would be stored, shown and exported in plain text.
CREDENTIALS_IN_URL = (
    "holds a user name or password (user:…@host); put them on the Authentication tab (user name and "
    "password, stored encrypted and never shown) and leave them out of the URL"
)


def url_has_credentials(url: str) -> bool:
    """True when the URL carries ``user[:password]@`` before its host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None


def without_credentials(url: str) -> str:
    """The URL without its ``user:password@`` part (for showing a URL stored before they were refused)."""
    parts = urlsplit(url.strip())
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host).geturl()


def url_error(url: str) -> str | None:
    """Why this webhook URL cannot be used, or None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"must start with http:// or https:// (got {url!r})"
    if not parts.hostname:
        return f"has no host name (got {url!r})"
    if url_has_credentials(url):
        return CREDENTIALS_IN_URL
    if " " in url.strip():
        return "must not contain spaces (encode them as %20)"
    del port
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        if not all(label and len(label) <= 63 for label in parts.hostname.rstrip(".").split(".")):
            return f"has an invalid host name {parts.hostname!r}"
    return None


def merge_secrets(incoming: Trigger, existing: Trigger | None) -> Trigger:
    """Import into an existing trigger: actions keep their ids by position and a ``null`` secret in the
    file keeps the stored one."""
    if existing is None:
        return incoming
    actions = []
    for position, action in enumerate(incoming.actions):
        old = existing.actions[position] if position < len(existing.actions) else None
        if old is not None:
            kept = {
                attr: getattr(old, attr) for attr in _SECRET_ATTRS.values() if getattr(action, attr) is None
            }
            action = replace(action, id=old.id, **kept)
        actions.append(action)
    return replace(incoming, id=existing.id, actions=tuple(actions))
