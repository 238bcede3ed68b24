"""The state an admin reads per endpoint (domain/endpoint_stats.py ``endpoint_state``, docs/endpoints.md
"States"): the pure rule, and the page/``endpoints list`` figures built with it on a real SQLite file."""

from __future__ import annotations

import json

from shopctrl_desktop.domain.endpoint_stats import STATES, Rate, endpoint_state, state_rank
from shopctrl_desktop.store.endpoint_stats import endpoint_page
from tests.helpers.factories import make_action, record_attempts
from tests.unit.test_cli import make_dir  # noqa: F401 - the fixture

GONE = "https://erp.example.com/gone/returns"
ERP = "https://erp.example.com/api/orders"


def test_a_closed_circuit_with_mostly_failed_attempts_is_failing():
    # 47 % delivered in the last hour: the breaker saw 4xx answers (not its failures), the admin sees failing
    assert endpoint_state("healthy", Rate(17, 9), 0) == "failing"
    assert endpoint_state("healthy", Rate(4, 1), 0) == "healthy"  # 75 %: mostly delivered
    assert endpoint_state("healthy", Rate(2, 2), 0) == "healthy"  # too few attempts to call it
    assert endpoint_state("healthy", Rate(), 0) == "healthy"


def test_an_item_that_failed_for_good_in_the_last_hour_makes_it_failing():
    assert endpoint_state("healthy", Rate(100, 1), 1) == "failing"
    assert endpoint_state("healthy", Rate(), 2) == "failing"


def test_the_breakers_own_states_stand():
    for label in ("circuit open", "probing", "failing"):
        assert endpoint_state(label, Rate(10, 0), 0) == label
    assert endpoint_state("paused", Rate(10, 10), 3) == "paused"


def test_offline_applies_to_endpoints_with_waiting_items_only():
    assert endpoint_state("healthy", Rate(10, 0), 0, offline=True, waiting=3) == "offline"
    assert endpoint_state("circuit open", Rate(10, 10), 0, offline=True, waiting=1) == "offline"
    assert endpoint_state("healthy", Rate(10, 0), 0, offline=True, waiting=0) == "healthy"
    assert endpoint_state("paused", Rate(), 0, offline=True, waiting=5) == "paused"  # a person's choice
    assert endpoint_state("healthy", Rate(10, 0), 0, offline=False, waiting=3) == "healthy"


def test_states_sort_most_urgent_first():
    assert sorted(["healthy", "failing", "offline", "circuit open", "paused"], key=state_rank) == [
        "paused",
        "offline",
        "circuit open",
        "failing",
        "healthy",
    ]
    assert state_rank("something new") == len(STATES)


def test_page_and_list_call_an_endpoint_answering_410_failing(db, box, make_dir):  # noqa: F811
    gone = make_action(db, box, GONE, title="Returns")
    erp = make_action(db, box, ERP, title="Orders")
    record_attempts(db, gone, [(200, 50.0)] * 2 + [(410, 30.0)] * 2)  # 50 %, two items gave up (410)
    record_attempts(db, erp, [(200, 50.0)] * 5)
    with db.sessions() as s:
        page = {e.key: e for e in endpoint_page(s)}
        assert page[GONE].summary.state == "failing" and page[GONE].summary.failed == 2
        assert page[ERP].summary.state == "healthy"
        assert [e.key for e in endpoint_page(s)] == [GONE, ERP]  # failing first
        offline = {e.key: e.summary.state for e in endpoint_page(s, offline=True)}
        assert offline == {GONE: "failing", ERP: "healthy"}  # nothing waits: not offline

    d = make_dir()
    d.run("triggers", "list")
    db2, box2 = d.open()
    returns = make_action(db2, box2, GONE, title="Returns")
    record_attempts(db2, returns, [(410, 30.0)])
    code, out, _ = d.run("endpoints", "list", "--json")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["state"] == "failing" and entry["failed"] == 1
