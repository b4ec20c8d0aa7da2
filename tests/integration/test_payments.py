"""Money on the emulators and localstripe: each test checks Firestore and the PaymentIntent."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud.firestore_v1 import Client

import emulator_client as ec
from conftest import directory_entry, wait_for

DESCRIPTION = "The kitchen sink drips all night long."


def request_doc(db: Client, request_id: str) -> dict[str, Any]:
    return db.collection("requests").document(request_id).get().to_dict()


def settled(db: Client, request_id: str) -> dict[str, Any] | None:
    """The request once it owes Stripe nothing (a sweep's settlement is a queued task)."""
    doc = request_doc(db, request_id)
    return doc if doc.get("paymentOwed") is None else None


def event_types(db: Client, request_id: str) -> list[str]:
    events = db.collection("requests").document(request_id).collection("events").stream()
    return [e.to_dict()["type"] for e in sorted(events, key=lambda e: e.id)]


def create(customer: ec.Account, **data: Any) -> dict[str, Any]:
    body = {"category": "plumbing", "description": DESCRIPTION, "paymentMethodId": "pm_card_visa"}
    return ec.call("create_request", {**body, **data}, customer.id_token)


def pushes(request_id: str, kind: str) -> list[str]:
    return [
        m["token"]
        for m in ec.fcm_messages()
        if m["data"]["requestId"] == request_id and m["data"]["type"] == kind
    ]


def with_device(db: Client, account: ec.Account, token: str) -> ec.Account:
    devices = db.collection("users").document(account.uid).collection("devices")
    devices.document("d").set({"token": token, "platform": "web"})
    return account


def test_create_holds_the_card_and_dispatches(clean, make_account):
    # an empty database: the first wave (two helpers) is drawn among this test's helpers only
    db = clean
    customer = make_account("customer")
    helper = with_device(db, make_account("helper", isAvailable=True), "pay-helper-web")
    wait_for(lambda: directory_entry(db, helper.uid) is not None)

    result = create(customer)

    assert result["status"] == "pending"
    assert result["paymentStatus"] == "authorized"
    assert result["amount"] == 4900  # the server's price, whatever the client thinks
    doc = request_doc(db, result["requestId"])
    assert (doc["customerId"], doc["paymentStatus"], doc["currency"]) == (
        customer.uid,
        "authorized",
        "usd",
    )
    intent = ec.payment_intent(doc["paymentIntentId"])
    assert (intent["status"], intent["amount"], intent["capture_method"]) == (
        "requires_capture",
        4900,
        "manual",
    )
    assert intent["metadata"]["requestId"] == result["requestId"]
    assert event_types(db, result["requestId"])[:3] == [
        "request_created",
        "payment_intent_created",  # recorded before the card is confirmed
        "payment_authorized",
    ]
    wait_for(lambda: "pay-helper-web" in pushes(result["requestId"], "new_request"))


def test_a_declined_card_is_a_clear_error_and_nothing_is_dispatched(db, make_account):
    customer = make_account("customer")
    with pytest.raises(ec.CallError) as err:
        create(customer, paymentMethodId="pm_card_chargeCustomerFail", clientRequestId="decl-1")
    assert err.value.status == "FAILED_PRECONDITION"
    assert err.value.message == "Your card was declined"  # generic, whatever Stripe said

    again = ec.call(
        "create_request",
        {
            "category": "plumbing",
            "description": DESCRIPTION,
            "paymentMethodId": "pm_card_chargeCustomerFail",
            "clientRequestId": "decl-1",
        },
        customer.id_token,
    )  # the same attempt again answers the failed request, it does not hold again
    doc = request_doc(db, again["requestId"])
    assert (doc["status"], doc["paymentStatus"]) == ("cancelled", "failed")
    failed = [
        e for e in event_types_and_reasons(db, again["requestId"]) if e[0] == "payment_failed"
    ]
    assert failed == [("payment_failed", "card_declined")]  # the customer reads this trail
    time.sleep(1)
    rounds = db.collection("requests").document(again["requestId"]).collection("dispatches")
    assert list(rounds.stream()) == []


def test_the_same_client_request_id_twice_makes_one_hold(db, make_account):
    customer = make_account("customer")
    first = create(customer, clientRequestId="tap-twice")
    second = create(customer, clientRequestId="tap-twice")
    assert first["requestId"] == second["requestId"]
    assert second["paymentStatus"] == "authorized"
    assert event_types(db, first["requestId"]).count("payment_authorized") == 1
    other = create(make_account("customer"), clientRequestId="tap-twice")
    assert other["requestId"] != first["requestId"]  # per customer


def test_bad_input_changes_nothing(db, make_account):
    customer = make_account("customer")
    for data, field in (
        ({"category": "roofing"}, "category"),
        ({"description": "short"}, "description"),
        ({"paymentMethodId": 7}, "paymentMethodId"),
        ({"amount": 1}, "amount"),  # the price is the server's
    ):
        with pytest.raises(ec.CallError) as err:
            create(customer, **data)
        assert err.value.status == "INVALID_ARGUMENT"
        assert err.value.message.startswith(field)
    helper = make_account("helper")
    with pytest.raises(ec.CallError) as err:
        create(helper)
    assert err.value.status == "PERMISSION_DENIED"


def test_cancel_while_pending_releases_the_hold(db, make_account):
    customer = make_account("customer")
    created = create(customer)

    result = ec.call("cancel_request", {"requestId": created["requestId"]}, customer.id_token)

    assert result == {
        "requestId": created["requestId"],
        "status": "cancelled",
        "paymentStatus": "released",
    }
    doc = request_doc(db, created["requestId"])
    assert doc["paymentOwed"] is None and doc["cancelledBy"] == customer.uid
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
    assert event_types(db, created["requestId"])[-2:] == ["request_cancelled", "payment_released"]


def test_cancel_while_claimed_releases_and_tells_the_helper(db, make_account):
    customer = make_account("customer")
    helper = with_device(db, make_account("helper", isAvailable=True), "claimer-web")
    created = create(customer)
    ec.call("claim_request", {"requestId": created["requestId"]}, helper.id_token)

    result = ec.call("cancel_request", {"requestId": created["requestId"]}, customer.id_token)

    assert (result["status"], result["paymentStatus"]) == ("cancelled", "released")
    doc = request_doc(db, created["requestId"])
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
    wait_for(lambda: pushes(created["requestId"], "request_cancelled") == ["claimer-web"])


def test_only_the_owner_cancels_and_only_while_open(db, make_account):
    customer = make_account("customer")
    created = create(customer)
    with pytest.raises(ec.CallError) as err:
        ec.call("cancel_request", {"requestId": created["requestId"]}, make_account().id_token)
    assert err.value.status == "PERMISSION_DENIED"
    ec.call("cancel_request", {"requestId": created["requestId"]}, customer.id_token)
    with pytest.raises(ec.CallError) as err:
        ec.call("cancel_request", {"requestId": created["requestId"]}, customer.id_token)
    assert err.value.status == "FAILED_PRECONDITION"


def test_expiry_releases_the_hold_and_tells_the_customer(db, make_account):
    customer = with_device(db, make_account("customer"), "expiring-customer-web")
    created = create(customer)
    request_id = created["requestId"]
    db.collection("requests").document(request_id).update(
        {"pendingSince": datetime.now(UTC) - timedelta(minutes=31)}
    )

    assert ec.run_scheduled("sweep_stale_requests") == 200

    # the sweep expires it; its release is a settlepayment task (the emulator runs it at once)
    doc = wait_for(lambda: settled(db, request_id))
    assert (doc["status"], doc["paymentStatus"], doc["paymentOwed"]) == (
        "expired",
        "released",
        None,
    )
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
    wait_for(lambda: pushes(request_id, "request_expired") == ["expiring-customer-web"])


def available_helper(db: Client, make_account, token: str) -> ec.Account:
    helper = with_device(db, make_account("helper", isAvailable=True), token)
    wait_for(lambda: directory_entry(db, helper.uid) is not None)
    return helper


def test_a_released_claim_keeps_the_hold_and_the_third_release_expires_it(clean, make_account):
    # an empty database: the first wave (two helpers) is drawn among this test's helpers only
    db = clean
    customer = make_account("customer")
    holder = available_helper(db, make_account, f"holder-{time.time_ns()}")
    other = f"other-{time.time_ns()}"
    available_helper(db, make_account, other)
    request_id = create(customer)["requestId"]
    wait_for(lambda: other in pushes(request_id, "new_request"))
    ec.call("claim_request", {"requestId": request_id}, holder.id_token)
    stale = datetime.now(UTC) - timedelta(minutes=16)
    db.collection("requests").document(request_id).update({"claimedAt": stale})

    assert ec.run_scheduled("sweep_stale_claims") == 200

    # the claim went stale: pending again, the hold kept, the helper told, a new round sent
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["releaseCount"], doc["helperId"]) == ("pending", 1, None)
    assert (doc["paymentStatus"], doc.get("paymentOwed")) == ("authorized", None)
    assert doc["pendingSince"] > stale
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "requires_capture"
    wait_for(lambda: pushes(request_id, "claim_released"))
    assert set(pushes(request_id, "claim_released")) == {holder_token(db, holder)}
    round_2 = db.collection("requests").document(request_id).collection("dispatches")
    wait_for(lambda: (round_2.document("released-1").get().to_dict() or {}).get("finishedAt"))
    # everyone was asked already: its wave asks the other helper again, never the holder, who
    # cannot take it back
    assert pushes(request_id, "new_request").count(other) == 2
    assert pushes(request_id, "new_request").count(holder_token(db, holder)) == 1

    # two releases by two more helpers (the holder cannot take it again): the third release of
    # either kind expires it and releases the hold
    answers = []
    for _ in range(2):
        helper = make_account("helper")
        ec.call("claim_request", {"requestId": request_id}, helper.id_token)
        answers.append(ec.call("release_claim", {"requestId": request_id}, helper.id_token))
    assert [(a["status"], a["paymentStatus"]) for a in answers] == [
        ("pending", "authorized"),
        ("expired", "released"),
    ]
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["releaseCount"], doc["paymentOwed"]) == ("expired", 3, None)
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
    assert event_types(db, request_id)[-2:] == ["request_expired", "payment_released"]


