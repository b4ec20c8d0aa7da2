"""Holds that need a person, on the fakes: a session reaching SESSION_MAX_MINUTES (warned,
then timed out with the hold kept), `admin_settle`, the release after ADMIN_DECISION_HOURS, and
a payment failing PAYMENT_MAX_ATTEMPTS times."""

import logging
from datetime import timedelta

import pytest

from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidInput
from homepro.domain.models import (
    Actor,
    AdminSettleInput,
    EndSessionInput,
    SessionRef,
    StartSessionInput,
    parse_input,
)
from homepro.services import attention, sessions, sweeps
from homepro.testing import FakeDocuments, fake_docs, make_context, swept

HELPER = Actor(uid="h1", role="helper")
CUSTOMER = Actor(uid="cust-1", role="customer")
ADMIN = Actor(uid="admin-1", role="admin")
CHECKLIST = {"water_shutoff_located": True, "area_clear": True, "customer_ready": True}


@pytest.fixture
def ctx():
    store = FakeDocuments()
    store.add_request(
        "r", customerId="cust-1", status="claimed", helperId="h1", paymentIntentId="pi_r"
    )
    store.add_helper("h1", "helper-token")
    store.users["cust-1"] = {"role": "customer"}
    store.devices("cust-1")["d0"] = {"token": "customer-token", "platform": "web"}
    store.collection("helperClaims")["h1"] = {"open": ["r"]}
    return make_context(store)


def active_session(ctx) -> str:
    started = sessions.start_session(
        ctx, HELPER, StartSessionInput(request_id="r", checklist=CHECKLIST)
    )
    sessions.join_session(ctx, CUSTOMER, SessionRef(session_id=started["sessionId"]))
    ctx.payments.intents["pi_r"] = {"status": "requires_capture"}
    return str(started["sessionId"])


def timed_out(ctx) -> str:
    session_id = active_session(ctx)
    ctx.clock.advance(minutes=120)
    assert sweeps.sweep_stale_claims(ctx).counts == {"session_timed_out": 1}
    return session_id


def settle(ctx, actor, action, reason="the customer confirmed the leak was fixed"):
    return attention.admin_settle(
        ctx, actor, AdminSettleInput(request_id="r", action=action, reason=reason)
    )


def ending_pushes(ctx) -> list[str]:
    return ctx.push.tokens("session_ending")


def test_a_long_session_is_warned_once_then_ends_timed_out_with_the_hold_kept(ctx, caplog):
    session_id = active_session(ctx)
    docs = fake_docs(ctx)

    ctx.clock.advance(minutes=109)
    assert sweeps.sweep_stale_claims(ctx).counts == {}
    ctx.clock.advance(minutes=1)  # 110 minutes: 10 left
    assert sweeps.sweep_stale_claims(ctx).counts == {"session_ending_warned": 1}
    ctx.clock.advance(minutes=1)
    assert sweeps.sweep_stale_claims(ctx).counts == {}  # once, however often the sweep runs
    assert sorted(ending_pushes(ctx)) == ["customer-token", "helper-token"]
    for uid, url in (("cust-1", "/customer/request/r/status"), ("h1", "/helper/job/r")):
        (item,) = [n for n in docs.inbox(uid).values() if n["type"] == "session_ending"]
        assert item["data"]["url"] == url and "10 minutes" in item["title"]
    assert docs.sessions[session_id]["warnedAt"] == ctx.clock.now() - timedelta(minutes=1)

    ctx.clock.advance(minutes=8)  # 119
    assert sweeps.sweep_stale_claims(ctx).counts == {}
    ctx.clock.advance(minutes=1)  # 120
    with caplog.at_level(logging.ERROR, logger="homepro"):
        assert sweeps.sweep_stale_claims(ctx).counts == {"session_timed_out": 1}
    assert sweeps.sweep_stale_claims(ctx).counts == {}

    now = ctx.clock.now()
    session = docs.sessions[session_id]
    assert (session["status"], session["outcome"], session["durationSeconds"]) == (
        "ended",
        "timed_out",
        120 * 60,
    )
    request = docs.requests["r"]
    assert (request["status"], request["outcome"], request["paymentStatus"]) == (
        "completed",
        "timed_out",
        "authorized",
    )
    assert request.get("paymentOwed") is None
    assert request["paymentAttention"] == {
        "reason": "session_timed_out",
        "since": now,
        "releaseBy": now + timedelta(hours=48),
    }
    assert ctx.payments.intents["pi_r"]["status"] == "requires_capture"  # the hold stays
    assert docs.collection("helperClaims")["h1"] == {"open": []}
    timed_out_events = {
        event_id: (e["actor"], e["reason"])
        for event_id, e in docs.events("r").items()
        if e["type"] in ("session_timed_out", "request_completed")
    }
    assert sorted(timed_out_events.values(), key=str) == [({"role": "system"}, "timed_out")] * 2
    assert ending_pushes(ctx).count("helper-token") == 1
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT")]
    assert len(alerts) == 1 and "timed out" in alerts[0]


def test_a_session_ended_by_its_helper_in_time_is_neither_warned_nor_timed_out(ctx):
    session_id = active_session(ctx)
    ctx.clock.advance(minutes=100)
    sessions.end_session(ctx, HELPER, EndSessionInput(session_id=session_id, outcome="resolved"))
    ctx.clock.advance(minutes=30)
    assert sweeps.sweep_stale_claims(ctx).counts == {}
    assert ending_pushes(ctx) == []
    assert fake_docs(ctx).requests["r"].get("paymentAttention") is None


