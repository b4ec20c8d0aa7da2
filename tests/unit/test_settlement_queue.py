"""Bulk settlements go through the `settlepayment` queue: one task per owed request, each hold
settled once, a failed call counted and retried by the queue, nothing lost when enqueue fails."""

import logging

import pytest
from firebase_admin import exceptions, functions

from homepro.adapters.cloud_tasks import EMULATOR_NAME_QUIRK, CloudTaskQueue
from homepro.domain.errors import InvalidInput
from homepro.domain.models import Actor, CancelRequestInput
from homepro.services import payments, settlements, sweeps
from homepro.services.ports import EnqueueError
from homepro.testing import FakeDocuments, make_context, with_settlement_queue


def expired_requests(count: int, **policy):
    """A context with a settlement queue and `count` pending requests past their expiry."""
    store = FakeDocuments()
    ctx, queue = with_settlement_queue(make_context(store, **policy))
    for n in range(count):
        store.add_request(f"r{n}", pendingSince=ctx.clock.now())
    ctx.clock.advance(minutes=30)
    return store, ctx, queue


def test_a_sweep_enqueues_one_task_per_owed_request_and_calls_stripe_never():
    store, ctx, queue = expired_requests(3)

    assert sweeps.sweep_stale_requests(ctx).counts == {"request_expired": 3, "payment_queued": 3}

    assert ctx.payments.calls == []  # the sweep made no Stripe call
    assert sorted(t.payload["requestId"] for t in queue.enqueued) == ["r0", "r1", "r2"]
    assert {t.queue for t in queue.enqueued} == {"settlepayment"}
    assert all(t.task_id.startswith(f"settle-{t.payload['requestId']}-0-") for t in queue.enqueued)
    assert all(store.requests[f"r{n}"]["paymentOwed"] == "release" for n in range(3))
    # the next sweep, before the tasks ran: the same names, refused
    assert sweeps.sweep_stale_requests(ctx).counts == {"payment_already_queued": 3}
    assert len(queue.enqueued) == 3


def test_each_task_settles_its_hold_once_and_a_second_delivery_does_nothing():
    store, ctx, queue = expired_requests(2)
    sweeps.sweep_stale_requests(ctx)

    assert queue.run_all() == ["payment_released", "payment_released"]
    assert queue.queued == []
    for n in range(2):
        assert store.requests[f"r{n}"]["paymentStatus"] == "released"
        assert store.requests[f"r{n}"]["paymentOwed"] is None
        assert store.event_types(f"r{n}") == ["request_expired", "payment_released"]
    assert sorted(ctx.payments.calls) == [("release", "r0"), ("release", "r1")]

    assert [queue.deliver(task) for task in queue.enqueued] == ["nothing_owed"] * 2
    assert len(ctx.payments.calls) == 2  # the repeated delivery called nothing
    assert sweeps.sweep_stale_requests(ctx).counts == {}  # nothing owed: nothing enqueued


def test_a_failing_stripe_raises_for_the_queue_to_retry_and_counts_each_failure():
    store, ctx, queue = expired_requests(1)
    sweeps.sweep_stale_requests(ctx)
    ctx.payments.failures = 2

    first = queue.run_all()
    assert len(first) == 1 and isinstance(first[0], settlements.SettlementPending)
    assert store.requests["r0"]["paymentAttempts"] == 1
    assert isinstance(queue.run_all()[0], settlements.SettlementPending)
    assert store.requests["r0"]["paymentAttempts"] == 2
    assert queue.run_all() == ["payment_released"]  # the queue's third try

    assert queue.queued == []
    assert store.event_types("r0") == [
        "request_expired",
        "payment_attempt_failed",
        "payment_attempt_failed",
        "payment_released",
    ]
    assert len(queue.enqueued) == 1


def test_a_sweep_meanwhile_enqueues_the_next_attempt_under_a_new_name():
    _, ctx, queue = expired_requests(1)
    sweeps.sweep_stale_requests(ctx)
    ctx.payments.failures = 1
    queue.run_all()  # failed once: attempt 1 is owed, its task is retrying

    assert sweeps.sweep_stale_requests(ctx).counts == {"payment_queued": 1}
    assert queue.enqueued[-1].task_id.startswith("settle-r0-1-")
    assert queue.run_all() == ["payment_released", "nothing_owed"]
    assert ctx.payments.calls.count(("release", "r0")) == 1  # the failed one never got through


