"""Statistics per endpoint for the Endpoints page and ``endpoints list`` (SPEC §11, docs/endpoints.md).

Figures come from the ``endpoint_minutes`` rollup (migration 0010): one row per endpoint and minute with the
attempts, how many failed and a latency histogram (20 bucket columns). The engine adds to it in its record
transaction with **one** upsert statement per batch (:func:`add_attempts`, called by store/claim.py
``record_outcomes``; a batch usually touches one row per endpoint), so the page reads at most
endpoints × 1,440 rows instead of the attempt log: it stays instant with millions of attempts
(benchmarks/endpoints_page.py). The rules (what counts, the buckets, percentiles) are
domain/endpoint_stats.py's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.breaker import endpoint_key, host_variants, short_name
from shopctrl_desktop.domain.endpoint_stats import (
    BUCKETS,
    DAY_MINUTES,
    HOUR_MINUTES,
    KEEP_MINUTES,
    Rate,
    delivered,
    endpoint_state,
    latency_bucket,
    percentile,
    state_rank,
)
from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.outcome import AttemptResult
from shopctrl_desktop.store.endpoints import EndpointSummary, circuit_of, list_endpoints, pending_count
from shopctrl_desktop.store.models import EndpointMinuteRow, EndpointRow, QueueItemRow, utcnow
from shopctrl_desktop.store.queue import retry_failed

_T = EndpointMinuteRow
_HIST = [f"b{n:02d}" for n in range(BUCKETS)]
_COUNTS = ["attempts", "failures", *_HIST]
_UPSERT = text(
    f"INSERT INTO endpoint_minutes (endpoint, minute, {', '.join(_COUNTS)}) "
    f"VALUES (:endpoint, :minute, {', '.join(':' + c for c in _COUNTS)}) "
    "ON CONFLICT (endpoint, minute) DO UPDATE SET "
    + ", ".join(f"{c} = endpoint_minutes.{c} + excluded.{c}" for c in _COUNTS)
)
_pruned_minute = 0


def minute_of(when: datetime) -> int:
    """Whole minutes since 1970-01-01 UTC (naive datetimes are UTC, as the store keeps them)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) // 60


def _tally(rows: Iterable[tuple[str, datetime, float, bool]]) -> list[dict[str, Any]]:
    """(url, started_at, duration_ms, delivered) -> one parameter set per endpoint and minute."""
    counts: dict[tuple[str, int], list[int]] = {}
    for url, started_at, duration_ms, ok in rows:
        key = (endpoint_key(url), minute_of(started_at))
        cell = counts.get(key)
        if cell is None:
            cell = counts[key] = [0] * (2 + BUCKETS)
        cell[0] += 1
        if not ok:
            cell[1] += 1
        cell[2 + latency_bucket(duration_ms)] += 1
    return [
        {"endpoint": k[0], "minute": k[1], **dict(zip(_COUNTS, cell, strict=True))}
        for k, cell in counts.items()
    ]


def add_attempts(conn: Connection, outcomes: Sequence[tuple[Any, AttemptResult]]) -> None:
    """Add one batch of recorded attempts (``(item with .url, result)``) to the rollup, in the caller's
    transaction: one upsert statement for the batch. Attempts that made no request are not counted. Rows
    older than two days are dropped once a minute."""
    global _pruned_minute
    params = _tally(
        (item.url, res.started_at, res.duration_ms, delivered(res.status_code))
        for item, res in outcomes
        if not res.permanent
    )
    if not params:
        return
    conn.execute(_UPSERT, params)
    newest = max(p["minute"] for p in params)
    if newest != _pruned_minute:
        _pruned_minute = newest
        conn.execute(text("DELETE FROM endpoint_minutes WHERE minute < :cut"), {"cut": newest - KEEP_MINUTES})


def rebuild_rollup(session: Session, now: datetime | None = None) -> int:
    """Recount the last two days from the attempt log (an upgrade, the benchmark, a repair). Returns how many
    attempts were counted."""
    from shopctrl_desktop.store.models import DeliveryAttemptRow

    now = now or utcnow()
    since = now - timedelta(minutes=KEEP_MINUTES)
    session.execute(text("DELETE FROM endpoint_minutes"))
    query = (
        select(QueueItemRow.url, DeliveryAttemptRow.started_at, DeliveryAttemptRow.duration_ms)
        .add_columns(DeliveryAttemptRow.status_code)
        .join(QueueItemRow, QueueItemRow.id == DeliveryAttemptRow.item_id)
        .where(DeliveryAttemptRow.started_at >= since)
    )
    rows = [(u, s, d or 0.0, delivered(c)) for u, s, d, c in session.execute(query)]
    params = _tally(rows)
    for start in range(0, len(params), 5000):
        session.execute(_UPSERT, params[start : start + 5000])
    return len(rows)


