"""One Stripe budget for the project: the callables' share held across instances by tokens in
the documents (two adapters over one store never take more than the share in one second), and
the calls nobody waits on (the webhook's, the reconcile job's releases) go through the
settlement queue."""

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from homepro.adapters.stripe_budget import BULK, HEADROOM, SharedBudget, token_path
from homepro.adapters.stripe_payments import StripePayments
from homepro.domain.errors import InvalidInput
from homepro.domain.models import Actor, CancelRequestInput, CreateRequestInput
from homepro.services import payments, settlements
from homepro.services.reconcile import reconcile_payments
from homepro.services.webhooks import apply_stripe_event
from homepro.testing import FakeDocuments, fake_docs, make_context, with_settlement_queue

CUSTOMER = Actor(uid="c1", role="customer")


class SteppedClock:
    """A wall clock that moves only when slept on (shared by the 'instances')."""

    def __init__(self, start: float = 1_800_000_000.25) -> None:
        self.t = start
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


def taken_per_second(store: FakeDocuments) -> Counter[int]:
    return Counter(doc["second"] for doc in store.collections.get("stripeBudget", {}).values())


def test_two_instances_over_one_store_never_take_more_than_the_share_in_a_second():
    store, clock = FakeDocuments(), SteppedClock()
    one = SharedBudget(store, 10, max_wait=30, now=clock.now, sleep=clock.sleep)
    two = SharedBudget(store, 10, max_wait=30, now=clock.now, sleep=clock.sleep)

    took = [b.take() for _ in range(25) for b in (one, two)]  # 50 calls, interleaved

    assert all(took)  # every call had a slot, none waited past max_wait
    per_second = taken_per_second(store)
    assert sum(per_second.values()) == 50
    assert max(per_second.values()) <= 10  # the share, never more
    slots = sorted(d["slot"] for d in store.collections["stripeBudget"].values())
    assert slots == list(range(slots[0], slots[0] + 50))  # one call a slot, evenly spaced
    width = 1 / (10 * HEADROOM)  # a slot every 1/9 s
    assert slots[0] == int(1_800_000_000.25 / width)  # the slot of now
    assert clock.now() == pytest.approx((slots[0] + 49) * width)  # slept until its slot
    assert max(per_second.values()) <= 10 and len(per_second) >= 6  # 9 a second, or so
    token = store.get(token_path(slots[0], 10))
    assert token["expireAt"].timestamp() == pytest.approx(slots[0] * width + 600, abs=1e-3)
    assert token_path(slots[0], 10) == f"stripeBudget/i10-{slots[0]}"


def test_the_bulk_pool_is_counted_apart_from_the_inline_pool():
    store, clock = FakeDocuments(), SteppedClock()
    inline = SharedBudget(store, 10, max_wait=30, now=clock.now, sleep=clock.sleep)
    bulk = SharedBudget(store, 10, pool=BULK, max_wait=30, now=clock.now, sleep=clock.sleep)

    assert all(b.take() for _ in range(10) for b in (inline, bulk))

    pools = Counter(d["pool"] for d in store.collections["stripeBudget"].values())
    assert pools == {"i": 10, "b": 10}
    assert clock.now() - 1_800_000_000.25 < 1  # 10 + 10 in one second: the pools side by side


