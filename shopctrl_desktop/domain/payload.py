"""What one Call Webhook action sends for one event: the default JSON payload or a rendered template.

This is the render seam between the dispatcher (which stores the result on the queue item) and the
template engine (domain/templates/). Auth, signature, ``X-ShopCtrl-Delivery``/``-Attempt`` and
``User-Agent`` are NOT added here: delivery adds them at send time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shopctrl_desktop.domain import strict_json
from shopctrl_desktop.domain.events import find_event
from shopctrl_desktop.domain.model import MimeType, RenderedRequest, StoredEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.templates import RenderError


def default_payload(event_name: str, action_id: int | None, entity_data: dict[str, Any]) -> dict[str, Any]:
    """SPEC 5.2: ``{"Trigger": <event system name>, "TriggerActionId": <action id>, "entityData": {...}}``."""
    return {"Trigger": event_name, "TriggerActionId": action_id, "entityData": entity_data}


def template_extra(trigger: Trigger, action: WebhookAction, event: StoredEvent) -> dict[str, Any]:
    """Values a template can use besides the event's ``data`` (e.g. ``{{ Trigger }}``, ``{{ entityData.OrderId }}``)."""
    return {
        "Trigger": event.event,
        "TriggerTitle": trigger.title,
        "TriggerActionId": action.id,
        "entityData": event.entity_data,
        "ShopId": event.shop_id,
        "EventId": event.id,
        # the event's own metadata, e.g. {{ Event.OccurredAt }} / $$Event.OccurredAt#yyyy-MM-dd HH:mm$$
        "Event": {
            "Id": event.id,
            "Name": event.event,
            "ShopId": event.shop_id,
            "OccurredAt": event.occurred_at.isoformat() if event.occurred_at else None,
            "EntityType": event.entity_type,
            "EntityId": event.entity_id,
            "EntityCode": event.entity_code,
        },
    }


SAMPLE_EVENT_ID = 0


def sample_event(event_name: str) -> StoredEvent:
    """An event with empty data, for trying an endpoint (Preview) or checking a template (import, save)
    before any real event arrived."""
    event_type = find_event(event_name)
    return StoredEvent(
        id=SAMPLE_EVENT_ID,
        event=event_type.system_name if event_type else event_name,
        shop_id=None,
        occurred_at=datetime.now(UTC),
        data={},
        entity_data={name: None for name in (event_type.fields if event_type else ())},
        entity_type=event_type.entity_type if event_type else "",
        entity_id=None,
        entity_code=None,
    )


def renders_in_process(action: WebhookAction) -> bool:
    """Which renders may run in the engine's own process: only the built-in default payload, whose work is
    bounded by the event's size (the listener caps it) and runs no user code. A payload template — even one
    the closure-tree fast path (templates/fast.py) could render — runs user-chosen filters such as
    ``striptags`` on up to megabytes of data, inside one C call no deadline can interrupt; it renders in a
    worker process the engine can kill (engine/render_pool.py), outside every database transaction."""
    return not (action.payload_body or "").strip()


def render_body(trigger: Trigger, action: WebhookAction, event: StoredEvent) -> str:
    body = action.payload_body or ""
    mime = MimeType(action.payload_mime_type)
    if not body.strip():
        try:
            return strict_json.dumps(default_payload(event.event, action.id, event.entity_data))
        except ValueError:  # NaN or Infinity in an event stored before the listener refused them
            raise RenderError(
                "the event holds NaN or Infinity, which strict JSON cannot carry; the default payload "
                "is not sent"
            ) from None
    # Imported here: Jinja2 (~70 ms to import) is only needed once a body is set.
    from shopctrl_desktop.domain.templates.render import render_template

    try:
        return render_template(body, mime, event.data, extra=template_extra(trigger, action, event))
    except RenderError:
        raise
    except Exception as exc:  # noqa: BLE001 - any template failure becomes a RenderError for the item
        raise RenderError(f"the payload template cannot be rendered: {exc}") from exc


def request_headers(action: WebhookAction, event_name: str) -> dict[str, str]:
    """Content-Type with charset, X-ShopCtrl-Trigger, then the custom headers (a custom header of the same
    name, compared case-insensitively, replaces the built-in one)."""
    mime = MimeType(action.payload_mime_type)
    headers: dict[str, str] = {
        "Content-Type": f"{mime.value}; charset=utf-8",
        "X-ShopCtrl-Trigger": event_name,
    }
    for name, value in (action.headers or {}).items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value
    return headers


def render_request(trigger: Trigger, action: WebhookAction, event: StoredEvent) -> RenderedRequest:
    """The request this action sends for this event; raises RenderError for a template that fails."""
    return RenderedRequest(
        method=action.method,
        url=action.url,
        headers=request_headers(action, event.event),
        body=render_body(trigger, action, event),
    )
