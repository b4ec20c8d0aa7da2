"""No card hold left behind (issue 15 item 5), on the emulators and localstripe: the
PaymentIntent is recorded before its card is confirmed, a late or stray authorization is
released, and `reconcile_payments` releases what nothing else did."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_payments import create, event_types, post_webhook, request_doc, stripe_event

import emulator_client as ec
from conftest import wait_for
from homepro.services.payments import request_id_for


@pytest.fixture(autouse=True)
def no_delay_left():
    yield
    ec.stripe_delay("/v1/payment_intents", 0, calls=0)
    ec.stripe_delay("/confirm", 0, calls=0)


def warm(customer: ec.Account) -> None:
    """Both callables answer once first: a cold worker's start is not the staged race."""
    with pytest.raises(ec.CallError):
        ec.call("cancel_request", {"requestId": "warm-up"}, customer.id_token)
    create(customer)


def test_a_cancel_before_the_card_is_held_leaves_no_hold(db, make_account):
    customer = make_account("customer")
    warm(customer)
    request_id = request_id_for(customer.uid, "orphan-1")
    ec.stripe_delay("/v1/payment_intents", seconds=5)  # the PaymentIntent's creation

    with ThreadPoolExecutor(max_workers=1) as pool:
        creating = pool.submit(create, customer, clientRequestId="orphan-1")
        wait_for(lambda: request_doc(db, request_id))  # written; Stripe not answered yet
        cancelled = ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
        answer = creating.result()

    assert (cancelled["status"], cancelled["paymentStatus"]) == ("cancelled", "failed")
    assert (answer["status"], answer["paymentStatus"]) == ("cancelled", "failed")
    [intent] = ec.payment_intents_for(request_id)
    assert intent["status"] == "canceled"  # made, never confirmed, released
    assert "paymentIntentId" not in request_doc(db, request_id)


def test_a_cancel_between_the_recorded_intent_and_its_confirmation_releases_it(db, make_account):
    customer = make_account("customer")
    warm(customer)
    request_id = request_id_for(customer.uid, "orphan-2")
    ec.stripe_delay("/confirm", seconds=5)

    with ThreadPoolExecutor(max_workers=1) as pool:
        creating = pool.submit(create, customer, clientRequestId="orphan-2")
        wait_for(lambda: (request_doc(db, request_id) or {}).get("paymentIntentId"))
        cancelled = ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
        answer = creating.result()

    assert cancelled["status"] == "cancelled" and answer["status"] == "cancelled"
    doc = request_doc(db, request_id)
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("failed", None)
    [intent] = ec.payment_intents_for(request_id)
    assert (intent["id"], intent["status"]) == (doc["paymentIntentId"], "canceled")
    assert event_types(db, request_id) == [
        "request_created",
        "payment_intent_created",
        "request_cancelled",
        "payment_failed",
    ]


def test_a_late_authorization_for_a_cancelled_request_is_cancelled_at_stripe(db, make_account):
    customer = make_account("customer")
    request_id = create(customer)["requestId"]
    ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
    released = request_doc(db, request_id)
    # an authorization of another hold for the request (an earlier attempt) arrives late
    stray = ec.stripe_hold(request_id)
    assert stray["status"] == "requires_capture"

    event = stripe_event("payment_intent.amount_capturable_updated", stray)
    assert post_webhook(event) == (200, {"received": True, "outcome": "stray_released"})

    # released by a `stray` task of the settlement queue (the bulk budget)
    wait_for(lambda: ec.payment_intent(stray["id"])["status"] == "canceled", timeout=30)
    doc = request_doc(db, request_id)
    assert (doc["paymentIntentId"], doc["paymentStatus"]) == (
        released["paymentIntentId"],
        "released",
    )
    assert doc["version"] == released["version"]  # the request itself is not touched
    assert post_webhook(event)[0] == 200  # Stripe's retry of the event: done, no error


def test_reconcile_releases_the_holds_no_request_keeps(db, make_account):
    customer = make_account("customer")
    live = create(customer)["requestId"]
    over = create(customer)["requestId"]
    # what today's main left behind: the request ended `failed`, its hold still at Stripe
    db.collection("requests").document(over).update(
        {"status": "cancelled", "paymentStatus": "failed"}
    )
    missing = ec.stripe_hold(f"no-such-request-{uuid.uuid4().hex[:8]}")
    another = ec.stripe_hold(live)

    assert ec.run_scheduled("reconcile_payments") == 200

    # released by `stray` tasks of the settlement queue (the bulk budget)
    for intent in (request_doc(db, over)["paymentIntentId"], missing["id"], another["id"]):
        wait_for(lambda i=intent: ec.payment_intent(i)["status"] == "canceled", timeout=30)
    live_doc = request_doc(db, live)
    assert live_doc["paymentStatus"] == "authorized"
    assert ec.payment_intent(live_doc["paymentIntentId"])["status"] == "requires_capture"
    assert ec.run_scheduled("reconcile_payments") == 200  # again: nothing more to do
    assert ec.payment_intent(live_doc["paymentIntentId"])["status"] == "requires_capture"


def test_the_same_client_request_id_at_once_makes_one_payment_intent(db, make_account):
    customer = make_account("customer")
    warm(customer)
    request_id = request_id_for(customer.uid, "double-tap")
    ec.stripe_delay("/v1/payment_intents", seconds=3)  # both taps reach Stripe

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(create, customer, clientRequestId="double-tap")
        wait_for(lambda: request_doc(db, request_id))
        time.sleep(0.5)
        second = pool.submit(create, customer, clientRequestId="double-tap")
        answers = [first.result(), second.result()]

    assert {(a["requestId"], a["paymentStatus"]) for a in answers} == {(request_id, "authorized")}
    [intent] = ec.payment_intents_for(request_id)
    assert intent["status"] == "requires_capture"
    assert request_doc(db, request_id)["paymentIntentId"] == intent["id"]
    assert event_types(db, request_id).count("payment_authorized") == 1


def test_a_retry_after_a_stripe_outage_holds_once(db, make_account):
    customer = make_account("customer")
    request_id = request_id_for(customer.uid, "outage-retry")
    ec.stripe_outage(50)  # past the callable client's one retry
    try:
        with pytest.raises(ec.CallError) as err:
            create(customer, clientRequestId="outage-retry")
    finally:
        ec.stripe_outage(0)
    assert err.value.status == "UNAVAILABLE"

    answer = create(customer, clientRequestId="outage-retry")

    assert (answer["requestId"], answer["paymentStatus"]) == (request_id, "authorized")
    [intent] = ec.payment_intents_for(request_id)
    assert intent["status"] == "requires_capture"