def test_at_payment_attention_the_task_stops_and_does_not_raise(caplog):
    store, ctx, queue = expired_requests(1, payment_max_attempts=2)
    sweeps.sweep_stale_requests(ctx)
    ctx.payments.failures = 1000

    with caplog.at_level(logging.ERROR, logger="homepro"):
        assert isinstance(queue.run_all()[0], settlements.SettlementPending)
        assert queue.run_all() == ["payment_attention"]  # not raised: no more retries
    assert queue.queued == []
    assert store.requests["r0"]["paymentAttempts"] == 2
    assert store.requests["r0"]["paymentAttention"]["reason"] == "payment_attempts_exhausted"
    assert sweeps.sweep_stale_requests(ctx).counts == {}  # a person decides now
    assert queue.deliver(queue.enqueued[0]) == "nothing_owed"


def test_an_enqueue_that_fails_leaves_the_request_owed_for_the_next_sweep():
    store, ctx, queue = expired_requests(1)
    queue.down = True
    assert sweeps.sweep_stale_requests(ctx).counts == {
        "request_expired": 1,
        "payment_enqueue_failed": 1,
    }
    assert store.requests["r0"]["paymentOwed"] == "release" and queue.enqueued == []

    queue.down = False
    assert sweeps.sweep_stale_requests(ctx).counts == {"payment_queued": 1}
    assert queue.run_all() == ["payment_released"]


def test_the_callables_users_wait_on_still_settle_inline():
    store, ctx, queue = expired_requests(0)
    store.add_request("mine", customerId="cust-1")
    answer = payments.cancel_request(
        ctx, Actor(uid="cust-1", role="customer"), CancelRequestInput(request_id="mine")
    )
    assert answer["paymentStatus"] == "released" and queue.enqueued == []


def test_a_claim_timeout_that_expires_enqueues_its_release():
    store = FakeDocuments()
    ctx, queue = with_settlement_queue(make_context(store))
    store.add_request(
        "r", status="claimed", helperId="h1", claimedAt=ctx.clock.now(), releaseCount=2
    )
    ctx.clock.advance(minutes=15)
    assert sweeps.sweep_stale_claims(ctx).counts == {"request_expired": 1, "payment_queued": 1}
    assert queue.run_all() == ["payment_released"]


def test_a_task_without_a_request_id_is_refused():
    _, ctx, _ = expired_requests(0)
    with pytest.raises(InvalidInput, match="requestId"):
        settlements.settle_task(ctx, {})
    assert settlements.settle_task(ctx, {"requestId": "gone"}) == "nothing_owed"


class StubFirebaseQueue:
    """firebase-admin's TaskQueue answering as Cloud Tasks or its emulator did."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[object, functions.TaskOptions]] = []

    def enqueue(self, task_data, opts=None):
        self.sent.append((task_data, opts))
        if self.error is not None:
            raise self.error
        return "task-1"


@pytest.fixture
def stub(monkeypatch):
    holder = {"queue": StubFirebaseQueue()}
    monkeypatch.setattr(functions, "task_queue", lambda name, app=None: holder["queue"])
    return holder


def test_the_adapter_wraps_the_payload_in_data_and_names_the_task(stub):
    assert CloudTaskQueue(app=None).enqueue("settlepayment", {"requestId": "r"}, task_id="t-1")
    data, opts = stub["queue"].sent[0]
    assert data == {"data": {"requestId": "r"}} and opts.task_id == "t-1"


@pytest.mark.parametrize(
    "error",
    [
        exceptions.ConflictError("409", None),  # the emulator
        exceptions.AlreadyExistsError("409", None),  # production
    ],
)
def test_the_adapter_answers_false_for_a_name_already_taken(stub, error):
    stub["queue"] = StubFirebaseQueue(error)
    assert CloudTaskQueue(app=None).enqueue("q", {}, task_id="t") is False


def test_the_emulators_odd_answer_to_a_named_task_means_enqueued(stub):
    stub["queue"] = StubFirebaseQueue(ValueError(EMULATOR_NAME_QUIRK))
    assert CloudTaskQueue(app=None, emulated=True).enqueue("q", {}, task_id="t") is True
    with pytest.raises(ValueError):  # not on Cloud Tasks: a real problem
        CloudTaskQueue(app=None).enqueue("q", {}, task_id="t")


def test_the_adapter_turns_a_failed_enqueue_into_enqueue_error(stub):
    stub["queue"] = StubFirebaseQueue(exceptions.UnavailableError("503", None))
    with pytest.raises(EnqueueError):
        CloudTaskQueue(app=None).enqueue("q", {"requestId": "r"})
