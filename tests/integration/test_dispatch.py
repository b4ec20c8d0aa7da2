"""Dispatch on the emulators and the FCM / Twilio stand-ins: every device of every matching
helper hears of a paid request, once; the notifications of the contract follow transitions."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import cloudevents
from google.cloud.firestore_v1 import Client
from google.cloud.firestore_v1.base_query import FieldFilter

import emulator_client as ec
from conftest import directory_entry, unique, wait_for
from homepro import config
from homepro.domain import directory
from homepro.domain.texts import TEXT_COUNTS

ESCALATION = config.ESCALATION_MINUTES.default
TEXTS_AN_HOUR = config.MAX_TEXTS_PER_PHONE_PER_HOUR.default


def in_directory(db: Client, uid: str, tokens: list[str], timeout: float = 120) -> dict[str, Any]:
    """Wait until the triggers have put the helper and exactly these devices in the directory."""

    def ready() -> dict[str, Any] | None:
        entry = directory_entry(db, uid)
        if entry is None:
            return None
        found = sorted(d["token"] for d in entry["devices"].values())
        return entry if found == sorted(tokens) else None

    result: dict[str, Any] = wait_for(ready, timeout=timeout)
    return result


def add_device(db: Client, uid: str, device_id: str, token: str) -> None:
    db.collection("users").document(uid).collection("devices").document(device_id).set(
        {"token": token, "platform": "web", "createdAt": datetime.now(UTC)}
    )


def add_helper(db: Client, tokens: list[str], **fields: Any) -> str:
    """A helper profile with devices; waits until dispatch can see them."""
    uid = unique("helper")
    profile = {"role": "helper", "isAvailable": True, "displayName": uid, **fields}
    db.collection("users").document(uid).set(profile)
    for i, token in enumerate(tokens):
        add_device(db, uid, f"d{i}", token)
    if profile["isAvailable"]:
        in_directory(db, uid, tokens)
    return uid


def round_done(db: Client, request_id: str, key: str, timeout: float = 30) -> dict[str, Any]:
    ref = db.collection("requests").document(request_id).collection("dispatches").document(key)

    def finished() -> dict[str, Any] | None:
        data = ref.get().to_dict()
        return data if data and data.get("finishedAt") else None

    result: dict[str, Any] = wait_for(finished, timeout=timeout)
    return result


def pushes(request_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for m in ec.fcm_messages()
        if m["data"]["requestId"] == request_id and (kind is None or m["data"]["type"] == kind)
    ]


def tokens(request_id: str, kind: str | None = None) -> Counter[str]:
    return Counter(m["token"] for m in pushes(request_id, kind))


def settle(seconds: float = 1.5) -> None:
    """Give a duplicate delivery time to (wrongly) send something."""
    time.sleep(seconds)


def test_a_paid_request_reaches_every_matching_device_and_no_other(clean, make_request):
    db = clean
    plumber = add_helper(db, ["p-web", "p-android"], categories=["plumbing", "hvac"])
    generalist = add_helper(db, ["g-web"])
    legacy = add_helper(db, [], fcmToken="legacy-token")
    add_helper(db, ["e-web"], categories=["electrical"])
    add_helper(db, ["off-web"], isAvailable=False)
    add_helper(db, ["quiet-web"], quietHours={"start": "00:00", "end": "23:59", "tz": "UTC"})
    db.collection("users").document("cust-a").set({"role": "customer", "isAvailable": True})

    # a late round: its wave is wider than the pool (the first wave's size: test_waves.py)
    request_id = make_request(customer_id="cust-a", dispatchRound=199)
    done = round_done(db, request_id, "initial")

    assert tokens(request_id) == Counter(["p-web", "p-android", "g-web", "legacy-token"])
    assert (done["round"], done["helpersTargeted"], done["devicesTargeted"]) == (200, 3, 4)
    assert (done["sent"], done["failed"], done["tokensPruned"]) == (4, 0, 0)
    targets = db.collection("requests").document(request_id).collection("dispatches")
    target_ids = {s.id for s in targets.document("initial").collection("targets").stream()}
    assert target_ids == {plumber, generalist, legacy}
    request = db.collection("requests").document(request_id).get().to_dict()
    assert request["dispatchRound"] == 200

    for message in pushes(request_id):
        assert "notification" not in str(message)  # data-only, everywhere
        assert message["data"]["type"] == "new_request"
        assert message["data"]["url"] == "/helper/dashboard"
        assert {"title", "body", "requestId"} <= set(message["data"])
        assert message["android"]["priority"] == "high"
        assert message["webpush"]["headers"]["Urgency"] == "high"
        assert 0 < int(message["webpush"]["headers"]["TTL"]) <= 30 * 60
    inbox = db.collection("users").document(plumber).collection("notifications")
    assert inbox.document(f"new_request-{request_id}-initial").get().exists
    sent_events = (
        db.collection("analytics")
        .where(filter=FieldFilter("type", "==", "notification_sent"))
        .stream()
    )
    # one event for the round's batch of recipients, with its counts
    counted = [e.to_dict() for e in sent_events if e.to_dict()["requestId"] == request_id]
    assert [(e["metadata"]["recipients"], e["metadata"]["sent"]) for e in counted] == [(3, 4)]


def test_a_created_event_delivered_again_sends_nothing_more(clean, make_request):
    db = clean
    add_helper(db, ["dup-1", "dup-2"])
    request_id = make_request()
    round_done(db, request_id, "initial")
    data = db.collection("requests").document(request_id).get().to_dict()

    event_id = cloudevents.deliver("on_request_created", "created", f"requests/{request_id}", data)
    cloudevents.deliver(
        "on_request_created", "created", f"requests/{request_id}", data, event_id=event_id
    )
    cloudevents.deliver("on_request_created", "created", f"requests/{request_id}", data)
    settle()

    assert tokens(request_id) == Counter(["dup-1", "dup-2"])
    rounds = db.collection("requests").document(request_id).collection("dispatches").stream()
    assert [r.id for r in rounds] == ["initial"]


def test_a_request_authorized_after_creation_is_dispatched_then(clean, make_request):
    db = clean
    add_helper(db, ["late-1"])
    request_id = make_request(
        paymentStatus="requires_payment", dispatchableAt=None, pendingSince=None
    )
    settle()
    assert pushes(request_id) == []

    now = datetime.now(UTC)
    db.collection("requests").document(request_id).update(
        {"paymentStatus": "authorized", "pendingSince": now, "version": 2}
    )
    round_done(db, request_id, "initial")
    assert tokens(request_id) == Counter(["late-1"])
    request = db.collection("requests").document(request_id).get().to_dict()
    assert request["dispatchableAt"] is not None


def test_a_released_claim_is_dispatched_again(clean, make_account, make_request):
    db = clean
    helper = make_account("helper", isAvailable=True)
    add_device(db, helper.uid, "d", "claimer-web")
    in_directory(db, helper.uid, ["claimer-web"])
    add_helper(db, ["other-web"])
    request_id = make_request()
    round_done(db, request_id, "initial")
    add_helper(db, ["late-web"])  # on duty after the first round

    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    ec.call("release_claim", {"requestId": request_id}, helper.id_token)

    done = round_done(db, request_id, "released-1")
    assert done["round"] == 2
    # the released round's wave asks first whom no wave of the request asked yet, then again
    # those asked before, never the helper who gave it back
    assert tokens(request_id, "new_request") == Counter(
        {"claimer-web": 1, "other-web": 2, "late-web": 1}
    )
    # the helper released it themselves: no claim_released for them
    assert pushes(request_id, "claim_released") == []


def test_a_claim_tells_the_customer_and_the_other_helpers(clean, make_account, make_request):
    db = clean
    customer = make_account("customer")
    db.collection("users").document(customer.uid).collection("devices").document("d").set(
        {"token": "customer-web", "platform": "web"}
    )
    helper = make_account("helper", isAvailable=True, displayName="Hana")
    add_device(db, helper.uid, "d", "winner-web")
    in_directory(db, helper.uid, ["winner-web"])
    add_helper(db, ["loser-1"])
    add_helper(db, ["loser-2", "loser-3"])
    # a late round, its wave wider than the three: all of them asked (the first wave's
    # request_taken: test_waves.py)
    request_id = make_request(customer_id=customer.uid, dispatchRound=199)
    round_done(db, request_id, "initial")

    ec.call("claim_request", {"requestId": request_id}, helper.id_token)

    wait_for(lambda: len(pushes(request_id, "request_taken")) == 3)
    wait_for(lambda: pushes(request_id, "request_claimed"))
    claimed = pushes(request_id, "request_claimed")
    assert [m["token"] for m in claimed] == ["customer-web"]
    assert claimed[0]["data"]["url"] == f"/customer/request/{request_id}/status"
    assert "Hana" in claimed[0]["data"]["body"]
    assert tokens(request_id, "request_taken") == Counter(["loser-1", "loser-2", "loser-3"])
    inbox = db.collection("users").document(customer.uid).collection("notifications").stream()
    assert [n.to_dict()["type"] for n in inbox] == ["request_claimed"]


def test_unregistered_tokens_are_deleted_and_the_rest_delivered(clean, make_request):
    db = clean
    uid = add_helper(db, ["unregistered-a", "good-1", "invalid-b", "flaky-c"])
    legacy = add_helper(db, [], fcmToken="unregistered-legacy")
    request_id = make_request()
    done = round_done(db, request_id, "initial")

    assert tokens(request_id) == Counter(["good-1", "flaky-c"])  # flaky-c: retried after a 503
    assert (done["sent"], done["failed"], done["tokensPruned"]) == (2, 3, 3)
    left = [d.to_dict()["token"] for d in db.collection(f"users/{uid}/devices").stream()]
    assert sorted(left) == ["flaky-c", "good-1"]
    assert "fcmToken" not in db.collection("users").document(legacy).get().to_dict()


def test_a_wave_of_1200_devices_is_all_reached(clean, make_request):
    db = clean
    expected: list[str] = []
    batch = db.batch()
    for h in range(100):
        uid = f"bulk-{h:03d}"
        for d in range(12):
            token = f"bulk-{h:03d}-{d:02d}"
            expected.append(token)
            ref = db.collection("users").document(uid).collection("devices").document(f"d{d}")
            batch.set(ref, {"token": token, "platform": "android"})
        batch.set(db.collection("users").document(uid), {"role": "helper", "isAvailable": True})
        if h % 30 == 29:
            batch.commit()
            batch = db.batch()
    batch.commit()
    # Trigger events arrive in order: once a helper written last is in the directory, the
    # triggers have seen all 1,300 writes before it.
    sentinel = add_helper(db, [])

    def directory_complete() -> bool:
        entries = [
            directory.read_entry(entry)
            for shard in db.collection(directory.SHARDS).stream()
            for uid, entry in (shard.to_dict().get("helpers") or {}).items()
            if uid.startswith("bulk-")
        ]  # each helper once in each of the 6 categories (they name none: they serve all)
        every = len(directory.CATEGORIES)
        return len(entries) == 100 * every and all(len(e["devices"]) == 12 for e in entries)

    assert directory_complete()
    db.collection("users").document(sentinel).update({"isAvailable": False})
    wait_for(lambda: directory_entry(db, sentinel) is None)
    # a late round (its 200th: the wave is wider than the 100 helpers) asks every one of them
    request_id = make_request(dispatchRound=199)
    done = round_done(db, request_id, "initial", timeout=120)

    assert tokens(request_id) == Counter(expected)
    assert (done["helpersTargeted"], done["devicesTargeted"], done["sent"]) == (100, 1200, 1200)


def test_escalation_sends_round_2_and_waves_text_who_gave_a_phone(clean, make_request):
    db = clean
    add_helper(db, ["esc-web"])
    add_helper(db, [], phone="+15125550142")
    add_helper(db, ["has-device"], phone="+15125550143")
    started = datetime.now(UTC) - timedelta(minutes=ESCALATION + 1)  # escalation 1 due
    request_id = make_request(pendingSince=started, createdAt=started)
    first = round_done(db, request_id, "initial")  # (its own timer may send round 2 at once)

    assert ec.run_scheduled("sweep_stale_requests") == 200

    done = round_done(db, request_id, "escalation-1")
    assert done["round"] == 2
    # round 1 asked WAVE_FIRST of the 3 (all, at 3); round 2 asks more: those left, then again
    # those asked before (all 3 in all). A helper who gave a phone is texted instead of pushed
    # (TEXT_FROM_ROUND 1): the device of "has-device" hears nothing, its number does
    assert first["smsSent"] + first["sent"] == min(3, config.WAVE_FIRST.default)
    assert done["smsSent"] + done["sent"] == 3
    assert set(tokens(request_id)) == {"esc-web"}
    wait_for(lambda: len(ec.sms_messages()) == first["smsSent"] + done["smsSent"])
    sms = ec.sms_messages()
    assert {m["to"] for m in sms} == {"+15125550142", "+15125550143"}
    assert "plumbing" in sms[0]["body"]
    # the text leads to the job (APP_URL is the local Hosting emulator)
    assert sms[0]["body"].endswith(f" http://127.0.0.1:5000/helper/job/{request_id}")
    request = db.collection("requests").document(request_id).get().to_dict()
    assert (request["escalation"], request["dispatchRound"], request["status"]) == (1, 2, "pending")
    events = db.collection("requests").document(request_id).collection("events").stream()
    assert [e.to_dict()["type"] for e in events] == ["request_escalated"]


def test_a_sweep_release_tells_the_helper(clean, make_request):
    db = clean
    holder = add_helper(db, ["holder-web"])
    old = datetime.now(UTC) - timedelta(minutes=20)
    request_id = make_request(status="claimed", helperId=holder, claimedAt=old)

    assert ec.run_scheduled("sweep_stale_claims") == 200

    wait_for(lambda: pushes(request_id, "claim_released"))
    assert tokens(request_id, "claim_released") == Counter(["holder-web"])
    round_done(db, request_id, "released-1")


def test_expiry_tells_the_customer(clean, make_request):
    db = clean
    db.collection("users").document("cust-exp").set({"role": "customer"})
    db.collection("users").document("cust-exp").collection("devices").document("d").set(
        {"token": "exp-web", "platform": "web"}
    )
    old = datetime.now(UTC) - timedelta(minutes=40)
    request_id = make_request(customer_id="cust-exp", pendingSince=old)
    assert ec.run_scheduled("sweep_stale_requests") == 200
    wait_for(lambda: pushes(request_id, "request_expired"))
    assert tokens(request_id, "request_expired") == Counter(["exp-web"])


def test_the_directory_follows_devices_and_availability(clean):
    db = clean
    uid = add_helper(db, ["dir-1"])
    add_device(db, uid, "d9", "dir-2")
    in_directory(db, uid, ["dir-1", "dir-2"])
    db.collection("users").document(uid).collection("devices").document("d0").delete()
    in_directory(db, uid, ["dir-2"])
    db.collection("users").document(uid).update({"categories": ["hvac"]})
    wait_for(lambda: (directory_entry(db, uid) or {}).get("categories") == ["hvac"])
    db.collection("users").document(uid).update({"isAvailable": False})
    wait_for(lambda: directory_entry(db, uid) is None)


# ---------------------------------------------------------------- texts per number (toll fraud)

PREMIUM = "+15125550166"  # the number a script put on every profile it controls


def clear_of_the_hour() -> None:
    """The counts are by the clock's hour: let the round's texts all fall in one."""
    now = datetime.now(UTC)
    if now.minute == 59 and now.second >= 30:
        time.sleep(61 - now.second)


def test_one_number_gets_at_most_its_texts_an_hour(clean, make_request):
    db = clean
    for _ in range(TEXTS_AN_HOUR + 1):
        add_helper(db, [], phone=PREMIUM)  # no device: texted
    add_helper(db, [], phone="+15125550167")  # someone else, unaffected
    # a late round (its wave wider than them all) texts them all at once
    clear_of_the_hour()
    request_id = make_request(dispatchRound=199)

    done = round_done(db, request_id, "initial")  # finished once every text was sent
    helpers = TEXTS_AN_HOUR + 2
    assert (done["round"], done["helpersTargeted"], done["smsSent"]) == (200, helpers, helpers - 1)
    texted = Counter(m["to"] for m in ec.sms_messages())
    assert texted == {PREMIUM: TEXTS_AN_HOUR, "+15125550167": 1}
    counts = sorted(d.to_dict()["count"] for d in db.collection(TEXT_COUNTS).stream())
    assert counts == [1, TEXTS_AN_HOUR]