def holder_token(db: Client, account: ec.Account) -> str:
    devices = db.collection("users").document(account.uid).collection("devices")
    return devices.document("d").get().to_dict()["token"]


def test_a_stripe_outage_leaves_the_release_owed_and_the_next_sweep_ends_it(db, make_account):
    customer = make_account("customer")
    created = create(customer)
    request_id = created["requestId"]
    ec.stripe_outage(50)  # more than the library's retries
    try:
        result = ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
    finally:
        ec.stripe_outage(0)

    assert (result["status"], result["paymentStatus"]) == ("cancelled", "authorized")
    doc = request_doc(db, request_id)
    assert doc["paymentOwed"] == "release"
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "requires_capture"

    assert ec.run_scheduled("sweep_stale_requests") == 200

    doc = wait_for(lambda: settled(db, request_id))
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("released", None)
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
    assert event_types(db, request_id).count("payment_released") == 1


def test_cancel_and_claim_at_the_same_instant(db, make_account):
    helper = make_account("helper")
    for _ in range(20):
        customer = make_account("customer")  # one account makes at most 6 requests an hour
        request_id = create(customer)["requestId"]

        def cancel(request_id: str = request_id, customer: ec.Account = customer) -> str:
            try:
                ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
                return "cancelled"
            except ec.CallError as err:
                return err.status

        def claim(request_id: str = request_id) -> str:
            try:
                ec.call("claim_request", {"requestId": request_id}, helper.id_token)
                return "claimed"
            except ec.CallError as err:
                return err.status

        with ThreadPoolExecutor(max_workers=2) as pool:
            cancelled, claimed = pool.submit(cancel), pool.submit(claim)
            outcome = (cancelled.result(), claimed.result())

        doc = request_doc(db, request_id)
        types = event_types(db, request_id)
        # Either the claim came first and the cancel then ended it, or the cancel won and the
        # claim was refused; never a claim on a cancelled request, never a hold left behind.
        assert outcome in {("cancelled", "claimed"), ("cancelled", "FAILED_PRECONDITION")}
        assert doc["status"] == "cancelled"
        assert (doc["paymentStatus"], doc["paymentOwed"]) == ("released", None)
        assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"
        if outcome[1] == "claimed":
            assert types[3:] == ["request_claimed", "request_cancelled", "payment_released"]
        else:
            assert types[3:] == ["request_cancelled", "payment_released"]
        assert doc["version"] == len(types)


