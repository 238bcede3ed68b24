"""The delivery scheduler on plain data: slots, claim-ahead, capped hosts and strict priority (no I/O)."""

from __future__ import annotations

from typing import NamedTuple

from shopctrl_desktop.domain.model import Priority
from shopctrl_desktop.domain.scheduler import NOTHING, PREFETCH, UNKNOWN, DeliveryScheduler

LOWEST, NORMAL, HIGHEST = int(Priority.LOWEST), int(Priority.NORMAL), int(Priority.HIGHEST)


class Item(NamedTuple):
    id: int
    priority: int = NORMAL
    host: str = "a.example"


def claim(s: DeliveryScheduler[Item], db: list[Item]) -> list[Item]:
    """What the store's claim does with the plan: the first ``want`` due items (priority DESC, id) whose
    host stays within the cap; they leave ``db``."""
    plan = s.claim_plan()
    assert plan is not None
    in_hand = dict(plan.host_in_hand)
    taken: list[Item] = []
    for item in sorted(db, key=lambda it: (-it.priority, it.id)):
        if len(taken) >= plan.want:
            break
        if in_hand.get(item.host, 0) >= plan.host_cap:
            continue
        in_hand[item.host] = in_hand.get(item.host, 0) + 1
        taken.append(item)
    for item in taken:
        db.remove(item)
    s.claimed(plan, taken)
    return taken


def send_all_possible(s: DeliveryScheduler[Item]) -> list[Item]:
    sent = []
    while (item := s.next_to_send()) is not None:
        sent.append(item)
    return sent


def test_claims_ahead_prefetch_items_per_slot_then_waits_for_a_quarter_of_the_room():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=4, per_host=4)
    db = [Item(i) for i in range(1, 101)]
    assert len(claim(s, db)) == PREFETCH * 4 == 16
    sending = send_all_possible(s)
    assert [it.id for it in sending] == [1, 2, 3, 4] and s.waiting == 12
    s.sent(sending[0])
    s.sent(sending[1])
    s.sent(sending[2])
    assert s.claim_plan() is None  # room 3 < a quarter of 16
    s.sent(sending[3])
    plan = s.claim_plan()
    assert plan is not None and plan.want == 4


def test_global_and_per_host_slots():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=3, per_host=2)
    db = [Item(1, host="slow"), Item(2, host="slow"), Item(3, host="slow"), Item(4, host="fast")]
    claim(s, db)
    sent = send_all_possible(s)
    assert [it.id for it in sent] == [1, 2, 4]  # the third "slow" item waits for its host
    assert s.next_to_send() is None and s.sending == 3
    s.sent(sent[2])  # "fast" is done: a global slot is free, but "slow" is at its limit
    assert s.next_to_send() is None
    s.sent(sent[0])
    assert s.next_to_send() == Item(3, host="slow")


def test_waiting_items_go_by_priority_then_id_not_in_claim_order():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=1, per_host=1)
    s.ceiling = NOTHING
    s.add([Item(5, LOWEST), Item(6, LOWEST)])
    s.add([Item(9, HIGHEST), Item(7, NORMAL), Item(8, HIGHEST)])
    order = []
    while (item := s.next_to_send()) is not None:
        order.append(item.id)
        s.sent(item)
    assert order == [8, 9, 7, 5, 6]


def test_the_issue_case_a_higher_item_still_in_the_database_overtakes_the_items_claimed_ahead():
    """Concurrency 1: one slow item in flight, three lowest claimed ahead, then one highest is queued."""
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=1, per_host=4)
    db = [Item(1)]
    claim(s, db)
    (slow,) = send_all_possible(s)
    db += [Item(2, LOWEST), Item(3, LOWEST), Item(4, LOWEST)]
    s.wake()
    assert [it.id for it in claim(s, db)] == [2, 3, 4]  # claimed ahead: the hand is full (4 per slot)
    db.append(Item(5, HIGHEST))
    s.wake()
    assert s.claim_plan() is None  # no room, no free slot: nothing to decide yet
    s.sent(slow)
    assert s.next_to_send() is None  # the lowest must not take the slot: the database may outrank it
    assert s.blocked()
    assert [it.id for it in claim(s, db)] == [5]
    order = []
    while True:
        item = s.next_to_send()
        if item is None:
            if s.waiting == 0:
                break
            claim(s, db)  # the engine claims whenever the scheduler asks
            continue
        order.append(item.id)
        s.sent(item)
    assert order == [5, 2, 3, 4]


