"""Sweeps release stale claims and expire stale requests once; reactions record once."""

from datetime import timedelta

import pytest

from homepro.domain.models import Role
from homepro.services import reactions, roles, sweeps
from homepro.testing import FakeDocuments, FakeIdentity, fake_docs, make_context


def test_the_claims_sweep_releases_only_stale_claims():
    store = FakeDocuments()
    ctx = make_context(store)
    now = ctx.clock.now()
    store.add_request("stale", status="claimed", helperId="h1", claimedAt=now)
    ctx.clock.advance(minutes=10)
    store.add_request("fresh", status="claimed", helperId="h2", claimedAt=ctx.clock.now())
    ctx.clock.advance(minutes=5)

    result = sweeps.sweep_stale_claims(ctx)

    assert result.counts == {"request_released": 1}
    assert store.requests["stale"]["status"] == "pending"
    assert store.requests["fresh"]["status"] == "claimed"
    assert sweeps.sweep_stale_claims(ctx).counts == {}


def test_the_third_timeout_release_expires():
    store = FakeDocuments()
    ctx = make_context(store)
    store.add_request(
        "r", status="claimed", helperId="h1", claimedAt=ctx.clock.now(), releaseCount=2
    )
    ctx.clock.advance(minutes=15)
    assert sweeps.sweep_stale_claims(ctx).counts == {"request_expired": 1, "payment_released": 1}
    assert store.requests["r"]["paymentOwed"] is None
    assert store.requests["r"]["paymentStatus"] == "released"
    assert ctx.payments.intents["pi_r"]["status"] == "canceled"


def test_the_requests_sweep_expires_stale_pending_and_is_idempotent():
    store = FakeDocuments()
    ctx = make_context(store)
    store.add_request("old", pendingSince=ctx.clock.now())
    ctx.clock.advance(minutes=29)
    store.add_request("young", pendingSince=ctx.clock.now())
    ctx.clock.advance(minutes=1)
    assert sweeps.sweep_stale_requests(ctx).counts == {
        "request_expired": 1,
        "payment_released": 1,
    }
    assert sweeps.sweep_stale_requests(ctx).counts == {}
    assert store.event_types("old") == ["request_expired", "payment_released"]
    assert store.requests["young"]["status"] == "pending"


def test_a_request_that_never_got_a_payment_intent_expires_failed():
    store = FakeDocuments()
    ctx = make_context(store)
    store.add_request("r", paymentStatus="requires_payment", paymentIntentId=None)
    ctx.clock.advance(minutes=30)
    sweeps.sweep_stale_requests(ctx)
    assert (store.requests["r"]["status"], store.requests["r"]["paymentStatus"]) == (
        "expired",
        "failed",
    )
    assert store.requests["r"].get("paymentOwed") is None


def test_reactions_record_each_transition_once():
    store = FakeDocuments()
    ctx = make_context(store)
    store.add_request("r")
    created = dict(store.requests["r"])
    for _ in range(2):  # a duplicate delivery
        reactions.request_created(ctx, "r", created)
    claimed = {**created, "status": "claimed", "helperId": "h1", "version": 2}
    for _ in range(2):
        reactions.request_updated(ctx, "r", created, claimed)
    released = {**claimed, "status": "pending", "helperId": None, "version": 3}
    reactions.request_updated(ctx, "r", claimed, released)
    assert sorted(k for k in store.analytics if not k.startswith("notification_sent")) == [
        "payment_authorized-r",
        "request_claimed-r-v2",
        "request_created-r",
        "request_released-r-v3",
    ]
    assert store.analytics["request_claimed-r-v2"]["userId"] == "h1"
    assert store.analytics["request_released-r-v3"]["userId"] == "h1"


@pytest.mark.parametrize(
    ("status", "fields", "user"),
    [
        ("in_session", {"helperId": "h1"}, "h1"),
        ("completed", {"helperId": "h1"}, "h1"),
        ("cancelled", {"cancelledBy": "c"}, "c"),
        ("cancelled", {"cancelledBy": "system", "cancelReason": "payment_declined"}, None),
        ("expired", {}, None),
    ],
)
def test_each_event_names_the_person_it_is_about(status, fields, user):
    store = FakeDocuments()
    ctx = make_context(store)
    store.add_request("r", customerId="c")
    before = {**store.requests["r"], "status": "claimed", "helperId": "h1", "version": 2}
    after = {**before, "status": status, "version": 3, **fields}
    if status in ("cancelled", "expired"):
        after["helperId"] = None
    reactions.request_updated(ctx, "r", before, after)
    [event] = [e for k, e in store.analytics.items() if k.endswith("-v3")]
    assert event["userId"] == user


def test_a_claim_event_carries_its_time_to_claim():
    store = FakeDocuments()
    ctx = make_context(store)
    store.add_request("r")
    created = dict(store.requests["r"])
    dispatchable = created["dispatchableAt"]
    claimed = {
        **created,
        "status": "claimed",
        "helperId": "h1",
        "claimedAt": dispatchable + timedelta(minutes=4, seconds=30),
        "version": 2,
    }
    reactions.request_updated(ctx, "r", created, claimed)
    metadata = store.analytics["request_claimed-r-v2"]["metadata"]
    assert (metadata["timeToClaimSeconds"], metadata["category"]) == (270.0, "plumbing")


def test_new_accounts_are_customers_and_set_role_mirrors():
    ctx = make_context()
    assert roles.role_for_new_account(ctx, "u1", "ann@example.com", None) == Role.CUSTOMER
    assert fake_docs(ctx).users["u1"]["displayName"] == "ann"
    identity = FakeIdentity()
    identity.accounts["ann@example.com"] = "u1"
    roles.assign_role(ctx, identity, "ann@example.com", "helper")
    assert identity.claims["u1"] == {"role": "helper"}
    assert fake_docs(ctx).users["u1"]["role"] == "helper"