CHECKLIST = {"water_shutoff_located": True, "area_clear": True, "customer_ready": True}


def claimed_request(db: Client, make_account) -> tuple[ec.Account, ec.Account, str]:
    customer = with_device(db, make_account("customer"), f"cust-{time.time_ns()}")
    db.collection("users").document(customer.uid).update({"phone": "+15125550177"})
    helper = make_account("helper")
    request_id = create(customer)["requestId"]
    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    return customer, helper, request_id


def test_a_full_session_captures_the_payment(db, make_account):
    customer, helper, request_id = claimed_request(db, make_account)
    with pytest.raises(ec.CallError) as err:
        ec.call(
            "start_session",
            {"requestId": request_id, "checklist": {"area_clear": True}},
            helper.id_token,
        )
    assert err.value.status == "FAILED_PRECONDITION"
    assert "water_shutoff_located" in err.value.message
    assert db.collection("config").document("checklists").get().to_dict()["plumbing"]

    started = ec.call(
        "start_session", {"requestId": request_id, "checklist": CHECKLIST}, helper.id_token
    )
    assert started["status"] == "waiting" and started["helperJoinUrl"].startswith("http")
    assert request_doc(db, request_id)["status"] == "in_session"
    wait_for(lambda: pushes(request_id, "session_invite"))
    wait_for(lambda: any(m["to"] == "+15125550177" for m in ec.sms_messages()))

    joined = ec.call("join_session", {"sessionId": started["sessionId"]}, customer.id_token)
    assert joined["status"] == "active" and "as=customer" in joined["customerJoinUrl"]
    ended = ec.call(
        "end_session",
        {"sessionId": started["sessionId"], "outcome": "resolved"},
        helper.id_token,
    )

    assert ended == {
        "sessionId": started["sessionId"],
        "status": "ended",
        "paymentStatus": "captured",
    }
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["outcome"], doc["paymentStatus"]) == (
        "completed",
        "resolved",
        "captured",
    )
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "succeeded"
    session = db.collection("sessions").document(started["sessionId"]).get().to_dict()
    assert (session["status"], session["outcome"]) == ("ended", "resolved")
    assert session["durationSeconds"] >= 0
    wait_for(lambda: pushes(request_id, "session_complete"))


