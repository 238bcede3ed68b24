"""Intake batching: validated events -> one database transaction shared by all requests waiting (group
commit). What the transaction does with them (plan, store, enqueue) is ``store/ingest.py`` and the rules it
applies are ``domain/planner.py``; this module only gathers requests and commits them together.

Every listener request hands its events to :meth:`IntakeBatcher.submit` and waits. A single worker thread
owns the database work: while it commits one group, new requests pile up and go together into the next
transaction — one fsync for many requests, every ``202`` answered only after its group committed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.model import IncomingEvent
from shopctrl_desktop.engine.fault_log import RepeatingFault, reason_of
from shopctrl_desktop.engine.render_pool import RenderJob, RenderPool
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.ingest import (
    IngestResult,
    PreparedGroup,
    TemplatesToRender,
    enqueue_batches,
    prepare_batches,
)
from shopctrl_desktop.store.secrets import SecretBox

log = logging.getLogger(__name__)


class IntakeClosed(RuntimeError):
    """The intake is stopping and takes no new events."""


@dataclass
class _Request:
    events: Sequence[IncomingEvent]
    future: asyncio.Future[IngestResult]


class IntakeBatcher:
    """Gathers the events of concurrent requests into one transaction each (group commit)."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        on_committed: Callable[[list[IngestResult]], None] | None = None,
        max_group_events: int = 5000,
        gather_passes: int = 1,
        render_pool: RenderPool | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.on_committed = on_committed
        self.max_group_events = max_group_events
        self._fault = RepeatingFault(log, "storing events")
        self.gather_passes = gather_passes
        # payload templates render here, between reading the triggers and the write transaction
        self.render_pool = render_pool
        # whether the last group fired a payload template: then the next one is planned and rendered before
        # its transaction too; while none fires, a group is stored in one trip to the worker thread
        self._templates_fire = False
        self._executor: ThreadPoolExecutor | None = None
        self._pending: asyncio.Queue[_Request | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = True
        self._session: Session | None = None  # used only on the worker thread
        self._connection: Connection | None = None
        self.groups_committed = 0
        self.events_committed = 0

    @property
    def running(self) -> bool:
        return not self._closed

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="shopctrl-intake")
        self._pending = asyncio.Queue()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="shopctrl-intake")
        # the render workers start with the first template to render (a spawn costs ~0.6 s a worker: an engine
        # whose triggers use only the default payload never pays it); the engine starts them in the background
        # at once when its triggers have templates (engine/service.py)

    async def submit(self, events: Sequence[IncomingEvent]) -> IngestResult:
        """Store the events and queue their items; returns after the commit. Raises IntakeClosed."""
        if self._closed or self._pending is None:
            raise IntakeClosed("the engine is shutting down")
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._pending.put_nowait(_Request(events, future))
        return await future

    async def stop(self) -> None:
        """Take no new events, commit everything already submitted, stop the worker thread."""
        if self._closed:
            return
        self._closed = True
        assert self._pending is not None
        self._pending.put_nowait(None)
        if self._task is not None:
            await self._task
        if self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_session)
            self._executor.shutdown(wait=True)
            self._executor = None
        if self.render_pool is not None:
            self.render_pool.close()

    async def _run(self) -> None:
        assert self._pending is not None
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._pending.get()
            if first is None:
                break
            group = [first]
            size = len(first.events)
            for gather_pass in range(self.gather_passes + 1):
                if gather_pass:
                    # Let the handlers that are ready run first (a loop turn, no waiting for time):
                    # requests that arrived together join this group instead of paying a commit each.
                    await asyncio.sleep(0)
                while size < self.max_group_events and not self._pending.empty():
                    nxt = self._pending.get_nowait()
                    if nxt is None:
                        stopping = True
                        break
                    group.append(nxt)
                    size += len(nxt.events)
                if stopping or size >= self.max_group_events or self._pending.empty() and gather_pass:
                    break
            await self._commit_group(loop, group)

    async def _commit_group(self, loop: asyncio.AbstractEventLoop, group: list[_Request]) -> None:
        try:
            batches = [r.events for r in group]
            results = await self._store(loop, batches)
        except Exception as exc:  # noqa: BLE001
            if len(group) == 1:
                self._fault.failed(exc, retry="the sender was told to send them again (503)")
                _fail(group[0], f"the database cannot store the events right now ({reason_of(exc)})")
                return
            # one bad request must not fail the others: retry each in its own transaction
            if not self._fault.failing:
                log.warning("a group of %d requests failed to commit; retrying them one by one", len(group))
            for request in group:
                await self._commit_group(loop, [request])
            return
        self._fault.recovered()
        for request, result in zip(group, results, strict=True):
            if not request.future.done():
                request.future.set_result(result)
        self.groups_committed += 1
        self.events_committed += sum(r.accepted for r in results)
        if self.on_committed is not None:
            try:
                self.on_committed(results)
            except Exception:  # noqa: BLE001 - an observer bug must not stop the intake
                log.exception("on_committed callback failed")

    async def _store(
        self, loop: asyncio.AbstractEventLoop, batches: list[Sequence[IncomingEvent]]
    ) -> list[IngestResult]:
        """One transaction for the group. While no payload template fires, in one trip to the worker thread
        (a template that fires rolls it back: ``TemplatesToRender``); otherwise planned and rendered first."""
        if self.render_pool is not None and not self._templates_fire:
            try:
                return await loop.run_in_executor(self._executor, self._commit, batches, None, False)
            except TemplatesToRender:
                self._templates_fire = True
        prepared = await self._render(loop, batches)
        if prepared is not None:
            self._templates_fire = bool(prepared.templated)
        try:
            return await loop.run_in_executor(self._executor, self._commit, batches, prepared)
        except (IntegrityError, sqlite3.IntegrityError):
            if prepared is None or prepared.event_ids is None:
                raise
            # SQLite: another writer took the event ids reserved for the templates; plan and render again
            log.info("the event ids reserved for a group were taken meanwhile; rendering it again")
            prepared = await self._render(loop, batches)
            return await loop.run_in_executor(self._executor, self._commit, batches, prepared)

    async def _render(
        self, loop: asyncio.AbstractEventLoop, batches: list[Sequence[IncomingEvent]]
    ) -> PreparedGroup | None:
        """Plan the group and render its templates in the pool — outside every transaction: a template that
        runs long or big fails its own item and never holds the database's write lock."""
        if self.render_pool is None:
            return None
        prepared = await loop.run_in_executor(self._executor, self._prepare, batches)
        if prepared.templated:
            outcomes = await self.render_pool.run_all(
                [
                    RenderJob("render", body, mime, data, extra, key=key)
                    for key, body, mime, data, extra in prepared.jobs()
                ]
            )
            prepared.fill(
                [(text or "", None) if error is None else ("", str(error)) for text, error in outcomes]
            )
        return prepared

    def _prepare(self, batches: list[Sequence[IncomingEvent]]) -> PreparedGroup:
        return prepare_batches(self._open_session(), batches)

    def _open_session(self) -> Session:
        session = self._session
        if session is None:
            self._connection = self.db.engine.connect()
            session = self._session = Session(bind=self._connection, expire_on_commit=False)
        return session

    def _commit(
        self,
        batches: list[Sequence[IncomingEvent]],
        prepared: PreparedGroup | None = None,
        render_templates: bool = True,
    ) -> list[IngestResult]:
        # One connection and one session for the life of the worker thread (they never leave it): a pool
        # checkout, a reset-on-return and a new session per group cost more than the group's statements.
        session = self._open_session()
        try:
            if prepared is not None:
                results = enqueue_batches(session, self.box, batches, prepared)
            elif render_templates:
                results = enqueue_batches(session, self.box, batches)
            else:
                results = enqueue_batches(session, self.box, batches, render_templates=False)
            session.commit()
        except TemplatesToRender:
            session.rollback()  # nothing of the group stays; it is planned and rendered outside, then stored
            raise
        except BaseException:
            self._close_session()  # rolls back; the next group starts on a fresh connection
            raise
        session.expunge_all()
        return results

    def _close_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _fail(request: _Request, message: str) -> None:
    if not request.future.done():
        request.future.set_exception(StoreFailed(message))


class StoreFailed(RuntimeError):
    """The events of a request could not be committed; nothing of them was stored."""
