"""Dispatch rounds and notifications on the fakes: who hears what, once."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from homepro.adapters.fcm import error_of, message_body
from homepro.domain import notifications
from homepro.domain.dispatch import in_quiet_hours, push_ttl_seconds, round_key
from homepro.domain.models import Actor, QuietHours, RequestDoc, RequestRef, Role
from homepro.domain.policy import Policy
from homepro.services import claims, reactions, sweeps
from homepro.services.dispatch import run_round
from homepro.services.notify import notify
from homepro.services.ports import PushMessage
from homepro.testing import FakeDocuments, make_context, swept


def doc(**fields) -> RequestDoc:
    base = {
        "id": "r",
        "customerId": "c",
        "category": "plumbing",
        "description": "Leaking pipe under the sink.",
        "amount": 4900,
        "status": "pending",
        "paymentStatus": "authorized",
    }
    return RequestDoc.model_validate({**base, **fields})


# ---------------------------------------------------------------- round keys


def test_round_keys_come_from_the_cause():
    assert round_key(None, doc()) == "initial"
    assert round_key(None, doc(paymentStatus="requires_payment")) is None
    assert round_key(doc(paymentStatus="requires_payment"), doc()) == "initial"
    assert round_key(doc(status="claimed"), doc(releaseCount=2)) == "released-2"
    assert round_key(doc(escalation=1), doc(escalation=2)) == "escalation-2"
    # after a release `escalation` counts again from 0: the key must not repeat a round's
    assert round_key(doc(releaseCount=1), doc(escalation=1, releaseCount=1)) == "escalation-1-r1"
    assert round_key(doc(), doc(dispatchRound=3)) is None  # bookkeeping only
    assert round_key(doc(), doc(status="claimed")) is None
    # a policy without re-dispatch on release (the seed's): nothing for a released claim
    assert (
        round_key(doc(status="claimed"), doc(releaseCount=1), redispatch_on_release=False) is None
    )


@pytest.mark.parametrize(
    ("start", "end", "utc_hour", "quiet"),
    [
        ("22:00", "07:00", 4, True),  # 22:00 Chicago (UTC-6 in November) wraps midnight
        ("22:00", "07:00", 5, True),  # 23:00 local
        ("22:00", "07:00", 14, False),  # 08:00 local
        ("09:00", "17:00", 16, True),  # 10:00 local
        ("09:00", "17:00", 23, False),  # 17:00 local: the end is not quiet
    ],
)
def test_quiet_hours_in_the_helpers_time_zone(start, end, utc_hour, quiet):
    window = QuietHours(start=start, end=end, tz="America/Chicago")
    assert in_quiet_hours(window, datetime(2026, 11, 25, utc_hour, 0, tzinfo=UTC)) is quiet


def test_a_malformed_quiet_window_never_silences():
    assert not in_quiet_hours(
        QuietHours(start="25:00", end="07:00", tz="Mars/Base"), datetime.now(UTC)
    )


def test_push_ttl_is_the_time_left_before_expiry():
    pending = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert push_ttl_seconds(doc(pendingSince=pending), 30, pending.replace(minute=20)) == 600
    assert push_ttl_seconds(doc(pendingSince=pending), 30, pending.replace(hour=10)) == 0


# ---------------------------------------------------------------- rounds


@pytest.fixture
def world():
    """The first build's broadcast (WAVE_FIRST 0) every 5 minutes (its ESCALATION_MINUTES):
    every matching helper, every round; the waves have their own tests (test_waves.py)."""
    store = FakeDocuments()
    ctx = make_context(store, wave_first=0, escalation_minutes=5)
    store.add_helper("plumber", "tok-p1", "tok-p2", categories=["plumbing"])
    store.add_helper("anyone", "tok-a1", categories=[])
    store.add_helper("legacy", fcmToken="tok-legacy")
    store.add_helper("electrician", "tok-e1", categories=["electrical"])
    store.add_helper("off-duty", "tok-off", isAvailable=False)
    store.add_helper(
        "sleeping", "tok-z", quietHours={"start": "00:00", "end": "23:59", "tz": "UTC"}
    )
    store.add_helper("gone", "unregistered-1", "tok-g1")
    store.users["cust"] = {"role": "customer", "isAvailable": True}
    store.devices("cust")["d0"] = {"token": "tok-customer"}
    store.add_request("r", customerId="cust")
    return ctx, store


def test_a_round_reaches_every_device_of_every_matching_helper_and_no_other(world):
    ctx, store = world
    report = run_round(ctx, "r", "initial")
    assert sorted(ctx.push.tokens()) == ["tok-a1", "tok-g1", "tok-legacy", "tok-p1", "tok-p2"]
    assert report.counts.helpers_targeted == 4
    assert (report.counts.devices_targeted, report.counts.sent, report.counts.failed) == (6, 5, 1)
    assert report.counts.tokens_pruned == 1
    assert "unregistered-1" not in {d["token"] for d in store.devices("gone").values()}
    assert set(store.targets("r", "initial")) == {"plumber", "anyone", "legacy", "gone"}
    assert store.rounds("r")["initial"]["sent"] == 5
    assert store.requests["r"]["dispatchRound"] == 1
    assert all("new_request-r-initial" in store.inbox(uid) for uid in ("plumber", "legacy"))
    # one analytics event for the round, with its counts (not one per recipient)
    sent_events = [a for a in store.analytics.values() if a["type"] == "notification_sent"]
    assert [e["metadata"]["recipients"] for e in sent_events] == [4]
    assert (sent_events[0]["metadata"]["sent"], sent_events[0]["metadata"]["failed"]) == (5, 1)
    message = ctx.push.sent[0]
    assert message.urgent and message.data["type"] == "new_request"
    assert message.data["url"] == "/helper/dashboard" and message.data["requestId"] == "r"


def test_a_round_is_sent_once_whatever_the_duplicates(world):
    ctx, store = world
    assert run_round(ctx, "r", "initial") is not None
    assert run_round(ctx, "r", "initial") is None
    created = dict(store.requests["r"])
    reactions.request_created(ctx, "r", created)
    assert len(ctx.push.tokens("new_request")) == 5


def test_no_round_for_a_request_no_longer_dispatchable(world):
    ctx, store = world
    store.requests["r"]["status"] = "claimed"
    assert run_round(ctx, "r", "initial") is None
    assert ctx.push.sent == []


def test_escalation_rounds_and_sms_to_phone_only_helpers(world):
    ctx, store = world
    store.add_helper("phone-only", phone="+15125550199")
    run_round(ctx, "r", "initial")
    assert ctx.sms.sent == []  # round 1: push only
    ctx.clock.advance(minutes=5)
    before = dict(store.requests["r"])
    assert swept(sweeps.sweep_stale_requests(ctx).counts) == {"request_escalated": 1}
    reactions.request_updated(ctx, "r", before, store.requests["r"])
    assert store.rounds("r")["escalation-1"]["round"] == 2
    assert [to for to, _ in ctx.sms.sent] == ["+15125550199"]
    assert sweeps.sweep_stale_requests(ctx).counts == {"skipped": 1}  # not due again yet


def test_an_sms_leads_to_the_job_when_the_app_is_known(world):
    ctx, store = world
    store.add_helper("phone-only", phone="+15125550199")
    app = "https://homepro-assist.web.app/"
    linked = replace(ctx, app_url=app, policy=Policy(sms_from_round=1))
    run_round(linked, "r", "initial")
    [(_, text)] = linked.sms.sent
    plain = "HomePro Assist: New plumbing job ($49). The kitchen sink drips all night."
    assert text == plain + " https://homepro-assist.web.app/helper/job/r"
    note = notifications.new_request(RequestDoc.model_validate(store.requests["r"]), "initial", 60)
    assert note.sms_text("") == plain  # no address known: no link
    assert note.url == "/helper/dashboard"  # the push's url is the contract's, unchanged


def test_escalation_after_a_release_is_sent_again(world):
    ctx, store = world
    run_round(ctx, "r", "initial")
    ctx.clock.advance(minutes=5)
    before = dict(store.requests["r"])
    sweeps.sweep_stale_requests(ctx)
    reactions.request_updated(ctx, "r", before, store.requests["r"])
    assert "escalation-1" in store.rounds("r")
    # claimed and released by its helper: pending again, escalation counted from 0
    store.add_helper("taker", "tok-t", categories=["plumbing"])
    claims.claim_request(ctx, Actor(uid="taker", role=Role.HELPER), RequestRef(request_id="r"))
    before = dict(store.requests["r"])
    claims.release_claim(ctx, Actor(uid="taker", role=Role.HELPER), RequestRef(request_id="r"))
    reactions.request_updated(ctx, "r", before, store.requests["r"])
    ctx.clock.advance(minutes=5)
    before = dict(store.requests["r"])
    assert swept(sweeps.sweep_stale_requests(ctx).counts) == {"request_escalated": 1}
    reactions.request_updated(ctx, "r", before, store.requests["r"])
    assert sorted(store.rounds("r")) == ["escalation-1", "escalation-1-r1", "initial", "released-1"]
    assert len(ctx.push.tokens("new_request")) > 5 * 2  # every round reached the helpers


def test_a_policy_without_sms_or_escalation_sends_neither():
    store = FakeDocuments()
    ctx = make_context(store, sms_from_round=0, text_from_round=0, escalation_minutes=0)
    store.add_helper("phone-only", phone="+15125550199")
    store.add_request("r", customerId="cust")
    run_round(ctx, "r", "initial")
    ctx.clock.advance(minutes=29)
    assert sweeps.sweep_stale_requests(ctx).counts == {}  # no escalation is ever due
    assert run_round(ctx, "r", "escalation-1").round == 2  # a round sent anyway: still no SMS
    assert ctx.sms.sent == []
    ctx.clock.advance(minutes=1)
    assert sweeps.sweep_stale_requests(ctx).counts["request_expired"] == 1


# ---------------------------------------------------------------- notifications


def test_a_claim_tells_the_customer_and_the_other_helpers(world):
    ctx, store = world
    run_round(ctx, "r", "initial")
    ctx.push.sent.clear()
    before = dict(store.requests["r"])
    after = {**before, "status": "claimed", "helperId": "plumber", "version": 2}
    for _ in range(2):  # a duplicate event changes nothing
        reactions.request_updated(ctx, "r", before, after)
    assert ctx.push.tokens("request_claimed") == ["tok-customer"]
    assert sorted(ctx.push.tokens("request_taken")) == ["tok-a1", "tok-g1", "tok-legacy"]


def test_a_sweep_release_tells_the_helper_a_self_release_does_not(world):
    ctx, store = world
    store.requests["r"].update(status="claimed", helperId="plumber", claimedAt=ctx.clock.now())
    claimed = dict(store.requests["r"])
    ctx.clock.advance(minutes=15)
    sweeps.sweep_stale_claims(ctx)
    reactions.request_updated(ctx, "r", claimed, store.requests["r"])
    assert ctx.push.tokens("claim_released") == ["tok-p1", "tok-p2"]
    assert "released-1" in store.rounds("r")  # and the request is dispatched again

    by_helper = {**claimed, "version": 9}
    store.events("r")["v000010-request_released"] = {
        "type": "request_released",
        "actor": {"uid": "plumber", "role": "helper"},
    }
    reactions.request_updated(
        ctx, "r", by_helper, {**by_helper, "status": "pending", "version": 10}
    )
    assert len(ctx.push.tokens("claim_released")) == 2


def test_cancel_and_expiry_notifications(world):
    ctx, store = world
    claimed = {**store.requests["r"], "status": "claimed", "helperId": "anyone"}
    reactions.request_updated(ctx, "r", claimed, {**claimed, "status": "cancelled", "version": 3})
    assert ctx.push.tokens("request_cancelled") == ["tok-a1"]
    pending = store.requests["r"]
    reactions.request_updated(ctx, "r", pending, {**pending, "status": "expired", "version": 4})
    assert ctx.push.tokens("request_expired") == ["tok-customer"]


def test_notify_is_once_per_user_and_key(world):
    ctx, store = world
    note = notifications.request_claimed(doc(id="r", version=2, helperDisplayName="Hana"))
    first = notify(ctx, ["cust", "cust"], note)
    second = notify(ctx, ["cust"], note)
    assert (first.users, first.sent, second.users) == (1, 1, 0)
    assert store.inbox("cust")[note.key]["data"]["body"].startswith("Hana")


# ---------------------------------------------------------------- FCM wire format


def test_push_bodies_are_data_only_with_priority_and_ttl():
    body = message_body(PushMessage("tok", {"type": "new_request"}, urgent=True, ttl_seconds=600))
    text = str(body)
    assert "notification" not in text
    msg = body["message"]
    assert msg["android"] == {"priority": "high", "ttl": "600s"}
    assert msg["webpush"]["headers"] == {"Urgency": "high", "TTL": "600"}
    assert msg["apns"]["payload"] == {"aps": {"content-available": 1}}


def test_dead_tokens_are_recognised_from_fcm_errors():
    unregistered = {
        "error": {
            "status": "NOT_FOUND",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED",
                }
            ],
        }
    }
    bad_token = {
        "error": {
            "status": "INVALID_ARGUMENT",
            "message": "x",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "message.token"}],
                }
            ],
        }
    }
    bad_payload = {"error": {"status": "INVALID_ARGUMENT", "message": "data must be strings"}}
    assert error_of(404, unregistered) == ("UNREGISTERED", True)
    assert error_of(400, bad_token) == ("INVALID_ARGUMENT", True)
    assert error_of(400, bad_payload) == ("INVALID_ARGUMENT", False)
    assert error_of(503, {}) == ("HTTP_503", False)
