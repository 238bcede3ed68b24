"""Delivery throughput: the engine end to end vs. a bare aiohttp client (the ceiling), same run.

A local aiohttp receiver runs in a separate process (it does not share the engine's loop). The database
(SQLite, WAL, synchronous=FULL) is pre-filled with N queued items for one action with an HMAC secret.
Then, in rounds that alternate so both see the same machine load (the machine is shared):

* **ceiling**: a bare ``aiohttp.ClientSession`` posts N/rounds of the same bodies with the same concurrency;
* **engine**: a DeliveryEngine starts, claims -> signs -> sends -> records until another N/rounds items are
  finished, and stops (measured from start() to the end of stop(), drain included);
* **httpx** (for the record, fewer requests): a bare ``httpx.AsyncClient`` at the same concurrency —
  why the engine's sender is aiohttp (engine/senders.py).

    python3 benchmarks/delivery.py [--items 20000] [--concurrency 64] [--rounds 4] [--httpx-items 2000]

Target (issue 3): >= 1,000 deliveries/s and >= 0.5 x the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from benchmarks.receiver import ReceiverProcess  # noqa: E402
from shopctrl_desktop.config import Settings  # noqa: E402
from shopctrl_desktop.domain.model import Trigger, WebhookAction  # noqa: E402
from shopctrl_desktop.domain.signing import generate_secret  # noqa: E402
from shopctrl_desktop.engine.delivery import DeliveryEngine  # noqa: E402
from shopctrl_desktop.engine.progress import NullObserver  # noqa: E402
from shopctrl_desktop.runtime import tune_process  # noqa: E402
from shopctrl_desktop.store.db import Database  # noqa: E402
from shopctrl_desktop.store.models import DeliveryAttemptRow, EventRow, QueueItemRow, utcnow  # noqa: E402
from shopctrl_desktop.store.secrets import SecretBox  # noqa: E402
from shopctrl_desktop.store.triggers import get_trigger, save_trigger  # noqa: E402


# ----------------------------------------------------------------------------- data
def body_for(n: int) -> str:
    return json.dumps(
        {
            "Trigger": "OrderChanged",
            "TriggerActionId": 1,
            "entityData": {"OrderId": 100000 + n, "OrderCode": f"ORD-{n}"},
        }
    )


def prefill(db: Database, box: SecretBox, url: str, items: int) -> WebhookAction:
    action = WebhookAction(url=url, hmac_secret=generate_secret("shopctrl"))
    with db.session() as s:
        trigger_id = save_trigger(s, box, Trigger(title="Bench", event="OrderChanged", actions=(action,)))
        stored = get_trigger(s, box, trigger_id)
        assert stored is not None
        action = stored.actions[0]
        event = EventRow(event="OrderChanged", occurred_at=utcnow(), entity_type="Order", entity_id="1")
        s.add(event)
        s.flush()
        now = utcnow()
        headers = json.dumps(
            {"Content-Type": "application/json; charset=utf-8", "X-ShopCtrl-Trigger": "OrderChanged"}
        )
        host = url.split("/")[2]
        rows = [
            {
                "trigger_id": trigger_id,
                "action_id": action.id,
                "event_id": event.id,
                "trigger_title": "Bench",
                "event_name": "OrderChanged",
                "entity_type": "Order",
                "entity_id": str(n),
                "priority": 3,
                "status": "queued",
                "method": "POST",
                "url": url,
                "host": host,
                "headers_json": headers,
                "body": body_for(n),
                "created_at": now,
                "next_attempt_at": now,
            }
            for n in range(items)
        ]
        for start in range(0, items, 5000):
            s.execute(insert(QueueItemRow), rows[start : start + 5000])
    return action


# ----------------------------------------------------------------------------- measurements
class _Counter(NullObserver):
    def __init__(self) -> None:
        self.final = 0
        self.target = 0
        self.reached = asyncio.Event()

    def items_changed(self, changes) -> None:  # type: ignore[no-untyped-def]
        self.final += sum(1 for c in changes if c.status in ("delivered", "failed"))
        if self.final >= self.target:
            self.reached.set()


async def run_engine(db: Database, box: SecretBox, counter: _Counter, until: int, concurrency: int) -> float:
    """Start the engine, wait until ``until`` items in total are finished, stop it (sends in flight are
    drained and recorded); returns the seconds from start() to the end of stop()."""
    settings = replace(Settings(), concurrency=concurrency, per_host_concurrency=concurrency)
    counter.target = until
    counter.reached.clear()
    engine = DeliveryEngine(db, box, settings, counter)
    t0 = time.perf_counter()
    await engine.start()
    await asyncio.wait_for(counter.reached.wait(), 600)
    await engine.stop()
    return time.perf_counter() - t0


async def run_bare_aiohttp(url: str, items: int, concurrency: int) -> float:
    bodies = [body_for(n).encode() for n in range(items)]
    headers = {"Content-Type": "application/json; charset=utf-8", "X-ShopCtrl-Trigger": "OrderChanged"}
    it = iter(bodies)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in it:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0


async def run_bare_httpx(url: str, items: int, concurrency: int) -> float:
    bodies = [body_for(n).encode() for n in range(items)]
    headers = {"Content-Type": "application/json; charset=utf-8", "X-ShopCtrl-Trigger": "OrderChanged"}
    it = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            for body in it:
                resp = await client.post(url, content=body, headers=headers)
                assert resp.status_code == 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4, help="alternate engine and ceiling this many times")
    parser.add_argument("--httpx-items", type=int, default=2000, help="0 skips the httpx figure")
    args = parser.parse_args()
    tune_process()  # as `serve` does (the receiver process is spawned: it starts untuned)

    receiver = ReceiverProcess.start()
    url = receiver.url
    chunk = args.items // args.rounds
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.sqlite3")
            box = SecretBox.generate()
            t = time.perf_counter()
            prefill(db, box, url, args.items)
            print(f"pre-filled {args.items} queued items in {time.perf_counter() - t:.1f} s")

            async def measure() -> tuple[float, float, int, float | None]:
                await run_bare_aiohttp(url, min(2000, args.items), args.concurrency)  # warm-up
                counter = _Counter()
                engine_s = ceiling_s = 0.0
                ceiling_n = 0
                for r in range(1, args.rounds + 1):
                    # the machine is shared: alternate, so both see the same load
                    c = await run_bare_aiohttp(url, chunk, args.concurrency)
                    e = await run_engine(
                        db, box, counter, args.items if r == args.rounds else r * chunk, args.concurrency
                    )
                    print(
                        f"  round {r}: ceiling {chunk / c:7.0f}/s   engine {counter.final:6d} done, {e:.2f} s"
                    )
                    ceiling_s += c
                    ceiling_n += chunk
                    engine_s += e
                bare_httpx = None
                if args.httpx_items:
                    bare_httpx = await run_bare_httpx(url, args.httpx_items, args.concurrency)
                return engine_s, ceiling_s, ceiling_n, bare_httpx

            engine_s, ceiling_s, ceiling_n, httpx_s = asyncio.run(measure())
            with db.session() as s:
                delivered = s.scalar(select(func.count()).where(QueueItemRow.status == "delivered"))
                attempts = s.scalar(select(func.count()).select_from(DeliveryAttemptRow))
            db.dispose()
    finally:
        receiver.stop()

    engine_rate = args.items / engine_s
    ceiling_rate = ceiling_n / ceiling_s
    print(f"concurrency {args.concurrency}, {args.items} items, receiver in a separate process")
    print(f"engine (claim -> sign -> send -> record): {engine_rate:8.0f} deliveries/s  ({engine_s:.2f} s)")
    print(f"bare aiohttp.ClientSession (ceiling):     {ceiling_rate:8.0f} requests/s    ({ceiling_s:.2f} s)")
    if httpx_s is not None:
        print(
            f"bare httpx.AsyncClient ({args.httpx_items} requests):    {args.httpx_items / httpx_s:8.0f} requests/s"
        )
    ratio = engine_rate / ceiling_rate
    print(f"ratio engine / ceiling: {ratio:.2f}")
    print(f"database: {delivered} delivered, {attempts} attempt rows")
    ok = engine_rate >= 1000 and ratio >= 0.5 and delivered == args.items and attempts == args.items
    print("target (>= 1,000/s and >= 0.5 x ceiling, every item delivered once):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
