"""Demo building blocks: its own data dir, demo triggers pointing at the sample receiver, the receiver answers.

The end-to-end run is tests/e2e/test_demo_headless.py.
"""

from __future__ import annotations

import json

import httpx

from shopctrl_desktop.demo.main import demo_paths
from shopctrl_desktop.demo.receiver import SampleReceiver
from shopctrl_desktop.demo.triggers import load_demo_triggers


def test_demo_data_dir_is_separate(tmp_path):
    paths = demo_paths(tmp_path / "real")
    assert paths.data_dir == (tmp_path / "real" / "demo").resolve()
    assert paths.log_dir.is_relative_to(paths.data_dir)


def test_demo_triggers_point_at_the_receiver():
    triggers = load_demo_triggers("127.0.0.1:4321")
    urls = [a.url for t in triggers for a in t.actions]
    assert urls and all(u.startswith("http://127.0.0.1:4321/") for u in urls)
    assert "{receiver}" not in json.dumps(urls)
    for kind in ("fail", "gone", "flaky", "slow"):
        assert any(f"/{kind}" in u for u in urls), f"the demo needs a {kind} endpoint"


async def test_sample_receiver_answers_by_path():
    receiver = SampleReceiver(delay_range=(0, 0.01))
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=receiver.base_url) as client:
            assert (await client.post("/ok/x", content=b"{}")).status_code == 200
            assert (await client.post("/fail/x", content=b"{}")).status_code == 500
            assert (await client.post("/gone/x", content=b"{}")).status_code == 410
            receiver.expect_signature("/signed", "github", "s3")
            assert (await client.post("/signed", content=b"{}")).status_code == 401
            summary = (await client.get("/")).json()
        assert summary["answers"] == {"200": 1, "500": 1, "410": 1, "401": 1}
        assert summary["badSignatures"] == 1
    finally:
        await receiver.stop()


def test_restarted_demo_updates_its_triggers_in_place(db, box):
    from shopctrl_desktop.demo.triggers import import_demo_triggers
    from shopctrl_desktop.store.triggers import list_triggers

    first = import_demo_triggers(db, box, load_demo_triggers("http://127.0.0.1:1111"))
    second = import_demo_triggers(db, box, load_demo_triggers("http://127.0.0.1:2222"))
    assert first == second
    with db.session() as session:
        stored = list_triggers(session, box)
    urls = [a.url for t in stored for a in t.actions]
    assert len(stored) == len(first)
    assert urls and all(u.startswith("http://127.0.0.1:2222/") for u in urls)
    # secrets from the demo file survive the round trip through the encrypted store
    assert any(a.hmac_secret for t in stored for a in t.actions)


def test_each_round_shows_other_entities_but_the_same_shop():
    from shopctrl_desktop.demo.events import load_sample_events, vary_entities

    sample = next(e for e in load_sample_events() if e["event"] == "OrderChanged")
    order_id, code = sample["entityData"]["OrderId"], sample["entityData"]["OrderCode"]
    assert vary_entities(sample, 0) == sample
    varied = vary_entities(sample, 5)
    assert varied["entityData"]["OrderId"] == order_id + 5
    assert varied["data"]["Order"]["Id"] == order_id + 5
    assert varied["entityData"]["OrderCode"] == code.replace(str(order_id), str(order_id + 5))
    assert varied["shopId"] == sample["shopId"]
