"""The transactional outbox on the fakes: what a transition or a reserved round owes is
written in its commit, done and deleted by its trigger, and finished by a drain task (the
trigger's backstop, or the sweep's) when the worker died."""

from collections import Counter
from datetime import timedelta

import pytest

from homepro.domain import outbox
from homepro.domain.errors import InvalidInput
from homepro.domain.lifecycle import plan_cancel
from homepro.domain.models import Actor, CreateRequestInput, RequestRef, Role
from homepro.services import claims, payments, sweeps
from homepro.services.drain import OutboxBusy, drain, drain_task
from homepro.services.notify import not_yet_notified
from homepro.testing import FakeDocuments, make_context, run_triggers, with_settlement_queue

CUSTOMER = Actor(uid="cust-1", role=Role.CUSTOMER)
HELPER = Actor(uid="plumber", role=Role.HELPER)
GRACE = timedelta(seconds=10)


def ask() -> CreateRequestInput:
    return CreateRequestInput.model_validate(
        {
            "category": "plumbing",
            "description": "The sink drips.",
            "paymentMethodId": "pm_card_visa",
        }
    )


@pytest.fixture
def world():
    store = FakeDocuments()
    ctx, queue = with_settlement_queue(make_context(store))
    store.add_helper("plumber", "tok-p1", "tok-p2", categories=["plumbing"])
    store.add_helper("other", "tok-o1", categories=["plumbing"])
    store.users["cust-1"] = {"role": "customer", "isAvailable": True}
    store.devices("cust-1")["d0"] = {"token": "tok-customer"}
    return ctx, store, queue


def entries(store: FakeDocuments) -> dict:
    return store.collection(outbox.COLLECTION)


def made(ctx) -> tuple[str, list[str]]:
    """A request made (its card held): its id and its transitions' entries, oldest first."""
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    owed = sorted(ctx.outbox.owed(ctx.clock.now(), 100), key=lambda e: e.version)
    return request_id, [e.id for e in owed]


def pushed(ctx, kind: str) -> Counter:
    return Counter(ctx.push.tokens(kind))


def test_a_transition_writes_its_entry_in_its_commit_and_its_trigger_deletes_it(world):
    ctx, store, queue = world
    request_id, owed = made(ctx)
    version = store.requests[request_id]["version"]
    assert owed == [outbox.transition_entry_id(request_id, v) for v in range(1, version + 1)]
    first, last = entries(store)[owed[0]], entries(store)[owed[-1]]
    assert (first["kind"], first["requestId"], first["version"]) == ("transition", request_id, 1)
    assert first["before"] is None and first["after"]["status"] == "pending"
    assert last["before"]["version"] == version - 1 and last["after"]["version"] == version
    assert last["after"]["paymentStatus"] == "authorized"
    assert first["owedAt"] == ctx.clock.now()

    assert run_triggers(ctx) == version

    assert entries(store) == {}  # the work done: the round's entry and the transitions' gone
    assert pushed(ctx, "new_request") == Counter({"tok-p1": 1, "tok-p2": 1, "tok-o1": 1})
    # the backstops: a drain task each, for the grace's end, named by the entry
    tasks = [t for t in queue.enqueued if t.queue == outbox.DRAIN_QUEUE]
    assert [t.payload["entryId"] for t in tasks] == owed
    assert [t.task_id for t in tasks] == [f"outbox-{e}-b" for e in owed]
    assert {t.schedule_time for t in tasks} == {ctx.clock.now() + GRACE}
    # run at their time they find nothing owed
    ctx.clock.advance(seconds=10)
    assert [queue.deliver(task) for task in tasks] == ["done"] * version


def test_a_trigger_that_died_before_its_work_is_finished_by_the_drain_once(world):
    ctx, store, _ = world
    _, owed = made(ctx)
    # the triggers never ran: nothing sent, the entries owed
    assert drain(ctx, owed[-1]) == "early"  # within the grace the trigger may still be at it
    ctx.clock.advance(seconds=10)

    assert [drain(ctx, entry_id) for entry_id in owed] == ["drained"] * len(owed)

    assert pushed(ctx, "new_request") == Counter({"tok-p1": 1, "tok-p2": 1, "tok-o1": 1})
    assert [e["type"] for e in store.analytics.values()].count("request_created") == 1
    assert entries(store) == {}
    assert drain(ctx, owed[-1]) == "done"  # a second delivery: nothing
    assert pushed(ctx, "new_request").total() == 3


