"""The sample event of each catalogue event (``resources/events/<area>.json``), as it would be stored: what a
payload template is checked against when a trigger file is imported (``triggers import``)."""

from __future__ import annotations

import functools
import json
import logging

from shopctrl_desktop.domain.model import StoredEvent
from shopctrl_desktop.domain.planner import stored_event
from shopctrl_desktop.engine.event_input import parse_body
from shopctrl_desktop.resources import ResourceNotFound, events_dir

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def sample_events() -> dict[str, StoredEvent]:
    """Event system name -> its first sample event (rendered only, never stored: id 0). Empty when the
    resources are missing (an install without them); a sample file that cannot be read is skipped."""
    try:
        folder = events_dir()
    except ResourceNotFound as exc:
        log.warning("payload templates are not checked against sample events: %s", exc)
        return {}
    samples: dict[str, StoredEvent] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            outcome = parse_body(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            log.warning("skipping sample event file %s: %s", path.name, exc)
            continue
        for incoming in outcome.events:
            samples.setdefault(incoming.event, stored_event(incoming, 0))
    return samples