# ---------------------------------------------------------------------------------------------- the page
@dataclass(frozen=True)
class EndpointStats:
    """One row of the Endpoints page: the list's summary plus the statistics."""

    summary: EndpointSummary
    hour: Rate
    day: Rate
    p50_ms: float | None  # latency over the last hour (the last 24 h when the hour had no attempt)
    p95_ms: float | None
    trend: tuple[Rate, ...]  # 24 hours, oldest first

    @property
    def key(self) -> str:
        return self.summary.url

    @property
    def name(self) -> str:
        return short_name(self.summary.url)

    def to_json(self) -> dict[str, Any]:
        def rate(value: Rate) -> float | None:
            return None if value.success is None else round(value.success, 4)

        return {
            **self.summary.to_json(),
            "successRate1h": rate(self.hour),
            "successRate24h": rate(self.day),
            "attempts1h": self.hour.attempts,
            "attempts24h": self.day.attempts,
            "latencyP50Ms": None if self.p50_ms is None else round(self.p50_ms, 1),
            "latencyP95Ms": None if self.p95_ms is None else round(self.p95_ms, 1),
        }


def endpoint_page(
    session: Session, now: datetime | None = None, *, offline: bool = False
) -> list[EndpointStats]:
    """Every endpoint (store/endpoints.py ``list_endpoints``) with its state (domain/endpoint_stats.py
    ``endpoint_state``; ``offline``: this workstation is offline), success rates, latency percentiles and
    24-hour trend, the most urgent state first. Two grouped reads of the rollup: per endpoint and hour over the
    day, per endpoint over the last hour."""
    now = now or utcnow()
    current = minute_of(now)
    day_start, hour_start = current - DAY_MINUTES + 1, current - HOUR_MINUTES + 1
    sums = [func.sum(getattr(_T, c)) for c in _COUNTS]
    slot = (_T.minute - day_start) // 60
    hourly: dict[str, list[list[int]]] = {}
    for key, hour, attempts, failures in session.execute(
        select(_T.endpoint, slot, func.sum(_T.attempts), func.sum(_T.failures))
        .where(_T.minute >= day_start, _T.minute <= current)
        .group_by(_T.endpoint, slot)
    ):
        cell = hourly.setdefault(key, [[0, 0] for _ in range(24)])[min(23, max(0, int(hour)))]
        cell[0] += int(attempts)
        cell[1] += int(failures)
    recent: dict[str, list[int]] = {
        key: [int(v) for v in values]
        for key, *values in session.execute(
            select(_T.endpoint, *sums)
            .where(_T.minute >= hour_start, _T.minute <= current)
            .group_by(_T.endpoint)
        )
    }
    # latency of a quiet endpoint (no attempt in the last hour): its last 24 h
    quiet = [key for key in hourly if not recent.get(key, [0])[0]]
    day_hist: dict[str, list[int]] = {}
    if quiet:
        for key, *values in session.execute(
            select(_T.endpoint, *sums[2:])
            .where(_T.minute >= day_start, _T.minute <= current, _T.endpoint.in_(quiet))
            .group_by(_T.endpoint)
        ):
            day_hist[key] = [int(v) for v in values]
    result = []
    for summary in list_endpoints(session):
        key = summary.url
        trend = tuple(Rate(a, f) for a, f in hourly.get(key, [[0, 0]] * 24))
        last = recent.get(key)
        hist = last[2:] if last and last[0] else day_hist.get(key, [])
        last_hour = Rate(last[0], last[1]) if last else Rate()
        state = endpoint_state(
            summary.state,
            last_hour,
            summary.failed_last_hour,
            offline=offline,
            waiting=summary.queued + summary.retrying,
        )
        result.append(
            EndpointStats(
                summary=replace(summary, state=state),
                hour=last_hour,
                day=Rate(sum(r.attempts for r in trend), sum(r.failures for r in trend)),
                p50_ms=percentile(hist, 0.5),
                p95_ms=percentile(hist, 0.95),
                trend=trend,
            )
        )
    result.sort(key=lambda e: (state_rank(e.summary.state), e.key))
    return result


