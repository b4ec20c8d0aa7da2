"""Fault injection on the emulators (issue 16 item 5): a worker dies at a named point
(`homepro/faults.py`, armed once by a `testFaults/{point}` token) and what recovers its work
finishes it: the sweep settles what a dead cancel owed, exactly once at localstripe; the outbox
(a drain task the sweep enqueues for an entry older than its grace) resumes a round that died
after its reservation or in its fan-out, and a transition whose trigger died before its work,
within a minute of the death, each device reached at most twice.

How the Functions emulator takes a worker's `os._exit`: the caller of that call gets an error
(the callable protocol's INTERNAL, or the emulator's own HTTP error), a Firestore trigger's
event is not delivered again, and the next call starts a fresh worker. The tests accept any
error from the dying call and assert only on what is stored afterwards.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from google.cloud.firestore_v1 import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from test_dispatch import add_device, add_helper, round_done, tokens
from test_payments import create, event_types, request_doc

import emulator_client as ec
from conftest import wait_for
from homepro import faults


@pytest.fixture(autouse=True)
def disarmed(db: Client):
    """No token outlives its test (a point a test armed but never reached kills nobody later)."""
    yield
    for point in faults.POINTS:
        db.collection(faults.COLLECTION).document(point).delete()


def dies(name: str, data: dict[str, Any], id_token: str) -> None:
    """Call `name` where an armed fault kills its worker: the caller gets an error."""
    with pytest.raises(ec.CallError):
        ec.call(name, data, id_token)


def test_a_token_is_taken_by_one_worker_of_many(db):
    faults.arm(db, faults.MID_FANOUT)
    taker = faults.FirestoreTokens(db)
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(lambda _: taker.take(faults.MID_FANOUT), range(16)))
    assert taken.count(True) == 1
    assert not faults.armed(db, faults.MID_FANOUT)
    assert taker.take(faults.MID_FANOUT) is False


@pytest.mark.parametrize(
    ("point", "at_stripe"),
    [
        (faults.BEFORE_STRIPE_CALL, "requires_capture"),  # committed, never called
        (faults.AFTER_STRIPE_CALL, "canceled"),  # called, never recorded
    ],
)
def test_a_cancel_whose_worker_dies_is_settled_once_by_the_sweep(
    db, make_account, point, at_stripe
):
    customer = make_account("customer")
    request_id = create(customer)["requestId"]
    intent_id = request_doc(db, request_id)["paymentIntentId"]
    faults.arm(db, point)

    dies("cancel_request", {"requestId": request_id}, customer.id_token)
    died_at = time.monotonic()

    assert not faults.armed(db, point)  # the worker reached the point and took the token
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["paymentStatus"], doc["paymentOwed"]) == (
        "cancelled",
        "authorized",
        "release",
    )
    assert ec.payment_intent(intent_id)["status"] == at_stripe

    assert ec.run_scheduled("sweep_stale_requests") == 200

    # the sweep queues the release (settlepayment): wait until the task recorded it
    doc = wait_for(lambda: (d := request_doc(db, request_id))["paymentStatus"] == "released" and d)
    recovered(point, died_at)
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("released", None)
    [intent] = ec.payment_intents_for(request_id)
    assert (intent["id"], intent["status"]) == (intent_id, "canceled")
    assert event_types(db, request_id).count("payment_released") == 1
    # a later sweep finds nothing owed; the callable answers again (a fresh worker)
    assert ec.run_scheduled("sweep_stale_requests") == 200
    time.sleep(1)  # room for a task it might (wrongly) have queued
    assert event_types(db, request_id).count("payment_released") == 1
    with pytest.raises(ec.CallError) as err:
        ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
    assert err.value.status == "FAILED_PRECONDITION"


# The outbox's grace (OUTBOX_GRACE_SECONDS, its default on the test stack): an entry younger than
# this is its trigger's; the sweep enqueues a drain task for each older one. The emulator runs
# the trigger's own backstop task at once (it ignores schedule times): that task finds the entry
# too young and leaves it, so on the emulator the sweep is what resumes a dead worker's work.
GRACE_SECONDS = 10
WITHIN_SECONDS = 60  # the bound, from the worker's death to the work done


def outbox_of(db: Client, request_id: str) -> list[str]:
    entries = (
        db.collection("outbox").where(filter=FieldFilter("requestId", "==", request_id)).stream()
    )
    return sorted(e.id for e in entries)


def analytics_types(db: Client, request_id: str) -> Counter[str]:
    found = (
        db.collection("analytics").where(filter=FieldFilter("requestId", "==", request_id)).stream()
    )
    return Counter(e.to_dict()["type"] for e in found)


def recovered(point: str, died_at: float) -> None:
    """The death-to-done time, asserted under the bound and printed (`-s`) for the notes."""
    elapsed = time.monotonic() - died_at
    print(f"\n{point}: the dead worker's work done {elapsed:.1f} s after its death")
    assert elapsed < WITHIN_SECONDS


def resume_after_grace(died_at: float) -> None:
    """What recovers a dead worker's outbox entry on the emulator: the sweep, once the entry is
    older than the grace (in production the trigger's backstop task, due at the same time)."""
    time.sleep(max(0.0, died_at + GRACE_SECONDS + 0.5 - time.monotonic()))
    assert ec.run_scheduled("sweep_stale_requests") == 200


def dispatch_dies_at(db: Client, make_request, point: str, devices: list[str]) -> tuple[str, float]:
    """A paid request whose initial round's worker dies at `point`: the round reserved (its
    outbox entry written with it) and never finished. The request and when its worker died."""
    add_helper(db, devices)
    faults.arm(db, point)
    request_id = make_request()
    wait_for(lambda: not faults.armed(db, point), timeout=60)
    died_at = time.monotonic()
    reserved = db.collection("requests").document(request_id).collection("dispatches")
    wait_for(lambda: reserved.document("initial").get().exists)
    time.sleep(2)  # nothing but the outbox sends the dead round
    assert not (reserved.document("initial").get().to_dict() or {}).get("finishedAt")
    assert outbox_of(db, request_id) == [f"{request_id}-round-initial"]
    return request_id, died_at


def test_a_round_whose_worker_dies_after_its_reservation_is_resumed_within_a_minute(
    clean, make_request
):
    db = clean
    request_id, died_at = dispatch_dies_at(
        db, make_request, faults.AFTER_ROUND_RESERVED, ["rsv-a", "rsv-b"]
    )
    assert tokens(request_id) == Counter()  # reserved, nothing sent

    resume_after_grace(died_at)

    done = round_done(db, request_id, "initial")
    recovered(faults.AFTER_ROUND_RESERVED, died_at)
    assert tokens(request_id) == Counter({"rsv-a": 1, "rsv-b": 1})
    assert (done["helpersTargeted"], done["devicesTargeted"], done["sent"]) == (1, 2, 2)
    assert outbox_of(db, request_id) == []
    assert analytics_types(db, request_id)["notification_sent"] == 1


def test_a_fan_out_whose_worker_dies_midway_reaches_every_device_at_most_twice_within_a_minute(
    clean, make_request
):
    db = clean
    devices = [f"fan-{i}" for i in range(20)]
    request_id, died_at = dispatch_dies_at(db, make_request, faults.MID_FANOUT, devices)
    assert 1 <= sum(tokens(request_id).values()) <= len(devices)  # sent, in flight as it died

    resume_after_grace(died_at)

    round_done(db, request_id, "initial")
    recovered(faults.MID_FANOUT, died_at)
    got = tokens(request_id)
    assert set(got) == set(devices)
    assert max(got.values()) <= 2  # the dead fan-out's push and the resumed one's
    assert outbox_of(db, request_id) == []
    rounds = db.collection("requests").document(request_id).collection("dispatches")
    assert [r.id for r in rounds.stream()] == ["initial"]  # resumed, not a new round


def test_a_transition_whose_trigger_dies_before_its_work_is_finished_within_a_minute(
    clean, make_account
):
    db = clean
    add_helper(db, ["claim-h1"])
    customer = make_account("customer")
    add_device(db, customer.uid, "d0", "claim-customer")
    helper = make_account("helper")
    request_id = create(customer)["requestId"]
    wait_for(lambda: not outbox_of(db, request_id), timeout=30)  # its triggers done, nothing owed
    assert analytics_types(db, request_id)["request_created"] == 1
    faults.arm(db, faults.AFTER_COMMIT_BEFORE_OUTBOX)

    ec.call("claim_request", {"requestId": request_id}, helper.id_token)  # committed: it answers

    wait_for(lambda: not faults.armed(db, faults.AFTER_COMMIT_BEFORE_OUTBOX), timeout=60)
    died_at = time.monotonic()
    version = request_doc(db, request_id)["version"]
    time.sleep(2)
    assert outbox_of(db, request_id) == [f"{request_id}-v{version}"]
    assert tokens(request_id, "request_claimed") == Counter()  # its trigger died first

    resume_after_grace(died_at)

    wait_for(lambda: tokens(request_id, "request_claimed"), timeout=WITHIN_SECONDS)
    wait_for(lambda: not outbox_of(db, request_id), timeout=WITHIN_SECONDS)
    recovered(faults.AFTER_COMMIT_BEFORE_OUTBOX, died_at)
    assert tokens(request_id, "request_claimed") == Counter({"claim-customer": 1})
    assert tokens(request_id, "request_taken") == Counter({"claim-h1": 1})
    found = analytics_types(db, request_id)
    assert (found["request_created"], found["request_claimed"]) == (1, 1)


def test_a_request_whose_triggers_all_ran_owes_nothing(clean, make_account):
    db = clean
    add_helper(db, ["calm-h1"])
    customer = make_account("customer")
    request_id = create(customer)["requestId"]
    round_done(db, request_id, "initial")
    wait_for(lambda: not outbox_of(db, request_id), timeout=30)
    assert tokens(request_id) == Counter({"calm-h1": 1})
    time.sleep(GRACE_SECONDS + 0.5)
    counts_before = tokens(request_id)
    assert ec.run_scheduled("sweep_stale_requests") == 200
    time.sleep(1.5)
    assert tokens(request_id) == counts_before  # nothing resumed: every device heard it once