@pytest.mark.parametrize("outcome", ["unresolved", "no_show"])
def test_unresolved_and_no_show_release(db, make_account, outcome):
    customer, helper, request_id = claimed_request(db, make_account)
    started = ec.call(
        "start_session", {"requestId": request_id, "checklist": CHECKLIST}, helper.id_token
    )
    if outcome == "unresolved":
        ec.call("join_session", {"sessionId": started["sessionId"]}, customer.id_token)
    ended = ec.call(
        "end_session", {"sessionId": started["sessionId"], "outcome": outcome}, helper.id_token
    )
    assert ended["paymentStatus"] == "released"
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["outcome"]) == ("completed", outcome)
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"


def test_a_session_nobody_joins_ends_no_show_by_the_sweep(db, make_account):
    _, helper, request_id = claimed_request(db, make_account)
    started = ec.call(
        "start_session", {"requestId": request_id, "checklist": CHECKLIST}, helper.id_token
    )
    db.collection("sessions").document(started["sessionId"]).update(
        {"waitingAt": datetime.now(UTC) - timedelta(minutes=16)}
    )
    assert ec.run_scheduled("sweep_stale_claims") == 200
    doc = wait_for(lambda: settled(db, request_id))
    assert (doc["status"], doc["outcome"], doc["paymentStatus"]) == (
        "completed",
        "no_show",
        "released",
    )
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"


