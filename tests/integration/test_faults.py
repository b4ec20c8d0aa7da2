"""Fault injection on the emulators (issue 16 item 5): a worker dies at a named point
(`homepro/faults.py`, armed once by a `testFaults/{point}` token) and what recovers its work
TODAY finishes it: the sweep settles what a dead cancel owed, exactly once at localstripe; the
escalation round reaches the devices of a round that died.

How the Functions emulator takes a worker's `os._exit`: the caller of that call gets an error
(the callable protocol's INTERNAL, or the emulator's own HTTP error), a Firestore trigger's
event is not delivered again, and the next call starts a fresh worker. The tests accept any
error from the dying call and assert only on what is stored afterwards.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud.firestore_v1 import Client
from test_dispatch import add_helper, round_done, tokens
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


def dispatch_dies_at(db: Client, make_request, point: str, devices: list[str]) -> str:
    """A paid request whose initial round's worker dies at `point`; its round reserved and never
    finished. Helper for the outbox's tests too: today, nothing resumes that round."""
    add_helper(db, devices)
    faults.arm(db, point)
    started = datetime.now(UTC) - timedelta(minutes=6)  # due for escalation at the next sweep
    request_id = make_request(pendingSince=started, createdAt=started)
    wait_for(lambda: not faults.armed(db, point), timeout=60)
    reserved = db.collection("requests").document(request_id).collection("dispatches")
    wait_for(lambda: reserved.document("initial").get().exists)
    time.sleep(2)  # the dead round is not sent again by anything but the next sweep
    assert not (reserved.document("initial").get().to_dict() or {}).get("finishedAt")
    return request_id


def test_a_round_whose_worker_dies_after_its_reservation_reaches_the_devices_at_escalation(
    clean, make_request
):
    db = clean
    request_id = dispatch_dies_at(db, make_request, faults.AFTER_ROUND_RESERVED, ["rsv-a", "rsv-b"])
    assert tokens(request_id) == Counter()  # reserved, nothing sent

    assert ec.run_scheduled("sweep_stale_requests") == 200

    round_done(db, request_id, "escalation-1")
    assert tokens(request_id) == Counter({"rsv-a": 1, "rsv-b": 1})


def test_a_fan_out_whose_worker_dies_midway_reaches_every_device_at_escalation(clean, make_request):
    db = clean
    devices = [f"fan-{i}" for i in range(20)]
    request_id = dispatch_dies_at(db, make_request, faults.MID_FANOUT, devices)
    assert 1 <= sum(tokens(request_id).values()) <= len(devices)  # some sent, then it died

    assert ec.run_scheduled("sweep_stale_requests") == 200

    round_done(db, request_id, "escalation-1")
    got = tokens(request_id)
    assert set(got) == set(devices)
    assert max(got.values()) <= 2  # at most twice: the dead round's push and escalation's