def test_many_threads_of_two_instances_on_the_real_clock_stay_within_the_share():
    store = FakeDocuments()
    budgets = [SharedBudget(store, 5, max_wait=10) for _ in range(2)]
    started = time.time()

    def calls(budget: SharedBudget) -> None:
        for _ in range(4):
            assert budget.take()

    threads = [threading.Thread(target=calls, args=(budgets[n % 2],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    per_second = taken_per_second(store)
    assert sum(per_second.values()) == 24
    assert max(per_second.values()) <= 5
    assert time.time() - started >= 24 / 4.5 - 1.3  # a slot every 1/4.5 s


def test_with_no_free_slot_within_max_wait_the_call_goes_on_at_once(caplog):
    store, clock = FakeDocuments(), SteppedClock()
    budget = SharedBudget(store, 2, max_wait=1.5, now=clock.now, sleep=clock.sleep)
    width = 1 / (2 * HEADROOM)
    first = int(clock.now() / width)
    for slot in range(first, first + 10):  # other instances booked the next 5 seconds
        store.create(token_path(slot, 2), {"slot": slot})

    assert budget.take() is False
    assert clock.now() == 1_800_000_000.25  # no sleep: it goes on at once
    assert "no free slot within the wait" in caplog.text
    store.collections["stripeBudget"].pop(token_path(first + 3, 2).split("/")[1])
    assert budget.take() is False  # the slots it saw taken are skipped without a read

    fresh = SharedBudget(store, 2, max_wait=1.5, now=clock.now, sleep=clock.sleep)
    assert fresh.take() is True  # slot first + 3 is free again: taken, and waited for
    assert clock.now() == pytest.approx((first + 3) * width)


def test_the_adapter_takes_a_token_after_its_pacer_for_every_call():
    taken = []

    class Budget:
        def take(self) -> bool:
            taken.append(1)
            return True

    stripe = StripePayments("sk_test", max_rps=0, budget=Budget())
    with pytest.raises(Exception):  # noqa: B017 (no Stripe here: the call itself fails)
        stripe._call(lambda: (_ for _ in ()).throw(RuntimeError("no network")))
    assert taken == [1]


def ask() -> CreateRequestInput:
    return CreateRequestInput.model_validate(
        {
            "category": "plumbing",
            "description": "The sink drips all night long.",
            "paymentMethodId": "pm_card_visa",
        }
    )


def test_the_webhook_releases_a_late_authorization_through_the_queue():
    ctx, queue = with_settlement_queue(make_context())
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))
    stray = ctx.payments.hold_directly(request_id)
    calls = len(ctx.payments.calls)
    event = {"id": stray, "metadata": {"requestId": request_id}}
    kind = "payment_intent.amount_capturable_updated"

    assert apply_stripe_event(ctx, kind, event) == "stray_released"

    assert len(ctx.payments.calls) == calls  # the webhook called Stripe never
    [task] = queue.enqueued
    assert task.payload == {"kind": "stray", "requestId": request_id, "paymentIntentId": stray}
    assert task.task_id.startswith(f"stray-{stray}-")
    assert queue.run_all() == ["stray_released_request_holds_another"]
    assert ctx.payments.intents[stray]["status"] == "canceled"
    assert queue.deliver(task) == "stray_released_request_holds_another"  # again: idempotent


def test_the_webhooks_owed_release_after_a_late_authorization_is_queued():
    store = FakeDocuments()
    ctx, queue = with_settlement_queue(make_context(store))
    intent = ctx.payments.hold_directly("r1")
    # cancelled during 3-D Secure: the recorded intent owes its release once it is authorized
    store.add_request(
        "r1",
        status="cancelled",
        paymentStatus="requires_payment",
        paymentIntentId=intent,
        paymentOwed="release",
    )
    calls = len(ctx.payments.calls)
    event = {"id": intent, "metadata": {"requestId": "r1"}}

    assert apply_stripe_event(ctx, "payment_intent.amount_capturable_updated", event) == (
        "payment_authorized"
    )

    assert len(ctx.payments.calls) == calls  # the webhook called Stripe never
    assert [(t.payload, t.task_id[:10]) for t in queue.enqueued] == [
        ({"requestId": "r1"}, "settle-r1-")
    ]
    assert queue.run_all() == ["payment_released"]
    assert store.requests["r1"]["paymentOwed"] is None
    assert ctx.payments.intents[intent]["status"] == "canceled"


def test_reconcile_enqueues_a_stray_task_per_hold_and_calls_stripe_only_to_list():
    ctx, queue = with_settlement_queue(make_context())
    live = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    second = ctx.payments.hold_directly(live)
    missing = ctx.payments.hold_directly("gone")
    calls = len(ctx.payments.calls)

    counts = reconcile_payments(ctx).counts

    assert counts == {"queued_request_holds_another": 1, "queued_request_missing": 1, "kept": 1}
    assert len(ctx.payments.calls) == calls  # nothing released inline
    assert sorted(t.payload["paymentIntentId"] for t in queue.enqueued) == sorted([second, missing])
    assert sorted(queue.run_all()) == [
        "stray_released_request_holds_another",
        "stray_released_request_missing",
    ]
    assert ctx.payments.intents[second]["status"] == "canceled"
    assert ctx.payments.intents[missing]["status"] == "canceled"
    live_intent = fake_docs(ctx).requests[live]["paymentIntentId"]
    assert ctx.payments.intents[live_intent]["status"] == "requires_capture"
    # the next run, before the tasks' names expire: the same names, refused; nothing called
    assert reconcile_payments(ctx).counts == {"not_held": 2, "kept": 1}


def test_a_stray_task_whose_request_took_the_hold_since_keeps_it():
    ctx, _ = with_settlement_queue(make_context())
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    intent = fake_docs(ctx).requests[request_id]["paymentIntentId"]
    payload = {"kind": "stray", "requestId": request_id, "paymentIntentId": intent}
    assert settlements.settle_task(ctx, payload) == "stray_kept"
    assert ctx.payments.intents[intent]["status"] == "requires_capture"


def test_a_failing_stray_release_raises_for_the_queue_to_retry():
    ctx, _ = with_settlement_queue(make_context())
    missing = ctx.payments.hold_directly("gone")
    ctx.payments.failures = 5
    payload = {"kind": "stray", "requestId": "gone", "paymentIntentId": missing}
    with pytest.raises(settlements.SettlementPending):
        settlements.settle_task(ctx, payload)
    ctx.payments.failures = 0
    assert settlements.settle_task(ctx, payload) == "stray_released_request_missing"


@pytest.mark.parametrize(
    "payload",
    [{"kind": "refund", "requestId": "r1"}, {"kind": "stray", "requestId": "r1"}],
)
def test_a_task_of_another_kind_or_without_its_intent_is_refused(payload):
    ctx, _ = with_settlement_queue(make_context())
    with pytest.raises(InvalidInput):
        settlements.settle_task(ctx, payload)


def test_the_budget_documents_have_a_ttl_policy_and_no_index():
    config = json.loads((Path(__file__).parents[2] / "firestore.indexes.json").read_text())
    assert {
        "collectionGroup": "stripeBudget",
        "fieldPath": "expireAt",
        "ttl": True,
        "indexes": [],
    } in config["fieldOverrides"]
