"""``shopctrl-desktop render --trigger TITLE --event FILE``: print the request(s) a trigger would send for an
event, without sending anything or storing anything.

The event file holds one event object or an array of them, in the ``POST /events`` format (SPEC 2.3). For
each event and each Call Webhook action it prints the method and URL, the headers and the body. Auth,
signature and delivery headers are added at send time and are not shown. Notes go to standard error when
the trigger would not fire for the event (another event type, another shop, disabled, or its condition does
not hold): the request is still shown. A template that cannot render prints the message and exits 1.
"""

from __future__ import annotations

import difflib
import sys

from shopctrl_desktop.cli.common import EXIT_FAILED, EXIT_OK, CliError, Context, read_json_file


def _note(text: str) -> None:
    sys.stderr.write(f"note: {text}\n")


def run_render(ctx: Context) -> int:
    from shopctrl_desktop.domain.conditions import condition_matches
    from shopctrl_desktop.domain.model import StoredEvent
    from shopctrl_desktop.domain.payload import render_request
    from shopctrl_desktop.domain.templates import RenderError
    from shopctrl_desktop.engine.event_input import parse_body
    from shopctrl_desktop.store.triggers import find_trigger_by_title, list_triggers

    title = ctx.args.trigger
    with ctx.db.session() as session:
        trigger = find_trigger_by_title(session, ctx.box, title)
        if trigger is None:
            titles = [t.title for t in list_triggers(session, ctx.box)]
            same = [t for t in titles if t.casefold() == title.casefold()]
            if len(same) == 1:
                trigger = find_trigger_by_title(session, ctx.box, same[0])
            else:
                close = difflib.get_close_matches(title, titles, n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(repr(t) for t in close)}?" if close else ""
                raise CliError(f"no trigger titled {title!r}{hint}")
    assert trigger is not None
    outcome = parse_body(read_json_file(ctx.args.event))
    if outcome.too_many is not None:
        raise CliError(f"{ctx.args.event} holds {outcome.too_many} events; at most 1,000 at a time")
    if outcome.problems:
        raise CliError("; ".join(f"{p.field or 'event'}: {p.message}" for p in outcome.problems))
    actions = list(trigger.actions)
    if not actions:
        raise CliError(f"trigger {trigger.title!r} has no Call Webhook action")
    status = EXIT_OK
    for n, incoming in enumerate(outcome.events):
        event = StoredEvent(
            id=0,
            event=incoming.event,
            shop_id=incoming.shop_id,
            occurred_at=incoming.occurred_at,
            data=incoming.data,
            entity_data=incoming.entity_data,
            entity_type=incoming.entity_type,
            entity_id=incoming.entity_id,
            entity_code=incoming.entity_code,
        )
        label = f"event {n + 1} ({event.event})" if len(outcome.events) > 1 else f"the event ({event.event})"
        if event.event != trigger.event:
            _note(
                f"trigger {trigger.title!r} listens to {trigger.event}, not {event.event}: it would not fire"
            )
        if trigger.shop_id is not None and event.shop_id != trigger.shop_id:
            _note(
                f"trigger {trigger.title!r} is for shop {trigger.shop_id}, {label} is from shop {event.shop_id}"
            )
        if not trigger.enabled:
            _note(f"trigger {trigger.title!r} is disabled")
        try:
            if not condition_matches(trigger.condition, event.data):
                _note(
                    f"the condition of trigger {trigger.title!r} does not hold for {label}: it would not fire"
                )
        except ValueError as exc:
            _note(f"the condition of trigger {trigger.title!r} is invalid: {exc}")
        for i, action in enumerate(actions, start=1):
            where = f"trigger {trigger.title!r}, action {i}" + (
                f", {label}" if len(outcome.events) > 1 else ""
            )
            try:
                request = render_request(trigger, action, event)
            except RenderError as exc:
                sys.stderr.write(f"shopctrl-desktop: {where}: {exc}\n")
                status = EXIT_FAILED
                continue
            if len(actions) > 1 or len(outcome.events) > 1:
                sys.stdout.write(f"### {where}\n")
            sys.stdout.write(f"{request.method} {request.url}\n")
            for name, value in request.headers.items():
                sys.stdout.write(f"{name}: {value}\n")
            sys.stdout.write("\n" + request.body + ("\n" if not request.body.endswith("\n") else ""))
    return status