def test_the_sweep_enqueues_a_drain_for_each_entry_owed_past_the_grace(world):
    ctx, store, queue = world
    _, owed = made(ctx)

    assert "outbox_queued" not in sweeps.sweep_stale_requests(ctx).counts  # too young
    ctx.clock.advance(seconds=11)
    assert sweeps.sweep_stale_requests(ctx).counts["outbox_queued"] == len(owed)
    tasks = [t for t in queue.queued if t.queue == outbox.DRAIN_QUEUE]
    assert sorted(t.payload["entryId"] for t in tasks) == sorted(owed)
    assert all(t.task_id.startswith(f"outbox-{t.payload['entryId']}-0-") for t in tasks)
    # the next sweep before they ran: refused by name
    assert sweeps.sweep_stale_requests(ctx).counts["outbox_already_queued"] == len(owed)

    assert set(queue.run_all()) == {"drained"}
    assert pushed(ctx, "new_request").total() == 3
    assert entries(store) == {}


def test_a_drainer_holds_the_entry_for_its_lease_and_a_second_one_waits(world):
    ctx, _, _ = world
    _, owed = made(ctx)
    entry_id = owed[-1]
    ctx.clock.advance(seconds=10)
    taken = ctx.outbox.take(entry_id, ctx.clock.now(), GRACE, timedelta(seconds=30))
    assert taken is not None and taken.attempts == 1

    with pytest.raises(OutboxBusy):
        drain(ctx, entry_id)  # the first drainer is at it (its task is retried later)
    ctx.clock.advance(seconds=30)  # ... and died: its lease is over
    assert drain(ctx, entry_id) == "drained"
    assert pushed(ctx, "new_request").total() == 3
    assert drain(ctx, entry_id) == "done"


def test_a_round_whose_worker_died_after_its_reservation_is_resumed_to_every_target(world):
    ctx, store, _ = world
    store.add_request("r", customerId="cust-1")
    reserved = ctx.dispatch.reserve_round("r", "initial", ctx.clock.now())
    assert reserved is not None
    assert outbox.round_entry_id("r", "initial") in entries(store)
    ctx.clock.advance(seconds=10)

    assert drain(ctx, outbox.round_entry_id("r", "initial")) == "drained"

    assert pushed(ctx, "new_request") == Counter({"tok-p1": 1, "tok-p2": 1, "tok-o1": 1})
    assert store.rounds("r")["initial"]["finishedAt"] is not None
    assert store.rounds("r")["initial"]["helpersTargeted"] == 2
    assert entries(store) == {}


def test_a_resumed_round_skips_the_targets_it_recorded(world):
    ctx, store, _ = world
    store.add_request("r", customerId="cust-1")
    ctx.dispatch.reserve_round("r", "initial", ctx.clock.now())
    ctx.dispatch.record_targets("r", "initial", {"plumber": 2}, ctx.clock.now())
    ctx.clock.advance(seconds=10)

    drain(ctx, outbox.round_entry_id("r", "initial"))

    assert pushed(ctx, "new_request") == Counter({"tok-o1": 1})
    assert set(store.targets("r", "initial")) == {"plumber", "other"}


def test_a_round_of_a_request_claimed_meanwhile_is_not_resumed(world):
    ctx, store, _ = world
    store.add_request("r", customerId="cust-1")
    ctx.dispatch.reserve_round("r", "initial", ctx.clock.now())
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r"))
    ctx.clock.advance(seconds=10)

    assert drain(ctx, outbox.round_entry_id("r", "initial")) == "drained"
    assert pushed(ctx, "new_request") == Counter()
    assert outbox.round_entry_id("r", "initial") not in entries(store)


def test_a_resumed_notification_goes_again_to_a_recipient_noted_but_maybe_not_pushed(world):
    ctx, store, _ = world
    store.add_request("r", customerId="cust-1")
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r"))
    entry_id = outbox.transition_entry_id("r", store.requests["r"]["version"])
    # the trigger noted the customer (their inbox document) and died before the push
    entry = ctx.outbox.get_entry(entry_id)
    assert entry is not None and entry.after is not None
    from homepro.domain import notifications
    from homepro.domain.models import RequestDoc

    note = notifications.request_claimed(RequestDoc.model_validate({**entry.after, "id": "r"}))
    assert not_yet_notified(ctx, ["cust-1"], note) == ["cust-1"]
    ctx.clock.advance(seconds=10)

    assert drain(ctx, entry_id) == "drained"
    assert pushed(ctx, "request_claimed") == Counter({"tok-customer": 1})