def test_only_an_admin_settles_and_the_decision_is_audited_and_idempotent(ctx):
    timed_out(ctx)
    for actor in (HELPER, CUSTOMER):
        with pytest.raises(Forbidden):
            settle(ctx, actor, "capture")
    assert fake_docs(ctx).requests["r"]["paymentAttention"] is not None

    answer = settle(ctx, ADMIN, "capture")

    assert answer == {
        "requestId": "r",
        "action": "capture",
        "paymentStatus": "captured",
        "paymentOwed": None,
    }
    assert ctx.payments.intents["pi_r"]["status"] == "succeeded"
    request = fake_docs(ctx).requests["r"]
    assert request["paymentAttention"] is None
    assert request["paymentDecision"] == {
        "action": "capture",
        "by": "admin-1",
        "reason": "the customer confirmed the leak was fixed",
        "at": ctx.clock.now(),
    }
    events = fake_docs(ctx).events("r")
    decided = [e for e in events.values() if e["type"] == "payment_decided"]
    assert [(e["actor"], e["reason"]) for e in decided] == [
        (
            {"uid": "admin-1", "role": "admin"},
            "capture: the customer confirmed the leak was fixed",
        )
    ]
    assert fake_docs(ctx).event_types("r")[-2:] == ["payment_decided", "payment_captured"]

    assert settle(ctx, ADMIN, "capture") == answer  # a retried call: the same answer
    assert ctx.payments.calls.count(("capture", "r")) == 1
    with pytest.raises(FailedPrecondition, match="decided already"):
        settle(ctx, ADMIN, "release")


def test_a_request_needing_no_decision_is_refused(ctx):
    with pytest.raises(FailedPrecondition, match="no paymentAttention"):
        settle(ctx, ADMIN, "release")


def test_with_no_decision_the_sweep_releases_after_admin_decision_hours(ctx):
    timed_out(ctx)
    ctx.clock.advance(hours=47, minutes=59)
    assert swept(sweeps.sweep_stale_requests(ctx).counts) == {}
    assert ctx.payments.intents["pi_r"]["status"] == "requires_capture"

    ctx.clock.advance(minutes=1)
    assert sweeps.sweep_stale_requests(ctx).counts == {
        "undecided_released": 1,
        "payment_released": 1,
    }
    assert swept(sweeps.sweep_stale_requests(ctx).counts) == {}
    assert ctx.payments.intents["pi_r"]["status"] == "canceled"
    request = fake_docs(ctx).requests["r"]
    assert (request["paymentStatus"], request["paymentAttention"]) == ("released", None)
    assert request["paymentDecision"]["by"] == "system"
    with pytest.raises(FailedPrecondition, match="decided already"):
        settle(ctx, ADMIN, "capture")


def test_a_payment_failing_max_attempts_times_waits_for_an_admin(caplog):
    store = FakeDocuments()
    store.add_request("r", status="cancelled", paymentOwed="release")
    ctx = make_context(store, payment_max_attempts=3)
    ctx.payments.failures = 1000  # Stripe refuses every call

    with caplog.at_level(logging.ERROR, logger="homepro"):
        outcomes = [sweeps.sweep_stale_requests(ctx).counts for _ in range(5)]

    assert outcomes == [
        {"payment_still_owed": 1},
        {"payment_still_owed": 1},
        {"payment_attention": 1},
        {},
        {},
    ]  # nothing retries it once it waits for a person
    request = store.requests["r"]
    assert request["paymentOwed"] is None and request["paymentAttempts"] == 3
    assert request["paymentAttention"] == {
        "reason": "payment_attempts_exhausted",
        "since": ctx.clock.now(),
        "owed": "release",
        "attempts": 3,
    }
    assert store.event_types("r")[-3:] == [
        "payment_attempt_failed",
        "payment_attempt_failed",
        "payment_attention",
    ]
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT")]
    assert len(alerts) == 1 and "PAYMENT_MAX_ATTEMPTS" in alerts[0]

    with pytest.raises(FailedPrecondition, match="only release"):
        attention.admin_settle(
            ctx, ADMIN, AdminSettleInput(request_id="r", action="capture", reason="try it")
        )
    ctx.payments.failures = 0
    answer = attention.admin_settle(
        ctx, ADMIN, AdminSettleInput(request_id="r", action="release", reason="Stripe is back")
    )
    assert (answer["paymentStatus"], answer["paymentOwed"]) == ("released", None)
    assert store.requests["r"]["paymentAttempts"] == 0


def test_a_failure_after_the_decision_is_counted_again_and_retried(ctx):
    timed_out(ctx)
    ctx.payments.failures = 1000
    answer = settle(ctx, ADMIN, "capture")
    assert (answer["paymentStatus"], answer["paymentOwed"]) == ("authorized", "capture")
    assert fake_docs(ctx).requests["r"]["paymentAttempts"] == 1
    ctx.payments.failures = 0
    assert swept(sweeps.sweep_stale_requests(ctx).counts) == {"payment_captured": 1}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "capture"}, "reason"),
        ({"action": "capture", "reason": "   "}, "reason"),
        ({"action": "capture", "reason": "x" * 501}, "reason"),
        ({"action": "refund", "reason": "why"}, "action"),
        ({"action": "capture", "reason": "why", "amount": 1}, "amount"),
    ],
)
def test_admin_settle_input_is_bounded(data, field):
    with pytest.raises(InvalidInput) as err:
        parse_input(AdminSettleInput, {"requestId": "r", **data})
    assert err.value.field == field
