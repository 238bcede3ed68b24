"""How ``serve`` spreads its work over processes (docs/delivery.md "Process model").

One worker is today's single process: listener, intake and delivery on one interpreter. With two or more,
a supervisor runs *intake* processes (listener + intake: parse, validate, plan, render, commit) and
*delivery* processes (claim, sign, send, record; plus the housekeeping: retention, the daily backup, the
certificate watch), each on its own interpreter, so they no longer share one core's worth of GIL.

SQLite has one writer at a time: a second delivery engine would only wait for the same write lock, so a
SQLite file gets one delivery process and every other worker takes events. PostgreSQL claims with
``SKIP LOCKED``: there the workers are split about evenly, intake first.

The delivery limits (``concurrency``, ``per_host_concurrency``) are totals for the service: each delivery
process gets its share, so a receiver never sees more requests at once than the settings allow.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``serve`` without ``--workers`` (and ``serve_workers`` 0) uses one worker per core, at most this many.
MAX_DEFAULT_WORKERS = 4


@dataclass(frozen=True, slots=True)
class ServeLayout:
    intake: int  # processes running the listener and the intake
    delivery: int  # processes delivering (the first one also runs the housekeeping)

    @property
    def single_process(self) -> bool:
        return self.intake == 0 and self.delivery == 0


def default_workers(cores: int | None) -> int:
    """One worker per core (1 core: today's single process), at most MAX_DEFAULT_WORKERS."""
    return max(1, min(int(cores or 1), MAX_DEFAULT_WORKERS))


def serve_layout(workers: int, *, sqlite: bool) -> ServeLayout:
    """The processes for ``workers`` (≥ 1). ``ServeLayout(0, 0)``: one process does everything."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers == 1:
        return ServeLayout(0, 0)
    delivery = 1 if sqlite else workers // 2
    return ServeLayout(workers - delivery, delivery)


def share(total: int, parts: int, index: int) -> int:
    """Part ``index`` of ``total`` split into ``parts`` nearly equal whole shares (each at least 1), so the
    shares add up to ``total`` whenever ``total >= parts``."""
    base, extra = divmod(max(1, int(total)), max(1, parts))
    return max(1, base + (1 if index < extra else 0))