def test_a_drained_transition_that_owes_a_settlement_queues_it(world):
    ctx, store, queue = world
    request_id, _ = made(ctx)
    run_triggers(ctx)
    # a cancel whose worker died after its commit, before its Stripe call
    before = dict(store.requests[request_id])
    now = ctx.clock.now()
    ctx.requests.apply(request_id, lambda r: plan_cancel(r, CUSTOMER, now, None), now)
    assert store.requests[request_id]["paymentOwed"] == "release"
    assert before["version"] + 1 == store.requests[request_id]["version"]
    ctx.clock.advance(seconds=10)

    drain(ctx, outbox.transition_entry_id(request_id, before["version"] + 1))

    assert [t.payload for t in queue.queued if t.queue == "settlepayment"] == [
        {"requestId": request_id}
    ]
    queue.run_all()
    assert store.requests[request_id]["paymentStatus"] == "released"


def test_a_resumed_transition_resumes_the_round_its_dead_worker_reserved(world):
    ctx, store, _ = world
    _, owed = made(ctx)
    # the trigger reserved the initial round, and died before a single push
    request_id = ctx.outbox.get_entry(owed[-1]).request_id
    assert ctx.dispatch.reserve_round(request_id, "initial", ctx.clock.now()) is not None
    ctx.clock.advance(seconds=10)

    assert drain(ctx, owed[-1]) == "drained"  # the backstop of the transition, at its grace

    assert pushed(ctx, "new_request") == Counter({"tok-p1": 1, "tok-p2": 1, "tok-o1": 1})
    assert outbox.round_entry_id(request_id, "initial") not in entries(store)
    assert store.rounds(request_id)["initial"]["finishedAt"] is not None


def test_a_round_resumed_before_its_targets_were_recorded_texts_and_notes_them_again():
    store = FakeDocuments()
    ctx = make_context(store, sms_from_round=1)
    store.add_helper("phone-only", categories=["plumbing"], phone="+15555550100")
    store.add_request("r", customerId="cust-1")
    ctx.dispatch.reserve_round("r", "initial", ctx.clock.now())  # died before its texts
    ctx.clock.advance(seconds=10)

    drain(ctx, outbox.round_entry_id("r", "initial"))

    assert len(ctx.sms.sent) == 1
    assert set(store.targets("r", "initial")) == {"phone-only"}
    inbox = store.collection("users/phone-only/notifications")
    assert [k for k in inbox if k.startswith("new_request")]


def test_an_entry_that_fails_every_drain_is_given_up_for_a_person(world, caplog):
    ctx, store, _ = world
    _, owed = made(ctx)
    entry_id = owed[-1]
    for _ in range(11):  # ten drains that died (each took the entry, none finished it)
        ctx.clock.advance(seconds=31)
        assert ctx.outbox.take(entry_id, ctx.clock.now(), GRACE, timedelta(seconds=30))
    ctx.clock.advance(seconds=31)

    assert drain(ctx, entry_id) == "given_up"

    stored = entries(store)[entry_id]
    assert stored["owedAt"] is None and stored["gaveUpAt"] == ctx.clock.now()
    assert "ALERT" in caplog.text
    assert entry_id not in [e.id for e in ctx.outbox.owed(ctx.clock.now(), 100)]
    assert drain(ctx, entry_id) == "given_up"
    assert pushed(ctx, "new_request") == Counter()


@pytest.mark.parametrize("entry_id", ["a/b", "", 7, None, "x" * 401])
def test_a_drain_task_with_a_bad_entry_id_is_refused_naming_it(world, entry_id):
    ctx, _, _ = world
    with pytest.raises(InvalidInput) as err:
        drain_task(ctx, {"entryId": entry_id})
    assert err.value.field == "entryId"


def test_a_resent_notification_keeps_its_read_inbox_item_read(world):
    ctx, store, _ = world
    store.add_request("r", customerId="cust-1")
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r"))
    entry_id = outbox.transition_entry_id("r", store.requests["r"]["version"])
    run_triggers(ctx)  # the customer was told, and read it
    [key] = [k for k in store.collection("users/cust-1/notifications") if "claimed" in k]
    store.collection("users/cust-1/notifications")[key]["readAt"] = ctx.clock.now()
    # ... the same entry resumed (as if the trigger had died after its push)
    store.collection(outbox.COLLECTION)[entry_id] = outbox.transition_entry(
        "r",
        store.requests["r"]["version"],
        dict(store.requests["r"], status="pending"),
        store.requests["r"],
        ctx.clock.now(),
    )
    ctx.clock.advance(seconds=10)

    drain(ctx, entry_id)

    assert store.collection("users/cust-1/notifications")[key]["readAt"] is not None
    assert pushed(ctx, "request_claimed") == Counter({"tok-customer": 2})  # at most twice
