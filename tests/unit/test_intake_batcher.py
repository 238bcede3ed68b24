"""Group commit: concurrent submissions share transactions; a failing request fails alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shopctrl_desktop.domain.model import IncomingEvent
from shopctrl_desktop.engine import intake as intake_module
from shopctrl_desktop.engine.intake import IntakeBatcher, IntakeClosed, StoreFailed
from shopctrl_desktop.store.ingest import enqueue_batches


def event(ext: str) -> IncomingEvent:
    return IncomingEvent(
        event="OrderChanged",
        shop_id=None,
        occurred_at=datetime.now(UTC),
        data={},
        entity_data={"OrderId": None, "OrderCode": None},
        entity_type="Order",
        entity_id=None,
        entity_code=None,
        external_id=ext,
    )


async def test_groups_commit_together_and_results_go_to_their_requests(db, box) -> None:
    committed: list[int] = []
    d = IntakeBatcher(db, box, on_committed=lambda results: committed.append(len(results)))
    await d.start()
    results = await asyncio.gather(*(d.submit([event(f"e{n}"), event(f"e{n}")]) for n in range(50)))
    await d.stop()
    assert all((r.accepted, r.duplicates) == (1, 1) for r in results)
    assert len({r.event_ids[0] for r in results}) == 50
    assert sum(committed) == 50 and len(committed) == d.groups_committed < 50


async def test_a_failing_request_fails_alone(db, box, monkeypatch) -> None:
    def flaky(session, box, batches):
        if any(ev.external_id == "bad" for batch in batches for ev in batch):
            raise RuntimeError("disk on fire")
        return enqueue_batches(session, box, batches)

    monkeypatch.setattr(intake_module, "enqueue_batches", flaky)
    d = IntakeBatcher(db, box)
    await d.start()
    outcomes = await asyncio.gather(
        d.submit([event("a")]), d.submit([event("bad")]), d.submit([event("c")]), return_exceptions=True
    )
    await d.stop()
    assert outcomes[0].accepted == 1 and outcomes[2].accepted == 1
    assert isinstance(outcomes[1], StoreFailed) and "disk on fire" in str(outcomes[1])


async def test_stop_commits_what_was_submitted_then_refuses(db, box) -> None:
    d = IntakeBatcher(db, box)
    await d.start()
    pending = [asyncio.ensure_future(d.submit([event(f"s{n}")])) for n in range(20)]
    await asyncio.sleep(0)  # let the submissions enqueue (not a wait for time)
    await d.stop()
    assert all(p.result().accepted == 1 for p in pending)
    with pytest.raises(IntakeClosed):
        await d.submit([event("late")])
