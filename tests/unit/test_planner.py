"""The intake planner (domain/planner.py): pure, no database — which triggers fire, the uniqueness key,
rendering, and the grouping of items under one key."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from shopctrl_desktop.domain.model import IncomingEvent, RenderedRequest, StoredEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.planner import (
    PlannedItem,
    Silence,
    group_by_unique_key,
    host_of,
    plan_event,
    plan_items,
    render_or_error,
    stored_event,
    unique_key,
    verdict,
)
from shopctrl_desktop.domain.templates import RenderError

BIG_ORDER = {"match": "all", "rules": [{"field": "Order.TotalDue", "operator": "greaterThan", "value": 100}]}
BROKEN = {"match": "all", "rules": [{"field": "Order.TotalDue", "operator": "noSuchOperator", "value": 1}]}


def order_event(order_id: int = 1, *, shop: int | None = 3, total: float = 10, ext: str | None = None):
    return IncomingEvent(
        event="OrderChanged",
        shop_id=shop,
        occurred_at=datetime(2026, 11, 28, 10, tzinfo=UTC),
        data={"Order": {"Id": order_id, "TotalDue": total}},
        entity_data={"OrderId": order_id},
        entity_type="Order",
        entity_id=str(order_id),
        entity_code=f"ORD-{order_id}",
        external_id=ext,
    )


def trigger(
    *, event="OrderChanged", shop=None, enabled=True, condition=None, unique=False, body="", tid=7, aid=11
) -> Trigger:
    action = WebhookAction(
        url="https://user:pw@ERP.example:8443/hook", unique_queue_items=unique, payload_body=body, id=aid
    )
    return Trigger(
        title="ERP",
        event=event,
        shop_id=shop,
        enabled=enabled,
        condition=condition,
        actions=(action,),
        id=tid,
    )


def test_a_plain_trigger_fires():
    answer = verdict(trigger(), order_event())
    assert answer.fires and answer.reasons == () and answer.condition_error is None


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"event": "CustomerChanged"}, Silence.OTHER_EVENT),
        ({"shop": 4}, Silence.OTHER_SHOP),
        ({"enabled": False}, Silence.DISABLED),
        ({"condition": BIG_ORDER}, Silence.CONDITION_FALSE),
        ({"condition": BROKEN}, Silence.CONDITION_INVALID),
    ],
)
def test_each_reason_not_to_fire(kwargs, reason):
    answer = verdict(trigger(**kwargs), order_event(shop=3, total=10))
    assert not answer.fires and answer.reasons == (reason,)
    assert (answer.condition_error is not None) == (reason is Silence.CONDITION_INVALID)


def test_every_reason_is_reported_not_only_the_first():
    answer = verdict(
        trigger(event="CustomerChanged", shop=4, enabled=False, condition=BIG_ORDER), order_event()
    )
    assert answer.reasons == (
        Silence.OTHER_EVENT,
        Silence.OTHER_SHOP,
        Silence.DISABLED,
        Silence.CONDITION_FALSE,
    )


def test_shop_scope_matches_its_shop_and_all_shops_match_every_shop():
    assert verdict(trigger(shop=3), order_event(shop=3)).fires
    assert verdict(trigger(shop=None), order_event(shop=9)).fires
    assert not verdict(trigger(shop=3), order_event(shop=None)).fires


def test_condition_that_holds_fires():
    assert verdict(trigger(condition=BIG_ORDER), order_event(total=250)).fires


def test_plan_skips_silent_triggers_and_logs_a_broken_condition(caplog):
    triggers = [
        trigger(tid=1, shop=4),
        trigger(tid=2, condition=BROKEN),
        trigger(tid=3, condition=BIG_ORDER),
        trigger(tid=4),
    ]
    with caplog.at_level(logging.WARNING, logger="shopctrl_desktop.domain.planner"):
        planned = plan_event(order_event(total=10), 42, triggers, origin=5)
    assert [p.trigger.id for p in planned] == [4]
    [plan] = planned
    assert plan.origin == 5 and plan.event.id == 42 and plan.unique_key is None
    assert [r.getMessage() for r in caplog.records] == [
        f"trigger 'ERP': condition cannot be evaluated ({verdict(triggers[1], order_event()).condition_error})"
        "; not firing"
    ]


def test_plan_items_keeps_event_order_and_origins():
    events = [
        (0, order_event(1)),
        (1, order_event(2, shop=4)),
        (1, IncomingEvent(**{**vars(order_event(3)), "event": "X"})),
    ]
    planned = plan_items(events, [101, 102, 103], {"OrderChanged": [trigger(shop=3)], "X": []})
    assert [(p.origin, p.event.id, p.event.entity_id) for p in planned] == [(0, 101, "1")]


def test_one_item_per_action_of_a_firing_trigger():
    two = Trigger(
        title="T",
        event="OrderChanged",
        actions=(WebhookAction(url="https://a/", id=1), WebhookAction(url="https://b/", id=2)),
        id=1,
    )
    planned = plan_event(order_event(), 1, [two])
    assert [p.action.url for p in planned] == ["https://a/", "https://b/"]
    assert planned[0].event is planned[1].event  # one StoredEvent per event, shared by its items


def test_uniqueness_key_only_for_unique_actions_with_an_entity_id():
    assert unique_key(11, "Order", "1") == "11:Order:1"
    assert unique_key(None, "Order", "1") is None and unique_key(11, "Order", None) is None
    [unique] = plan_event(order_event(1), 1, [trigger(unique=True)])
    [plain] = plan_event(order_event(1), 1, [trigger(unique=False)])
    assert unique.unique_key == "11:Order:1" and plain.unique_key is None


def test_host_is_lower_case_without_credentials():
    assert host_of("https://user:pw@ERP.example:8443/hook?x=1") == "erp.example:8443"
    assert host_of("http://[::1") == ""


def test_stored_event_copies_every_field():
    incoming = order_event(7, ext="ext-7")
    stored = stored_event(incoming, 99)
    expected = {k: v for k, v in vars(incoming).items() if k != "external_id"}
    assert stored == StoredEvent(id=99, **expected)


def test_render_body_gives_the_body_or_the_message():
    event = stored_event(order_event(), 1)
    good = PlannedItem(trigger(), trigger().actions[0], event, None)
    body, error = good.render_body()
    assert error is None and json.loads(body)["entityData"] == {"OrderId": 1}
    broken = trigger(body='{"x": {{ oops }')
    body, error = PlannedItem(broken, broken.actions[0], event, None).render_body()
    assert body == "" and error


def test_render_or_error_returns_the_error_instead_of_raising():
    event = stored_event(order_event(), 1)
    ok = render_or_error(trigger(), trigger().actions[0], event)
    assert isinstance(ok, RenderedRequest) and ok.url.startswith("https://")
    broken = trigger(body='{"x": {{ oops }')
    assert isinstance(render_or_error(broken, broken.actions[0], event), RenderError)


def _plan(order_id: int, origin: int, *, unique: bool = True) -> PlannedItem:
    t = trigger(unique=unique)
    [plan] = plan_event(order_event(order_id), order_id * 10 + origin, [t], origin)
    return plan


def test_grouping_newest_payload_wins_and_counts_the_skipped():
    first, other, second, third = _plan(1, 0), _plan(2, 0), _plan(1, 1), _plan(1, 2)
    new, updates = group_by_unique_key([first, other, second, third], waiting={})
    assert updates == []
    assert [(t.plan, t.origin, t.skipped, t.existing_id) for t in new] == [
        (third, 0, 2, None),
        (other, 0, 0, None),
    ]


def test_grouping_a_waiting_item_takes_the_newest_payload():
    first, second = _plan(1, 0), _plan(1, 1)
    new, updates = group_by_unique_key([first, second], waiting={"11:Order:1": 500})
    assert new == []
    [update] = updates
    assert (update.plan, update.origin, update.existing_id, update.skipped) == (second, 0, 500, 2)


def test_grouping_leaves_items_without_a_key_alone():
    plans = [_plan(1, 0, unique=False), _plan(1, 1, unique=False)]
    new, updates = group_by_unique_key(plans, waiting={})
    assert [t.plan for t in new] == plans and all(t.skipped == 0 for t in new) and updates == []
