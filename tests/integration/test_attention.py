"""Issue 15 items 6-7 on the emulators and localstripe, through the callables and the sweeps:
a session that never ends is warned, then timed out with the hold kept for an admin; an admin
settles it (only an admin); nobody deciding releases it; a payment that keeps failing stops
being retried and waits for an admin."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud.firestore_v1 import Client

import emulator_client as ec
from conftest import wait_for
from homepro.domain.policy import Policy

DESCRIPTION = "The kitchen sink drips all night long."
CHECKLIST = {"water_shutoff_located": True, "area_clear": True, "customer_ready": True}
MAX_ATTEMPTS = Policy().payment_max_attempts  # the stack runs with the default


def request_doc(db: Client, request_id: str) -> dict[str, Any]:
    return db.collection("requests").document(request_id).get().to_dict()


def event_types(db: Client, request_id: str) -> list[str]:
    events = db.collection("requests").document(request_id).collection("events").stream()
    return [e.to_dict()["type"] for e in sorted(events, key=lambda e: e.id)]


def with_device(db: Client, account: ec.Account, token: str) -> ec.Account:
    devices = db.collection("users").document(account.uid).collection("devices")
    devices.document("d").set({"token": token, "platform": "web"})
    return account


def create(customer: ec.Account) -> str:
    body = {"category": "plumbing", "description": DESCRIPTION, "paymentMethodId": "pm_card_visa"}
    return str(ec.call("create_request", body, customer.id_token)["requestId"])


def active_session(db: Client, make_account) -> tuple[ec.Account, ec.Account, str, str]:
    """A customer and a helper in an active session (the customer joined)."""
    stamp = time.time_ns()
    customer = with_device(db, make_account("customer"), f"long-customer-{stamp}")
    helper = with_device(db, make_account("helper"), f"long-helper-{stamp}")
    request_id = create(customer)
    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    started = ec.call(
        "start_session", {"requestId": request_id, "checklist": CHECKLIST}, helper.id_token
    )
    ec.call("join_session", {"sessionId": started["sessionId"]}, customer.id_token)
    return customer, helper, request_id, started["sessionId"]


def active_since(db: Client, session_id: str, minutes: float) -> None:
    db.collection("sessions").document(session_id).update(
        {"activeAt": datetime.now(UTC) - timedelta(minutes=minutes)}
    )


def timed_out(db: Client, make_account) -> tuple[ec.Account, ec.Account, str, str]:
    customer, helper, request_id, session_id = active_session(db, make_account)
    active_since(db, session_id, 121)
    assert ec.run_scheduled("sweep_stale_claims") == 200
    assert request_doc(db, request_id)["outcome"] == "timed_out"
    return customer, helper, request_id, session_id


def inbox_types(db: Client, uid: str) -> list[str]:
    items = db.collection("users").document(uid).collection("notifications").stream()
    return [i.to_dict()["type"] for i in items]


def pushed(token: str, kind: str) -> int:
    return sum(1 for m in ec.fcm_messages() if m["token"] == token and m["data"]["type"] == kind)


def test_a_long_session_is_warned_then_timed_out_with_the_hold_kept(db, make_account):
    customer, helper, request_id, session_id = active_session(db, make_account)
    tokens = {
        uid: db.collection("users").document(uid).collection("devices").document("d").get()
        for uid in (customer.uid, helper.uid)
    }
    customer_token, helper_token = (tokens[u].to_dict()["token"] for u in tokens)

    active_since(db, session_id, 105)  # not yet
    assert ec.run_scheduled("sweep_stale_claims") == 200
    assert "session_ending" not in inbox_types(db, customer.uid)

    active_since(db, session_id, 111)  # 10 minutes left (and a little)
    assert ec.run_scheduled("sweep_stale_claims") == 200
    assert ec.run_scheduled("sweep_stale_claims") == 200  # again: nothing sent twice
    for account in (customer, helper):
        assert inbox_types(db, account.uid).count("session_ending") == 1
    status, _ = ec.read_as(
        f"users/{customer.uid}/notifications/session_ending-{request_id}-{session_id}",
        customer.id_token,
    )
    assert status == 200
    assert (pushed(customer_token, "session_ending"), pushed(helper_token, "session_ending")) == (
        1,
        1,
    )
    session = db.collection("sessions").document(session_id).get().to_dict()
    assert session["status"] == "active" and session["warnedAt"] is not None

    active_since(db, session_id, 121)  # past SESSION_MAX_MINUTES
    assert ec.run_scheduled("sweep_stale_claims") == 200

    session = db.collection("sessions").document(session_id).get().to_dict()
    assert (session["status"], session["outcome"]) == ("ended", "timed_out")
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["outcome"], doc["paymentStatus"]) == (
        "completed",
        "timed_out",
        "authorized",
    )
    assert doc.get("paymentOwed") is None
    attention = doc["paymentAttention"]
    assert attention["reason"] == "session_timed_out"
    assert attention["releaseBy"] - attention["since"] == timedelta(hours=48)
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "requires_capture"
    assert event_types(db, request_id).count("request_completed") == 1


def test_only_an_admin_settles_a_timed_out_session_and_it_is_captured(db, make_account):
    customer, helper, request_id, _ = timed_out(db, make_account)
    data = {"requestId": request_id, "action": "capture", "reason": "the customer says fixed"}
    for account in (helper, customer):
        with pytest.raises(ec.CallError) as err:
            ec.call("admin_settle", data, account.id_token)
        assert err.value.status == "PERMISSION_DENIED"
    admin = make_account("admin")
    with pytest.raises(ec.CallError) as err:
        ec.call("admin_settle", {**data, "reason": ""}, admin.id_token)
    assert (err.value.status, err.value.message.split(":")[0]) == ("INVALID_ARGUMENT", "reason")
    assert request_doc(db, request_id)["paymentAttention"] is not None  # nothing changed

    answer = ec.call("admin_settle", data, admin.id_token)

    assert answer == {
        "requestId": request_id,
        "action": "capture",
        "paymentStatus": "captured",
        "paymentOwed": None,
    }
    doc = request_doc(db, request_id)
    assert doc["paymentAttention"] is None
    assert (doc["paymentDecision"]["by"], doc["paymentDecision"]["action"]) == (
        admin.uid,
        "capture",
    )
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "succeeded"
    events = db.collection("requests").document(request_id).collection("events").stream()
    decided = [e.to_dict() for e in events if e.to_dict()["type"] == "payment_decided"]
    assert [(e["actor"], e["reason"]) for e in decided] == [
        ({"uid": admin.uid, "role": "admin"}, "capture: the customer says fixed")
    ]
    assert ec.call("admin_settle", data, admin.id_token) == answer  # idempotent
    assert event_types(db, request_id).count("payment_captured") == 1


def test_no_decision_within_admin_decision_hours_releases_the_hold(db, make_account):
    _, _, request_id, _ = timed_out(db, make_account)
    db.collection("requests").document(request_id).update(
        {"paymentAttention.releaseBy": datetime.now(UTC) - timedelta(minutes=1)}
    )

    assert ec.run_scheduled("sweep_stale_requests") == 200

    # the sweep decides; the release is a settlepayment task (the emulator runs it at once)
    doc = wait_for(lambda: (d := request_doc(db, request_id))["paymentStatus"] == "released" and d)
    assert (doc["paymentStatus"], doc["paymentAttention"], doc["paymentOwed"]) == (
        "released",
        None,
        None,
    )
    assert doc["paymentDecision"]["by"] == "system"
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
    assert event_types(db, request_id)[-2:] == ["payment_decided", "payment_released"]


def test_a_payment_failing_max_attempts_times_is_not_retried_and_waits_for_an_admin(
    clean, make_account
):
    db = clean  # no other owed payment shares the outage's failing calls
    customer = make_account("customer")
    request_id = create(customer)
    # the attempts before the last two (each failure is a sweep's minute: counted as they do)
    db.collection("requests").document(request_id).update({"paymentAttempts": MAX_ATTEMPTS - 2})
    ec.stripe_outage(1000)
    try:
        # the callable's release fails (one), the sweep's queued retry fails (the last)
        answer = ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
        assert (answer["status"], answer["paymentStatus"]) == ("cancelled", "authorized")
        assert request_doc(db, request_id)["paymentAttempts"] == MAX_ATTEMPTS - 1
        assert ec.run_scheduled("sweep_stale_requests") == 200
        wait_for(lambda: request_doc(db, request_id).get("paymentAttention"), timeout=60)
    finally:
        ec.stripe_outage(0)

    doc = request_doc(db, request_id)
    assert (doc["paymentAttempts"], doc["paymentOwed"]) == (MAX_ATTEMPTS, None)
    assert doc["paymentAttention"]["reason"] == "payment_attempts_exhausted"
    assert doc["paymentAttention"]["owed"] == "release"
    assert event_types(db, request_id)[-3:] == [
        "request_cancelled",
        "payment_attempt_failed",
        "payment_attention",
    ]
    # Stripe is back, and still nothing retries it: it waits for a person
    assert ec.run_scheduled("sweep_stale_requests") == 200
    assert request_doc(db, request_id)["version"] == doc["version"]
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "requires_capture"

    admin = make_account("admin")
    with pytest.raises(ec.CallError) as err:  # a cancelled request owes a release
        ec.call(
            "admin_settle",
            {"requestId": request_id, "action": "capture", "reason": "no"},
            admin.id_token,
        )
    assert err.value.status == "FAILED_PRECONDITION"
    answer = ec.call(
        "admin_settle",
        {"requestId": request_id, "action": "release", "reason": "Stripe is back"},
        admin.id_token,
    )
    assert (answer["paymentStatus"], answer["paymentOwed"]) == ("released", None)
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
