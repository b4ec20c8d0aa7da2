"""Bulk settlements through the `settlepayment` task queue on the emulators and localstripe:
requests the sweep expires are released by queued tasks (the Tasks emulator runs them at
once), each hold once; a second delivery does nothing; a failing Stripe is retried by the
queue and counted on the request."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud.firestore_v1 import Client

import emulator_client as ec
from conftest import wait_for

DESCRIPTION = "The kitchen sink drips all night long."


def request_doc(db: Client, request_id: str) -> dict[str, Any]:
    return db.collection("requests").document(request_id).get().to_dict()


def event_types(db: Client, request_id: str) -> list[str]:
    events = db.collection("requests").document(request_id).collection("events").stream()
    return [e.to_dict()["type"] for e in sorted(events, key=lambda e: e.id)]


def past_expiry(db: Client, make_account, count: int) -> list[str]:
    """`count` requests with their cards held, past PENDING_TIMEOUT_MINUTES."""
    request_ids = []
    for _ in range(count):  # one customer each: a customer has at most 2 open requests
        customer = make_account("customer")
        body = {
            "category": "plumbing",
            "description": DESCRIPTION,
            "paymentMethodId": "pm_card_visa",
        }
        request_ids.append(ec.call("create_request", body, customer.id_token)["requestId"])
    for request_id in request_ids:
        db.collection("requests").document(request_id).update(
            {"pendingSince": datetime.now(UTC) - timedelta(minutes=31)}
        )
    return request_ids


def released(db: Client, request_id: str) -> dict[str, Any] | None:
    doc = request_doc(db, request_id)
    return doc if doc["paymentStatus"] == "released" and doc.get("paymentOwed") is None else None


def deliver(request_id: str) -> dict[str, Any]:
    """One more delivery of a settlement task, as Cloud Tasks would repeat it."""
    req = urllib.request.Request(
        f"{ec.FUNCTIONS}/settlepayment",
        data=json.dumps({"data": {"requestId": request_id}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer: dict[str, Any] = json.loads(resp.read())["result"]
    return answer


def test_requests_the_sweep_expires_are_released_through_the_queue_once_each(db, make_account):
    request_ids = past_expiry(db, make_account, 6)
    assert ec.run_scheduled("sweep_stale_requests") == 200

    for request_id in request_ids:
        doc = wait_for(lambda r=request_id: released(db, r), timeout=60)
        assert doc["status"] == "expired"
        assert doc.get("paymentAttempts", 0) == 0
        intents = ec.payment_intents_for(request_id)
        assert [i["status"] for i in intents] == ["canceled"]  # one hold, released
        assert event_types(db, request_id).count("payment_released") == 1

    # a repeated delivery, and the next sweep: nothing owed, nothing done
    assert deliver(request_ids[0]) == {"outcome": "nothing_owed"}
    assert ec.run_scheduled("sweep_stale_requests") == 200
    for request_id in request_ids:
        assert event_types(db, request_id)[-2:] == ["request_expired", "payment_released"]
        assert event_types(db, request_id).count("payment_released") == 1


def test_a_failing_stripe_is_retried_by_the_queue_and_counted(clean, make_account):
    db = clean  # no other owed payment shares the outage's failing calls
    (request_id,) = past_expiry(db, make_account, 1)
    ec.stripe_outage(2)  # the task's first try and its one library retry
    try:
        assert ec.run_scheduled("sweep_stale_requests") == 200
        doc = wait_for(lambda: released(db, request_id), timeout=90)
    finally:
        ec.stripe_outage(0)

    assert doc["paymentAttempts"] == 1  # the failed try, counted before the queue's retry
    assert event_types(db, request_id)[-3:] == [
        "request_expired",
        "payment_attempt_failed",
        "payment_released",
    ]
    assert [i["status"] for i in ec.payment_intents_for(request_id)] == ["canceled"]