def test_after_a_full_claim_items_of_the_lowest_claimed_priority_go_without_another_claim():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=2, per_host=2)
    db = [Item(i, NORMAL) for i in range(1, 20)]
    claim(s, db)
    assert s.ceiling == NORMAL and s.more_due
    assert [it.id for it in send_all_possible(s)] == [1, 2]
    assert not s.blocked()


def test_a_short_claim_means_nothing_more_is_due_until_a_wake_up():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=2, per_host=2)
    db = [Item(1, LOWEST)]
    claim(s, db)
    assert s.ceiling == NOTHING and not s.more_due and s.claim_plan() is None
    s.wake()
    assert s.ceiling == UNKNOWN and s.blocked()
    plan = s.claim_plan()
    assert plan is not None and plan.want >= 1


def test_a_wake_up_while_a_claim_runs_is_settled_by_the_next_claim_at_once():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=4, per_host=4)
    db = [Item(i) for i in range(1, 40)]
    plan = s.claim_plan()
    assert plan is not None
    taken, db = db[: plan.want], db[plan.want :]
    s.wake()  # new items came in while the claim ran
    s.claimed(plan, taken)
    assert s.next_to_send() is not None  # the claim's own ceiling applies meanwhile: sends go on
    again = s.claim_plan()
    assert again is not None and again.want >= 1  # although the room is below a quarter of the hand


def test_a_capped_host_is_claimed_for_again_when_one_of_its_items_ends():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=8, per_host=1)
    db = [Item(i, host="slow") for i in range(1, 10)]
    taken = claim(s, db)
    assert len(taken) == PREFETCH * 1  # the host's cap, although the room is 32
    assert not s.more_due  # nothing else is due and the host is full
    (first,) = send_all_possible(s)
    s.sent(first)
    assert s.more_due
    assert len(claim(s, db)) == 1


def test_in_hand_until_recorded_and_dropped_on_stop():
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=1, per_host=1)
    db = [Item(1), Item(2), Item(3)]
    claim(s, db)
    (item,) = send_all_possible(s)
    s.sent(item)
    assert s.in_hand == 3 and s.active == 2
    s.recorded([item.id])
    assert sorted(s.in_hand_ids()) == [2, 3]
    assert sorted(it.id for it in s.drop_all()) == [2, 3]
    assert s.in_hand == 0 and s.waiting == 0


def test_withdraw_takes_waiting_items_of_a_blocked_endpoint_out_of_the_hand():
    """A circuit opened: its items waiting in hand leave unsent (given back by the engine); items being sent
    stay; the host's room is free again."""
    s: DeliveryScheduler[Item] = DeliveryScheduler(concurrency=2, per_host=1)
    db = [Item(i, host="erp" if i % 2 else "shop") for i in range(1, 11)]
    claim(s, db)
    sending = send_all_possible(s)
    assert sorted(it.host for it in sending) == ["erp", "shop"]
    before = s.in_hand
    gone = s.withdraw(lambda it: it.host == "erp")
    assert gone and all(it.host == "erp" for it in gone) and all(it not in gone for it in sending)
    assert s.in_hand == before - len(gone) and not set(s.in_hand_ids()) & {it.id for it in gone}
    erp_sending = next(it for it in sending if it.host == "erp")
    s.sent(erp_sending)  # the one in flight finishes normally
    assert s.withdraw(lambda it: it.host == "erp") == []
    plan = s.claim_plan()
    assert plan is not None and plan.host_in_hand.get("erp", 0) == 0
