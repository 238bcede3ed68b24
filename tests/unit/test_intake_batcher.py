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


async def test_without_templates_a_group_takes_one_trip_and_a_template_still_renders_in_the_pool(
    db, box
) -> None:
    from sqlalchemy import func, select

    from shopctrl_desktop.domain.model import Trigger, WebhookAction
    from shopctrl_desktop.engine.render_pool import RenderPool
    from shopctrl_desktop.store.models import EventRow, QueueItemRow
    from shopctrl_desktop.store.triggers import save_trigger

    with db.session() as s:
        save_trigger(
            s, box, Trigger("Default", "OrderChanged", actions=(WebhookAction(url="http://127.0.0.1:9/d"),))
        )
    pool = RenderPool(1)
    jobs: list[object] = []
    run_all = pool.run_all

    async def counted_run_all(batch):  # noqa: ANN001, ANN202
        jobs.extend(batch)
        return await run_all(batch)

    pool.run_all = counted_run_all  # type: ignore[method-assign]
    intake = IntakeBatcher(db, box, render_pool=pool)
    prepared: list[int] = []
    prepare = intake._prepare
    intake._prepare = lambda batches: prepared.append(len(batches)) or prepare(batches)  # type: ignore[method-assign]
    await intake.start()
    try:
        first = await intake.submit([event("a")])
        assert (first.accepted, first.queued, prepared, jobs) == (1, 1, [], [])  # no planning trip, no pool
        with db.session() as s:
            body = '{"event": {{ EventId }}}'
            save_trigger(
                s,
                box,
                Trigger(
                    "Templated",
                    "OrderChanged",
                    actions=(WebhookAction(url="http://127.0.0.1:9/t", payload_body=body),),
                ),
            )
        second = await intake.submit([event("b")])
        assert (second.accepted, second.queued, prepared, len(jobs)) == (1, 2, [1], 1)  # rendered by the pool
        third = await intake.submit([event("c")])  # templates keep firing: planned first at once
        assert (third.queued, prepared, len(jobs)) == (2, [1, 1], 2)
    finally:
        await intake.stop()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 3  # the rolled-back try left nothing
        bodies = {(i.trigger_title, i.event_id): i.body for i in s.scalars(select(QueueItemRow))}
    assert len(bodies) == 5
    for result in (second, third):
        (event_id,) = result.event_ids
        assert bodies[("Templated", event_id)] == f'{{"event": {event_id}}}'
