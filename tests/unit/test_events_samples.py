"""The sample events (resources/events/<area>.json) and the demo triggers (resources/demo/triggers.json)."""

from __future__ import annotations

import json
import re
import xml.dom.minidom
from pathlib import Path

import pytest

from shopctrl_desktop.domain.conditions import condition_matches, validate_condition
from shopctrl_desktop.domain.events import AREAS, CATALOGUE, build_entity_data, find_event, primary_entity
from shopctrl_desktop.domain.mergefields import dynamic_tree, find_field
from shopctrl_desktop.domain.signing import validate_secret
from shopctrl_desktop.engine.event_input import parse_body

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
EVENTS_DIR = RESOURCES / "events"
DEMO_TRIGGERS = RESOURCES / "demo" / "triggers.json"


def area_file(area: str) -> Path:
    return EVENTS_DIR / (re.sub(r"[^a-z0-9]+", "-", area.lower()).strip("-") + ".json")


def load(area: str) -> list[dict]:
    return json.loads(area_file(area).read_text(encoding="utf-8"))


ALL_SAMPLES = [(area, sample) for area in AREAS for sample in load(area)]


def test_every_area_has_a_file_with_samples_and_nothing_else_is_there():
    assert sorted(p.name for p in EVENTS_DIR.glob("*.json")) == sorted(area_file(a).name for a in AREAS)
    for area in AREAS:
        assert load(area), area


def test_every_catalogue_event_has_a_sample():
    sampled = {find_event(sample["event"]).system_name for _area, sample in ALL_SAMPLES}
    assert sampled == {e.system_name for e in CATALOGUE}


@pytest.mark.parametrize(
    ("area", "sample"), ALL_SAMPLES, ids=lambda x: x if isinstance(x, str) else x["event"]
)
def test_sample_resolves_and_is_consistent(area, sample):
    event = find_event(sample["event"])
    assert event is not None and event.area == area
    # The entityData shipped in the sample is exactly what the derivation makes of its data.
    assert sample["entityData"] == build_entity_data(event, sample["data"], None, shop_id=sample["shopId"])
    entity_type, entity_id, _code = primary_entity(event, sample["data"], sample["entityData"])
    assert entity_type == event.entity_type and entity_id is not None
    assert event.entity_type in sample["data"]
    assert find_field(dynamic_tree(sample["data"]), event.entity_type) is not None


@pytest.mark.parametrize("area", AREAS)
def test_listener_accepts_each_file(area):
    outcome = parse_body(load(area))
    assert outcome.status == 202, [p.message for p in outcome.problems]
    assert len(outcome.events) == len(load(area))


def test_order_sample_is_rich():
    order = next(s for a, s in ALL_SAMPLES if s["event"] == "OrderChanged")["data"]["Order"]
    assert len(order["OrderRow"]) == 3
    for key in ("Customer", "OrderBillTo", "OrderShipTo"):
        assert isinstance(order[key], dict)
    shipment = next(s for a, s in ALL_SAMPLES if s["event"] == "ShipmentShipped")["data"]
    assert shipment["OrderShipment"]["Parcel"] and shipment["Order"]["OrderRow"]


# --- demo triggers ------------------------------------------------------------------------------------------
DEMO = json.loads(DEMO_TRIGGERS.read_text(encoding="utf-8"))
TRIGGERS = DEMO["triggers"]
SAMPLES_BY_EVENT = {find_event(s["event"]).system_name: s for _a, s in ALL_SAMPLES}


def test_demo_file_shape():
    assert DEMO["version"] == 1
    titles = [t["title"] for t in TRIGGERS]
    assert len(titles) == len(set(titles))
    assert {"ERP order sync", "Warehouse shipment feed", "Accounting invoice paid"} <= set(titles)
    assert any("/fail/" in a["url"] for t in TRIGGERS for a in t["actions"])
    schemes = {a["signatureScheme"] for t in TRIGGERS for a in t["actions"] if a["hmacSecret"]}
    assert "standard-webhooks" in schemes


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: t["title"])
def test_demo_trigger_is_valid_and_fires_on_its_sample(trigger):
    event = find_event(trigger["event"])
    assert event is not None and event.system_name == trigger["event"]
    validate_condition(trigger["condition"])
    sample = SAMPLES_BY_EVENT[event.system_name]
    assert condition_matches(trigger["condition"], sample["data"])
    for action in trigger["actions"]:
        assert action["type"] == "callWebhook"
        assert action["url"].startswith("{receiver}/")
        assert action["payloadMimeType"] in ("application/json", "application/xml", "text/plain")
        if action["hmacSecret"] is not None:
            validate_secret(action["signatureScheme"], action["hmacSecret"])


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: t["title"])
def test_demo_templates_render_well_formed(trigger):
    templates = pytest.importorskip("shopctrl_desktop.domain.templates.render")
    from shopctrl_desktop.domain.model import MimeType

    sample = SAMPLES_BY_EVENT[trigger["event"]]
    for action in trigger["actions"]:
        if not action["payloadBody"]:
            continue
        mime = MimeType(action["payloadMimeType"])
        out = templates.render_template(
            action["payloadBody"], mime, sample["data"], extra={"Trigger": trigger["event"], "ShopId": 3}
        )
        if mime is MimeType.JSON:
            parsed = json.loads(out)
            assert parsed
        elif mime is MimeType.XML:
            xml.dom.minidom.parseString(out.encode("utf-8"))
        code = sample["data"].get("Order", {}).get("OrderCode")
        if code and "Order.OrderCode" in action["payloadBody"]:
            assert code in out
