"""The foundation on the real emulators: roles, claims, releases, triggers and sweeps wired."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud.firestore_v1 import Client

import emulator_client as ec
from conftest import wait_for


def claims_of(id_token: str) -> dict[str, object]:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def events_of(db: Client, request_id: str) -> list[dict[str, object]]:
    snaps = db.collection("requests").document(request_id).collection("events").stream()
    return [s.to_dict() | {"id": s.id} for s in sorted(snaps, key=lambda s: s.id)]


def request_doc(db: Client, request_id: str) -> dict[str, object]:
    return db.collection("requests").document(request_id).get().to_dict()


# ---------------------------------------------------------------- roles


def test_a_new_account_gets_the_customer_claim_and_a_profile(db: Client) -> None:
    account = ec.sign_up("new-customer@homepro.test", display_name="Nora New")
    assert claims_of(account.id_token)["role"] == "customer"
    profile = db.collection("users").document(account.uid).get().to_dict()
    assert profile["role"] == "customer"


def test_set_role_makes_a_helper_and_mirrors_the_role(db: Client, make_account) -> None:
    account = make_account("helper")
    assert claims_of(account.id_token)["role"] == "helper"
    assert db.collection("users").document(account.uid).get().to_dict()["role"] == "helper"


# ---------------------------------------------------------------- claim_request


def test_a_helper_claims_a_pending_request_with_an_audit_event(db, make_account, make_request):
    helper = make_account("helper", displayName="Hal Helper")
    request_id = make_request()

    result = ec.call("claim_request", {"requestId": request_id}, helper.id_token)

    assert result == {"requestId": request_id, "status": "claimed"}
    doc = request_doc(db, request_id)
    assert doc["status"] == "claimed"
    assert doc["helperId"] == helper.uid
    assert doc["helperDisplayName"] == "Hal Helper"
    assert isinstance(doc["claimedAt"], datetime)
    assert doc["version"] == 2
    [event] = events_of(db, request_id)
    assert event["type"] == "request_claimed"
    assert (event["from"], event["to"]) == ("pending", "claimed")
    assert event["actor"] == {"uid": helper.uid, "role": "helper"}


def test_a_second_helper_gets_failed_precondition(db, make_account, make_request):
    first, second = make_account("helper"), make_account("helper")
    request_id = make_request()
    ec.call("claim_request", {"requestId": request_id}, first.id_token)

    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": request_id}, second.id_token)

    assert err.value.status == "FAILED_PRECONDITION"
    assert request_doc(db, request_id)["helperId"] == first.uid
    assert len(events_of(db, request_id)) == 1


def test_a_customer_cannot_claim(db, make_account, make_request):
    customer = make_account("customer")
    request_id = make_request()
    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": request_id}, customer.id_token)
    assert err.value.status == "PERMISSION_DENIED"
    assert request_doc(db, request_id)["status"] == "pending"


def test_no_token_is_unauthenticated(make_request):
    request_id = make_request()
    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": request_id})
    assert err.value.status == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "requestId"),
        ({"requestId": 42}, "requestId"),
        ({"requestId": ""}, "requestId"),
        ({"requestId": "a/b"}, "requestId"),
        ({"requestId": "abc", "status": "claimed"}, "status"),
        ("not-an-object", "data"),
    ],
)
def test_malformed_data_is_invalid_argument_naming_the_field(make_account, data, field):
    helper = make_account("helper")
    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", data, helper.id_token)
    assert err.value.status == "INVALID_ARGUMENT"
    assert err.value.message.startswith(f"{field}:")


def test_an_unknown_request_is_not_found(make_account):
    helper = make_account("helper")
    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": "no-such-request"}, helper.id_token)
    assert err.value.status == "NOT_FOUND"


def test_an_unpaid_request_cannot_be_claimed(db, make_account, make_request):
    helper = make_account("helper")
    request_id = make_request(paymentStatus="requires_payment")
    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    assert err.value.status == "FAILED_PRECONDITION"
    assert request_doc(db, request_id)["status"] == "pending"


def test_ten_helpers_racing_one_request_exactly_one_wins(db, make_account, make_request):
    helpers = [make_account("helper") for _ in range(10)]
    request_id = make_request()

    def claim(token: str) -> str:
        try:
            ec.call("claim_request", {"requestId": request_id}, token)
            return "won"
        except ec.CallError as err:
            return err.status

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(claim, [h.id_token for h in helpers]))

    assert outcomes.count("won") == 1, outcomes
    assert outcomes.count("FAILED_PRECONDITION") == 9, outcomes
    winner = helpers[outcomes.index("won")]
    assert request_doc(db, request_id)["helperId"] == winner.uid
    claimed = [e for e in events_of(db, request_id) if e["type"] == "request_claimed"]
    assert len(claimed) == 1
    assert claimed[0]["actor"]["uid"] == winner.uid


# ---------------------------------------------------------------- release_claim


def test_releases_go_back_to_pending_and_the_third_expires(db, make_account, make_request):
    request_id = make_request()
    statuses = []
    for _ in range(3):  # three helpers: one who gave it back cannot take it again
        helper = make_account("helper")
        ec.call("claim_request", {"requestId": request_id}, helper.id_token)
        statuses.append(
            ec.call("release_claim", {"requestId": request_id}, helper.id_token)["status"]
        )

    assert statuses == ["pending", "pending", "expired"]
    doc = request_doc(db, request_id)
    assert doc["status"] == "expired"
    assert doc["releaseCount"] == 3
    assert doc["helperId"] is None
    # the callable settled before answering: Stripe does not know this test's fake intent,
    # so there was no hold to release (a release of an unknown intent is done, with an alert)
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("released", None)
    assert isinstance(doc["expiredAt"], datetime)
    types = [e["type"] for e in events_of(db, request_id)]
    assert types == ["request_claimed", "request_released"] * 2 + [
        "request_claimed",
        "request_expired",
        "payment_released",
    ]
    assert doc["version"] == 1 + len(types)


def test_only_the_claiming_helper_can_release(db, make_account, make_request):
    holder, other = make_account("helper"), make_account("helper")
    request_id = make_request()
    ec.call("claim_request", {"requestId": request_id}, holder.id_token)
    with pytest.raises(ec.CallError) as err:
        ec.call("release_claim", {"requestId": request_id}, other.id_token)
    assert err.value.status == "PERMISSION_DENIED"
    assert request_doc(db, request_id)["status"] == "claimed"


def test_releasing_a_pending_request_is_failed_precondition(make_account, make_request):
    helper = make_account("helper")
    request_id = make_request()
    with pytest.raises(ec.CallError) as err:
        ec.call("release_claim", {"requestId": request_id}, helper.id_token)
    assert err.value.status == "FAILED_PRECONDITION"


# ---------------------------------------------------------------- set_availability


def test_set_availability(db, make_account):
    helper = make_account("helper")
    assert ec.call("set_availability", {"isAvailable": True}, helper.id_token) == {
        "isAvailable": True
    }
    assert db.collection("users").document(helper.uid).get().to_dict()["isAvailable"] is True
    with pytest.raises(ec.CallError) as err:
        ec.call("set_availability", {"isAvailable": "yes"}, helper.id_token)
    assert err.value.status == "INVALID_ARGUMENT" and "isAvailable" in err.value.message
    customer = make_account("customer")
    with pytest.raises(ec.CallError) as err:
        ec.call("set_availability", {"isAvailable": True}, customer.id_token)
    assert err.value.status == "PERMISSION_DENIED"


# ---------------------------------------------------------------- triggers and sweeps wired


def test_a_new_request_fires_on_request_created(db, make_request):
    request_id = make_request()
    ref = db.collection("analytics").document(f"request_created-{request_id}")
    event = wait_for(lambda: ref.get().to_dict())
    assert event["type"] == "request_created"
    assert event["requestId"] == request_id
    assert event["source"] == "server"


def test_a_claim_fires_on_request_updated(db, make_account, make_request):
    helper = make_account("helper")
    request_id = make_request()
    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    ref = db.collection("analytics").document(f"request_claimed-{request_id}-v2")
    event = wait_for(lambda: ref.get().to_dict())
    assert event["userId"] == helper.uid


def test_the_claims_sweep_releases_a_stale_claim(db, make_request):
    old = datetime.now(UTC) - timedelta(minutes=16)
    request_id = make_request(status="claimed", helperId="helper-gone", claimedAt=old)
    fresh_id = make_request(status="claimed", helperId="helper-busy", claimedAt=datetime.now(UTC))

    assert ec.run_scheduled("sweep_stale_claims") == 200

    doc = request_doc(db, request_id)
    assert (doc["status"], doc["releaseCount"], doc["helperId"]) == ("pending", 1, None)
    assert doc["pendingSince"] > old
    [event] = events_of(db, request_id)
    assert (event["type"], event["reason"], event["actor"]) == (
        "request_released",
        "claim_timeout",
        {"role": "system"},
    )
    assert request_doc(db, fresh_id)["status"] == "claimed"


def test_the_requests_sweep_expires_a_stale_pending_request(db, make_request):
    old = datetime.now(UTC) - timedelta(minutes=31)
    request_id = make_request(pendingSince=old)
    assert ec.run_scheduled("sweep_stale_requests") == 200
    # its release is a settlepayment task (the emulator runs it at once)
    doc = wait_for(lambda: (d := request_doc(db, request_id)).get("paymentOwed") is None and d)
    # Stripe does not know the fake intent: no hold to release, done (with an alert)
    assert (doc["status"], doc["paymentStatus"], doc.get("paymentOwed")) == (
        "expired",
        "released",
        None,
    )
    # a second run at once changes nothing more
    assert ec.run_scheduled("sweep_stale_requests") == 200
    types = [e["type"] for e in events_of(db, request_id)]
    assert types == ["request_expired", "payment_released"]


# -- abuse: one helper against the marketplace (issue 15)


def test_one_helper_cannot_expire_a_request_by_claiming_and_releasing_it(
    db, make_account, make_request
):
    helper = make_account("helper")
    request_id = make_request()
    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    ec.call("release_claim", {"requestId": request_id}, helper.id_token)
    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    assert err.value.status == "FAILED_PRECONDITION" and "gave this request back" in str(err.value)
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["releaseCount"], doc["releasedBy"]) == ("pending", 1, [helper.uid])


def test_a_helper_holds_one_claim_at_a_time_even_claiming_in_parallel(
    db, make_account, make_request
):
    helper = make_account("helper")
    request_ids = [make_request() for _ in range(6)]

    def claim(request_id: str) -> str:
        try:
            ec.call("claim_request", {"requestId": request_id}, helper.id_token)
        except ec.CallError as err:
            return err.status
        return "claimed"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(claim, request_ids))
    assert outcomes == ["FAILED_PRECONDITION"] * 5 + ["claimed"]
    held = [rid for rid in request_ids if request_doc(db, rid)["status"] == "claimed"]
    assert len(held) == 1
    assert db.collection("helperClaims").document(helper.uid).get().to_dict() == {"open": held}


def test_an_off_duty_helper_cannot_claim(db, make_account, make_request):
    helper = make_account("helper", isAvailable=False)
    request_id = make_request()
    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    assert err.value.status == "FAILED_PRECONDITION" and "off duty" in str(err.value)
    assert request_doc(db, request_id)["status"] == "pending"


def test_a_checklist_of_unknown_or_thousands_of_keys_is_refused(db, make_account, make_request):
    helper = make_account("helper")
    request_id = make_request()
    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    for checklist in (
        {"area_clear": True, "junk": True},
        {f"k{n}": True for n in range(2000)},
    ):
        with pytest.raises(ec.CallError) as err:
            ec.call(
                "start_session",
                {"requestId": request_id, "checklist": checklist},
                helper.id_token,
            )
        assert err.value.status == "INVALID_ARGUMENT" and "checklist" in err.value.message
    assert request_doc(db, request_id)["status"] == "claimed"  # nothing stored, no room made
