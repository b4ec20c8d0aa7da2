"""Timers per request on the emulators: a request created past its deadline is moved on by its
own `requesttimer` task (the trigger schedules it; the Tasks emulator runs every task at once),
with no sweep run; a timer whose state moved on, or that is early, changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud.firestore_v1 import Client

import emulator_client as ec
from conftest import wait_for

DESCRIPTION = "The kitchen sink drips all night long."
CHECKLIST = {"water_shutoff_located": True, "area_clear": True, "customer_ready": True}


def request_doc(db: Client, request_id: str) -> dict[str, Any]:
    return db.collection("requests").document(request_id).get().to_dict()


def events(db: Client, request_id: str) -> list[dict[str, Any]]:
    found = db.collection("requests").document(request_id).collection("events").stream()
    return [e.to_dict() for e in sorted(found, key=lambda e: e.id)]


def timer(request_id: str, kind: str, due: datetime) -> tuple[int, dict[str, Any]]:
    return ec.deliver_task(
        "requesttimer", {"requestId": request_id, "kind": kind, "due": due.isoformat()}
    )


def test_a_request_created_past_its_expiry_is_expired_by_its_timer(db, make_request):
    old = datetime.now(UTC) - timedelta(minutes=31)
    request_id = make_request(pendingSince=old, createdAt=old)

    # no sweep runs (the test stack's ticker is off): the task the trigger scheduled does it
    doc = wait_for(lambda: (d := request_doc(db, request_id))["status"] == "expired" and d, 60)
    expired = [e for e in events(db, request_id) if e["type"] == "request_expired"]
    assert len(expired) == 1
    assert (expired[0]["reason"], expired[0]["actor"]) == ("pending_timeout", {"role": "system"})
    assert doc["expiredAt"] >= old + timedelta(minutes=30)
    # its release went to the settle queue, as the sweep's do
    wait_for(lambda: request_doc(db, request_id).get("paymentOwed") is None, 60)
    # the timers of its pending spell, delivered again: nothing more
    for kind, due in (
        ("expiry", old + timedelta(minutes=30)),
        ("escalation", old + timedelta(minutes=5)),
    ):
        assert timer(request_id, kind, due) == (200, {"result": {"outcome": "moved_on"}})
    assert [e["type"] for e in events(db, request_id)].count("request_expired") == 1


def test_a_claim_created_past_its_timeout_is_released_by_its_timer(db, make_request):
    old = datetime.now(UTC) - timedelta(minutes=16)
    request_id = make_request(status="claimed", helperId="helper-gone", claimedAt=old)

    doc = wait_for(lambda: (d := request_doc(db, request_id))["status"] == "pending" and d, 60)
    assert (doc["releaseCount"], doc["helperId"]) == (1, None)
    [event] = events(db, request_id)
    assert (event["type"], event["reason"]) == ("request_released", "claim_timeout")
    # its new deadlines are minutes away: delivered now, they are early
    since = doc["pendingSince"]
    assert timer(request_id, "expiry", since + timedelta(minutes=30)) == (
        200,
        {"result": {"outcome": "early"}},
    )
    time.sleep(1)  # room for anything that (wrongly) acted
    assert request_doc(db, request_id)["version"] == doc["version"]


def test_the_timer_of_a_request_that_moved_on_does_nothing(db, make_request):
    claimed_at = datetime.now(UTC) - timedelta(minutes=1)
    old = datetime.now(UTC) - timedelta(minutes=40)
    request_id = make_request(status="claimed", helperId="helper-busy", claimedAt=claimed_at)
    time.sleep(1)  # the creation's own timers ran (early)
    before = request_doc(db, request_id)

    # the deadlines of the pending spell it left: claimed since
    assert timer(request_id, "expiry", old + timedelta(minutes=30)) == (
        200,
        {"result": {"outcome": "moved_on"}},
    )
    assert timer(request_id, "escalation", old + timedelta(minutes=5)) == (
        200,
        {"result": {"outcome": "moved_on"}},
    )
    # its own claim timeout, not yet due
    assert timer(request_id, "claim-timeout", claimed_at + timedelta(minutes=15)) == (
        200,
        {"result": {"outcome": "early"}},
    )
    assert request_doc(db, request_id) == before
    assert events(db, request_id) == []


def test_a_bad_timer_payload_is_refused_naming_the_field(db):
    status, answer = ec.deliver_task("requesttimer", {"requestId": "r", "kind": "nap", "due": ""})
    assert status == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT"
    assert answer["error"]["message"].startswith("kind:")


def test_a_session_nobody_joined_ends_no_show_at_its_timer(db, make_account):
    customer = make_account("customer")
    helper = make_account("helper")
    body = {"category": "plumbing", "description": DESCRIPTION, "paymentMethodId": "pm_card_visa"}
    request_id = ec.call("create_request", body, customer.id_token)["requestId"]
    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    started = ec.call(
        "start_session", {"requestId": request_id, "checklist": CHECKLIST}, helper.id_token
    )
    waiting_at = datetime.now(UTC) - timedelta(minutes=16)
    db.collection("sessions").document(started["sessionId"]).update({"waitingAt": waiting_at})

    due = waiting_at + timedelta(minutes=15)
    assert timer(request_id, "join-timeout", due) == (
        200,
        {"result": {"outcome": "session_no_show"}},
    )
    assert timer(request_id, "join-timeout", due) == (200, {"result": {"outcome": "moved_on"}})
    doc = wait_for(lambda: (d := request_doc(db, request_id))["paymentStatus"] == "released" and d)
    assert (doc["status"], doc["outcome"], doc.get("paymentOwed")) == (
        "completed",
        "no_show",
        None,
    )
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
