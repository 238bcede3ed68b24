"""Offline awareness through the real engine, real SQLite and real HTTP receivers on 127.0.0.1, 127.0.0.2 and
127.0.0.3 (Linux routes 127/8 to the loopback: three distinct hosts). "Taking the network away" stops the three
receivers (every connection refused); bringing it back starts them again on the same ports."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from shopctrl_desktop.store.models import DeliveryAttemptRow, QueueItemRow
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.receivers import Receiver

pytestmark = pytest.mark.serial  # asserts on timing: runs alone (scripts/test)

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
SETTINGS = fast_settings(
    concurrency=3,
    per_host_concurrency=1,
    offline_first_probe_seconds=0.1,
    offline_max_probe_seconds=0.2,
)


def attempts(db) -> dict[int, int]:
    with db.session() as s:
        return {r.id: r.attempts for r in s.scalars(select(QueueItemRow))}


def attempt_rows(db) -> int:
    with db.session() as s:
        return len(list(s.scalars(select(DeliveryAttemptRow.id))))


async def start_receivers(ports=(0, 0, 0)) -> list[Receiver]:
    return [await Receiver(host=host, port=port).start() for host, port in zip(HOSTS, ports, strict=True)]


def probes(observer, since: int) -> int:
    """Items claimed after ``observer.changes[since]`` (while offline each is a probe)."""
    return sum(1 for change in observer.changes[since:] if change.status == "sending")


def offline_states(observer) -> list[str]:
    return [state for component, state, _ in observer.states if component == "delivery"]


async def test_the_network_taken_away_pauses_deliveries_without_spending_attempts(db, box):
    receivers = await start_receivers()
    ports = [r.port for r in receivers]
    actions = [
        make_action(db, box, r.url(f"/hook{n}"), title=f"to {r.host}") for n, r in enumerate(receivers)
    ]
    for r in receivers:  # the network goes: every host refuses
        await r.stop()
    ids = [i for action in actions for i in add_items(db, action, 4)]

    async with running_engine(db, box, SETTINGS, poll_interval=0.1) as (engine, observer):
        await observer.wait_until(lambda: "offline" in offline_states(observer))
        assert engine.offline and engine.offline_since is not None
        went = len(observer.changes)  # a probe goes 0.1 s later at the earliest
        # probes go at growing intervals (one item claimed each time) and are given back: wait for several
        await observer.wait_until(lambda: probes(observer, went) >= 3)
        burst = sum(attempts(db).values())
        # at most the detection burst: the first unreachable attempts of two hosts (the third host's makes it
        # offline and is given back), and what was already under way
        assert 1 <= burst <= 2 * SETTINGS.per_host_concurrency
        await observer.wait_until(lambda: probes(observer, went) >= 6)
        assert sum(attempts(db).values()) == burst, "nothing spent while offline"
        assert attempt_rows(db) == burst
        # waiting (or the one probe under way), none failed
        assert set(observer.status[i] for i in ids) <= {"queued", "retrying", "sending"}

        # the network is back: the same hosts and ports answer again
        receivers = await start_receivers(ports)
        back = time.monotonic()
        final = await observer.wait_final(ids)
        assert set(final.values()) == {"delivered"}
        assert offline_states(observer)[-1] == "running"
        assert ("delivery", "running", "network available again") in observer.states
        assert not engine.offline and engine.offline_since is None
        assert time.monotonic() - back < 5  # resumed by itself, within a probe wait
        spent = attempts(db)
        assert sum(spent.values()) == len(ids) + burst
        assert max(spent.values()) <= 2
        assert sum(len(r.requests) for r in receivers) == len(ids)
    for r in receivers:
        await r.stop()


async def test_one_dead_receiver_is_not_offline(db, box):
    """A single host that refuses is a dead receiver (the circuit breaker's business): the others keep going."""
    receivers = await start_receivers()
    dead, *alive = receivers
    await dead.stop()
    to_dead = add_items(db, make_action(db, box, dead.url()), 3)
    flowing = [i for r in alive for i in add_items(db, make_action(db, box, r.url()), 3)]
    async with running_engine(db, box, SETTINGS) as (engine, observer):
        assert set((await observer.wait_final(flowing)).values()) == {"delivered"}
        await observer.wait_until(lambda: sum(attempts(db)[i] for i in to_dead) >= 3)
        assert "offline" not in offline_states(observer) and not engine.offline
    for r in alive:
        await r.stop()


async def test_the_system_reporting_no_network_pauses_until_a_probe_connects(db, box):
    """The desktop app's QNetworkInformation path: set_network_online(False) pauses at once; the first probe
    (after offline_first_probe_seconds) that connects resumes everything."""
    settings = fast_settings(concurrency=3, offline_first_probe_seconds=0.3, offline_max_probe_seconds=1.0)
    (receiver,) = [await Receiver().start()]
    action = make_action(db, box, receiver.url())
    async with running_engine(db, box, settings, poll_interval=0.1) as (engine, observer):
        engine.set_network_online(False)
        await observer.wait_until(lambda: "offline" in offline_states(observer))
        went = time.monotonic()
        ids = add_items(db, action, 5)
        engine.wake()
        await receiver.wait_for(1)
        assert receiver.requests[0].at - went >= 0.25  # nothing before the probe
        assert set((await observer.wait_final(ids)).values()) == {"delivered"}
        assert offline_states(observer)[-1] == "running" and not engine.offline
        assert sum(attempts(db).values()) == 5

        engine.set_network_online(False)
        await observer.wait_until(lambda: offline_states(observer)[-1] == "offline")
        engine.set_network_online(True)  # the system says the network is back: resume at once
        await observer.wait_until(lambda: offline_states(observer)[-1] == "running")
    await receiver.stop()


@pytest.mark.parametrize("host", HOSTS[1:])
async def test_loopback_aliases_are_distinct_hosts(host):
    r = await Receiver(host=host).start()
    assert r.url().startswith(f"http://{host}:")
    await r.stop()


async def test_probes_skip_hosts_that_failed_so_a_working_one_ends_offline(db, box):
    """Offline, with three receivers really down whose items rank highest: each probe avoids the hosts whose
    probe failed, so one soon reaches the working receiver — that ends "offline" and its items go. The dead
    hosts' probes are given back uncounted."""
    dead = await start_receivers()
    for r in dead:
        await r.stop()
    alive = await Receiver(host="127.0.0.4").start()
    dead_actions = [make_action(db, box, r.url(f"/dead{n}")) for n, r in enumerate(dead)]
    alive_action = make_action(db, box, alive.url())
    async with running_engine(db, box, SETTINGS, poll_interval=0.1) as (engine, observer):
        engine.set_network_online(False)
        await observer.wait_until(lambda: "offline" in offline_states(observer))
        to_dead = [i for action in dead_actions for i in add_items(db, action, 2, priority=5)]
        flowing = add_items(db, alive_action, 5, priority=1)
        engine.wake()
        assert set((await observer.wait_final(flowing)).values()) == {"delivered"}
        states = offline_states(observer)
        assert "running" in states[states.index("offline") :]
        # the probes to the dead hosts before the working one was reached spent nothing
        assert attempts(db)[flowing[0]] == 1
        assert len(to_dead) == 6
    await alive.stop()


async def test_the_sender_classifies_refused_as_unreachable_and_answers_not():
    from shopctrl_desktop.engine.senders import AiohttpSender, OutgoingRequest

    r = await Receiver(host="127.0.0.2").start()
    sender, fresh = AiohttpSender(), AiohttpSender()  # fresh: no keep-alive connection left over
    try:
        answered = await sender.send(OutgoingRequest("POST", r.url(), {}, b"{}", timeout=5))
        await r.stop()
        refused = await fresh.send(OutgoingRequest("POST", r.url(), {}, b"{}", timeout=5))
    finally:
        await sender.close()
        await fresh.close()
    assert answered.ok and not answered.unreachable
    assert refused.unreachable and refused.error.startswith("connection refused by 127.0.0.2:")


async def test_health_says_offline_while_deliveries_are_paused(db, box, app_paths):
    import aiohttp

    from shopctrl_desktop.engine.service import Engine
    from tests.helpers.engine_harness import RecordingObserver

    observer = RecordingObserver()
    settings = fast_settings(listen_port=0, offline_first_probe_seconds=600.0)
    engine = Engine(db, box, settings, app_paths, observer)
    await engine.start()
    try:
        url = f"http://{engine.listener_address}/health"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as answer:
                assert (await answer.json())["offline"] is False
            engine.set_network_online(False)
            await observer.wait_until(lambda: "offline" in offline_states(observer))
            async with http.get(url) as answer:
                health = await answer.json()
            assert answer.status == 200 and health["status"] == "ok" and health["offline"] is True
            engine.set_network_online(True)
            await observer.wait_until(lambda: offline_states(observer)[-1] == "running")
            async with http.get(url) as answer:
                assert (await answer.json())["offline"] is False
    finally:
        await engine.stop()
