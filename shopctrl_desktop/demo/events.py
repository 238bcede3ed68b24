"""The demo's event stream: sample events (resources/events/*.json) posted to the real listener
(``POST /events`` with the bearer token) at the demo's pace, each a new event with other entity ids."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shopctrl_desktop.resources import events_dir

log = logging.getLogger(__name__)


def load_sample_events(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every sample event of resources/events/*.json (a file holds one event, a list, or {"events": [...]})."""
    folder = directory or events_dir()
    events: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("skipping sample event file %s: %s", path.name, exc)
            continue
        items = data.get("events", [data]) if isinstance(data, dict) else data
        events.extend(e for e in items if isinstance(e, dict) and e.get("event"))
    return events


def _event_key(name: str) -> str:
    return "".join(name.split()).lower()


def event_pool(samples: list[dict[str, Any]], trigger_events: set[str]) -> list[dict[str, Any]]:
    """The samples the demo triggers react to (all samples when none match), so the queue fills at once."""
    wanted = {_event_key(e) for e in trigger_events}
    matching = [s for s in samples if _event_key(str(s.get("event", ""))) in wanted]
    return matching or samples


_FIXED_ID_PARTS = ("Shop", "Supplier", "Warehouse", "Employee")  # scope and master data stay as they are


def vary_entities(sample: dict[str, Any], variant: int) -> dict[str, Any]:
    """The sample with its entity ids (OrderId 100231, ...) moved up by ``variant`` everywhere in the event —
    in ``data``, ``entityData`` and codes such as ``DS-100231`` alike — so each round shows other orders.
    Shop, supplier, warehouse and employee ids stay (trigger scopes depend on them)."""
    text = json.dumps(sample)
    if variant <= 0:
        return json.loads(text)
    entity = sample.get("entityData") or {}
    numbers = {
        v
        for k, v in entity.items()
        if k.endswith("Id") and isinstance(v, int) and v >= 100 and not any(p in k for p in _FIXED_ID_PARTS)
    }
    for number in sorted(numbers, reverse=True):
        text = re.sub(rf"(?<![\d.]){number}(?![\d.])", str(number + variant), text)
    return json.loads(text)


def fresh_copy(sample: dict[str, Any], number: int, variant: int = 0) -> dict[str, Any]:
    """A sample with a new idempotency id and occurredAt now, so every post is a new event."""
    event = vary_entities(sample, variant)
    event["id"] = f"demo-{number}-{uuid.uuid4().hex[:8]}"
    event["occurredAt"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return event


@dataclass
class StreamStats:
    posted: int = 0
    accepted: int = 0
    queued: int = 0
    errors: int = 0
    last_error: str = ""


class EventStream:
    """Posts sample events to the real listener (``POST /events`` with the bearer token) every interval."""

    def __init__(
        self,
        listener_address: str,
        token: str,
        pool: list[dict[str, Any]],
        *,
        interval: float,
        rng: random.Random | None = None,
        rare_events: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.url = f"http://{listener_address}/events"
        self._token = token
        self._pool = pool
        self._interval = interval
        self._rng = rng or random.Random()
        self.stats = StreamStats()
        self._order: list[dict[str, Any]] = []
        self._passes = 0
        self._rare = {_event_key(e) for e in rare_events}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="demo-event-stream")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _next_sample(self) -> dict[str, Any]:
        """Round robin over a shuffled pool: every demo trigger fires within one pass.

        Events whose triggers fail on purpose (``rare``) come in the first pass and then every 4th, so the
        alerts stay countable instead of flooding the Alerts page.
        """
        while not self._order:
            self._passes += 1
            keep_rare = self._passes == 1 or self._passes % 4 == 0
            self._order = [
                s for s in self._pool if keep_rare or _event_key(str(s.get("event"))) not in self._rare
            ]
            self._rng.shuffle(self._order)
        return self._order.pop()

    async def post_one(self, client: httpx.AsyncClient) -> None:
        sample = self._next_sample()
        event = fresh_copy(sample, self.stats.posted + 1, variant=self._passes - 1)
        self.stats.posted += 1
        try:
            answer = await client.post(
                self.url, json=event, headers={"Authorization": f"Bearer {self._token}"}
            )
        except httpx.HTTPError as exc:  # the listener is not up yet, or shutting down
            self.stats.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            return
        if answer.status_code == 202:
            body = answer.json()
            self.stats.accepted += int(body.get("accepted", 0))
            self.stats.queued += int(body.get("queued", 0))
        else:
            self.stats.errors += 1
            self.stats.last_error = f"{answer.status_code}: {answer.text[:200]}"
            log.warning("demo event %s was refused: %s", event.get("event"), self.stats.last_error)

    async def _run(self) -> None:
        if not self._pool:
            log.warning("no sample events found; the demo stream posts nothing")
            return
        async with httpx.AsyncClient(timeout=10.0) as client:
            while True:
                await self.post_one(client)
                # The demo's pace (a timer, not a wait for a result): the first pass goes three times as
                # fast, so every endpoint — the failing ones too — has its first item within seconds.
                pace = self._interval / 3 if self.stats.posted <= len(self._pool) else self._interval
                await asyncio.sleep(pace * self._rng.uniform(0.6, 1.4))