def signed(payload: bytes, secret: str = "whsec_homepro_local") -> str:
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def post_webhook(event: dict[str, Any], signature: str | None = None) -> tuple[int, dict[str, Any]]:
    payload = json.dumps(event).encode()
    req = urllib.request.Request(
        f"{ec.FUNCTIONS}/stripe_webhook",
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature or signed(payload),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, {}


def stripe_event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_{time.time_ns()}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def test_3ds_then_the_webhook_authorizes_and_dispatches(clean, make_account):
    # an empty database: the first wave (two helpers) is drawn among this test's helpers only
    db = clean
    customer = make_account("customer")
    helper = with_device(db, make_account("helper", isAvailable=True), "3ds-helper-web")
    wait_for(lambda: directory_entry(db, helper.uid) is not None)
    created = create(customer, paymentMethodId="pm_card_threeDSecure2Required")
    assert created["paymentStatus"] == "requires_payment" and created["clientSecret"]
    request_id = created["requestId"]
    intent_id = request_doc(db, request_id)["paymentIntentId"]
    assert ec.payment_intent(intent_id)["status"] == "requires_action"
    time.sleep(1)
    assert pushes(request_id, "new_request") == []  # not dispatched while unpaid

    # The customer passes 3-D Secure (in Stripe.js); Stripe then tells the webhook.
    ec.stripe_authenticate(intent_id, created["clientSecret"])
    intent = ec.payment_intent(intent_id)
    assert intent["status"] == "requires_capture"
    event = stripe_event("payment_intent.amount_capturable_updated", intent)
    assert post_webhook(event, "t=1,v1=forged")[0] == 400
    assert request_doc(db, request_id)["paymentStatus"] == "requires_payment"

    assert post_webhook(event) == (200, {"received": True, "outcome": "payment_authorized"})
    assert post_webhook(event) == (200, {"received": True, "outcome": "unchanged"})  # repeated
    assert request_doc(db, request_id)["paymentStatus"] == "authorized"
    wait_for(lambda: "3ds-helper-web" in pushes(request_id, "new_request"))


def test_an_admin_refunds_a_captured_payment(db, make_account):
    customer, helper, request_id = claimed_request(db, make_account)
    started = ec.call(
        "start_session", {"requestId": request_id, "checklist": CHECKLIST}, helper.id_token
    )
    ec.call("join_session", {"sessionId": started["sessionId"]}, customer.id_token)
    ec.call(
        "end_session", {"sessionId": started["sessionId"], "outcome": "resolved"}, helper.id_token
    )
    with pytest.raises(ec.CallError) as err:
        ec.call("refund_request", {"requestId": request_id}, customer.id_token)
    assert err.value.status == "PERMISSION_DENIED"

    admin = make_account("admin")
    answer = ec.call("refund_request", {"requestId": request_id, "amount": 2000}, admin.id_token)

    assert answer == {"requestId": request_id, "paymentStatus": "refunded"}
    doc = request_doc(db, request_id)
    assert (doc["paymentStatus"], doc["refundedAmount"]) == ("refunded", 2000)
    assert event_types(db, request_id)[-1] == "payment_refunded"


def event_types_and_reasons(db: Client, request_id: str) -> list[tuple[str, str | None]]:
    events = db.collection("requests").document(request_id).collection("events")
    return [(e.to_dict()["type"], e.to_dict().get("reason")) for e in events.stream()]


# -- abuse: a free session (issue 15)


def test_the_customer_gets_the_video_link_only_by_joining(db, make_account):
    customer, helper, request_id = claimed_request(db, make_account)
    started = ec.call(
        "start_session", {"requestId": request_id, "checklist": CHECKLIST}, helper.id_token
    )
    session_id = started["sessionId"]

    # what a customer can read holds no provider link: the session, the invitation, the text
    status, fields = ec.read_as(f"sessions/{session_id}", customer.id_token)
    assert status == 200 and fields["status"] == {"stringValue": "waiting"}
    assert not [name for name in fields if "url" in name.lower()]
    for account in (customer, helper):
        assert ec.read_as(f"sessionLinks/{session_id}", account.id_token)[0] == 403
    wait_for(lambda: pushes(request_id, "session_invite"))
    [invite] = [
        m["data"]
        for m in ec.fcm_messages()
        if m["data"]["requestId"] == request_id and m["data"]["type"] == "session_invite"
    ]
    assert "joinUrl" not in invite and invite["url"] == f"/customer/request/{request_id}/status"
    # this request's text (an earlier test texted the same number: wait for this one's)
    texts = wait_for(
        lambda: [
            m
            for m in ec.sms_messages()
            if m["to"] == "+15125550177"
            and m["body"].endswith(f"/customer/request/{request_id}/status")
        ]
    )
    assert started["helperJoinUrl"] not in str(invite) + texts[-1]["body"]

    # joining makes it active and answers the link; again (a reload) answers it again
    joined = ec.call("join_session", {"sessionId": session_id}, customer.id_token)
    assert joined["status"] == "active" and "as=customer" in joined["customerJoinUrl"]
    assert ec.call("join_session", {"sessionId": session_id}, customer.id_token) == joined
    # the helper's page, reloaded, gets the helper's link again
    again = ec.call("start_session", {"requestId": request_id, "checklist": {}}, helper.id_token)
    assert again == {**started, "status": "active"}
    with pytest.raises(ec.CallError) as err:
        ec.call("join_session", {"sessionId": session_id}, helper.id_token)
    assert err.value.status == "PERMISSION_DENIED"