@dataclass(frozen=True)
class MinuteSeries:
    """Deliveries and failures per minute over the last 24 h for one endpoint (the page's chart)."""

    key: str
    start: datetime  # the first minute (UTC)
    delivered: tuple[int, ...]
    failed: tuple[int, ...]
    outage_since: datetime | None = None  # while its circuit is open or it is paused: since when


def minute_series(session: Session, key: str, now: datetime | None = None) -> MinuteSeries:
    now = now or utcnow()
    current = minute_of(now)
    first = current - DAY_MINUTES + 1
    ok = [0] * DAY_MINUTES
    bad = [0] * DAY_MINUTES
    for minute, attempts, failures in session.execute(
        select(_T.minute, func.sum(_T.attempts), func.sum(_T.failures))
        .where(_T.endpoint == key, _T.minute >= first, _T.minute <= current)
        .group_by(_T.minute)
    ):
        ok[minute - first] = int(attempts) - int(failures)
        bad[minute - first] = int(failures)
    row = session.scalar(select(EndpointRow).where(EndpointRow.url == key))
    circuit = circuit_of(row)
    since = (circuit.failing_since or circuit.opened_at or circuit.paused_at) if circuit.blocked else None
    return MinuteSeries(key, datetime.fromtimestamp(first * 60, UTC), tuple(ok), tuple(bad), since)


# ---------------------------------------------------------------------------------------------- recovery
@dataclass(frozen=True)
class RetryPlan:
    """What "Retry everything that failed since the outage began" would do: the failed items of the endpoint
    that finished since ``since`` (None: no outage recorded for it)."""

    key: str
    since: datetime | None
    item_ids: tuple[int, ...]


def outage_start(session: Session, key: str) -> datetime | None:
    """When the endpoint's current (or last) outage began: the first failure of the run of failures, else
    when its circuit opened. None when it has no outage on record (or was resumed by a person since)."""
    row = session.scalar(select(EndpointRow).where(EndpointRow.url == key))
    if row is None:
        return None
    circuit = circuit_of(row)
    return circuit.failing_since or circuit.opened_at


def plan_retry_since_outage(session: Session, key: str, since: datetime | None = None) -> RetryPlan:
    """The failed items of endpoint ``key`` that finished at or after ``since`` (default: the outage start)."""
    since = since or outage_start(session, key)
    if since is None:
        return RetryPlan(key, None, ())
    query = select(QueueItemRow.id, QueueItemRow.url).where(
        QueueItemRow.status == ItemStatus.FAILED.value,
        QueueItemRow.host.in_(host_variants(key)),
        QueueItemRow.finished_at >= since,
    )
    ids = tuple(sorted(i for i, url in session.execute(query) if endpoint_key(url) == key))
    return RetryPlan(key, since, ids)


def retry_planned(session: Session, plan: RetryPlan) -> int:
    """Retry the plan's items that are still failed (store/queue.py ``retry_failed``: one audit entry)."""
    return retry_failed(session, plan.item_ids).total if plan.item_ids else 0


# ---------------------------------------------------------------------------------------------- status bar
@dataclass(frozen=True)
class CircuitNote:
    """The status bar's note while circuits are open: the longest-failing endpoint and what waits."""

    name: str
    since: datetime | None
    waiting: int
    others: int  # more endpoints with an open circuit

    def text(self) -> str:
        when = self.since.astimezone().strftime("%H:%M") if self.since else "a while"
        more = f" (+{self.others} more)" if self.others else ""
        return f"{self.name} failing since {when} — {self.waiting:,} waiting{more}"


def circuit_note(session: Session) -> CircuitNote | None:
    """None while no endpoint has an open (or probing) circuit; paused endpoints are a person's choice."""
    rows = [
        row
        for row in session.scalars(select(EndpointRow).where(EndpointRow.state != "closed"))
        if not row.paused
    ]
    if not rows:
        return None
    rows.sort(key=lambda r: r.failing_since or r.opened_at or datetime.max.replace(tzinfo=UTC))
    first = rows[0]
    return CircuitNote(
        short_name(first.url),
        first.failing_since or first.opened_at,
        sum(pending_count(session, row.url) for row in rows),
        len(rows) - 1,
    )
