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
from typing import TYPE_CHECKING

from shopctrl_desktop.cli.common import EXIT_FAILED, EXIT_OK, CliError, Context, read_json_file

if TYPE_CHECKING:
    from shopctrl_desktop.domain.model import IncomingEvent, StoredEvent, Trigger, WebhookAction
    from shopctrl_desktop.engine.render_pool import RenderPool


def _note(text: str) -> None:
    sys.stderr.write(f"note: {text}\n")


def _silence_notes(trigger: Trigger, event: StoredEvent, label: str) -> list[str]:
    """Why the trigger would not fire for the event, in words (the answer comes from domain/planner.py)."""
    from shopctrl_desktop.domain.planner import Silence, verdict

    answer = verdict(trigger, event)
    notes = {
        Silence.OTHER_EVENT: f"trigger {trigger.title!r} listens to {trigger.event}, not {event.event}: "
        "it would not fire",
        Silence.OTHER_SHOP: f"trigger {trigger.title!r} is for shop {trigger.shop_id}, {label} is from shop "
        f"{event.shop_id}",
        Silence.DISABLED: f"trigger {trigger.title!r} is disabled",
        Silence.CONDITION_FALSE: f"the condition of trigger {trigger.title!r} does not hold for {label}: "
        "it would not fire",
        Silence.CONDITION_INVALID: f"the condition of trigger {trigger.title!r} is invalid: "
        f"{answer.condition_error}",
    }
    return [notes[reason] for reason in answer.reasons]


def run_render(ctx: Context) -> int:
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
    from shopctrl_desktop.engine.render_pool import RenderPool

    pool = RenderPool(1)  # templates render under the engine's bounds (started only if one is rendered)
    try:
        return _render_all(trigger, actions, outcome.events, pool)
    finally:
        pool.close()


def _render_all(
    trigger: Trigger, actions: list[WebhookAction], events: list[IncomingEvent], pool: RenderPool
) -> int:
    from shopctrl_desktop.domain.planner import stored_event
    from shopctrl_desktop.domain.templates import RenderError
    from shopctrl_desktop.engine.render_pool import bounded_request

    status = EXIT_OK
    for n, incoming in enumerate(events):
        event = stored_event(incoming, 0)  # rendered only, never stored
        label = f"event {n + 1} ({event.event})" if len(events) > 1 else f"the event ({event.event})"
        for note in _silence_notes(trigger, event, label):
            _note(note)
        for i, action in enumerate(actions, start=1):
            where = f"trigger {trigger.title!r}, action {i}" + (f", {label}" if len(events) > 1 else "")
            request = bounded_request(pool, trigger, action, event)
            if isinstance(request, RenderError):
                sys.stderr.write(f"shopctrl-desktop: {where}: {request}\n")
                status = EXIT_FAILED
                continue
            if len(actions) > 1 or len(events) > 1:
                sys.stdout.write(f"### {where}\n")
            sys.stdout.write(f"{request.method} {request.url}\n")
            for name, value in request.headers.items():
                sys.stdout.write(f"{name}: {value}\n")
            sys.stdout.write("\n" + request.body + ("\n" if not request.body.endswith("\n") else ""))
    return status
