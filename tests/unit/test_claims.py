"""Claims, releases and availability on the fake store: the rules of the contract."""

from datetime import timedelta

import pytest

from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidTransition, NotFound
from homepro.domain.models import (
    Actor,
    CancelRequestInput,
    CreateRequestInput,
    RequestRef,
    SetAvailabilityInput,
)
from homepro.services import claims, payments
from homepro.testing import FakeDocuments, fake_docs, make_context

HELPER = Actor(uid="h1", role="helper")
OTHER = Actor(uid="h2", role="helper")
THIRD = Actor(uid="h3", role="helper")


@pytest.fixture
def ctx():
    store = FakeDocuments()
    store.users["h1"] = {"role": "helper", "displayName": "Hana", "isAvailable": True}
    store.users["h2"] = {"role": "helper", "displayName": "Hugo", "categories": ["electrical"]}
    store.users["h3"] = {"role": "helper", "displayName": "Hedy", "isAvailable": True}
    store.add_request("r1")
    return make_context(store)


def test_claim_sets_the_helper_and_writes_one_event(ctx):
    assert claims.claim_request(ctx, HELPER, RequestRef(request_id="r1")) == {
        "requestId": "r1",
        "status": "claimed",
    }
    doc = fake_docs(ctx).requests["r1"]
    assert (doc["helperId"], doc["helperDisplayName"], doc["claimedAt"]) == (
        "h1",
        "Hana",
        ctx.clock.now(),
    )
    assert doc["version"] == 2
    assert fake_docs(ctx).event_types("r1") == ["request_claimed"]


def test_the_first_claim_is_kept_when_a_release_clears_claimed_at(ctx):
    first = ctx.clock.now()
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    ctx.clock.advance(minutes=3)
    claims.release_claim(ctx, HELPER, RequestRef(request_id="r1"))
    ctx.clock.advance(minutes=4)
    claims.claim_request(ctx, THIRD, RequestRef(request_id="r1"))
    doc = fake_docs(ctx).requests["r1"]
    assert (doc["firstClaimedAt"], doc["firstClaimRound"]) == (first, 0)
    assert doc["claimedAt"] == ctx.clock.now()


def test_a_claim_before_the_first_round_still_dates_the_request(ctx):
    # a helper on the job board can be faster than the trigger's first round: the request
    # is dated when its card is held, not by the round
    data = CreateRequestInput(
        category="plumbing",
        description="The kitchen sink drips all night.",
        payment_method_id="pm_card_visa",
    )
    customer = Actor(uid="c1", role="customer")
    request_id = payments.create_request(ctx, customer, data)["requestId"]
    authorized_at = ctx.clock.now()
    ctx.clock.advance(seconds=2)
    claims.claim_request(ctx, HELPER, RequestRef(request_id=request_id))
    doc = fake_docs(ctx).requests[request_id]
    assert doc["dispatchableAt"] == doc["pendingSince"] == authorized_at
    assert (doc["firstClaimedAt"] - doc["dispatchableAt"]).total_seconds() == 2


def test_a_helper_outside_the_category_cannot_claim(ctx):
    with pytest.raises(FailedPrecondition, match="plumbing"):
        claims.claim_request(ctx, OTHER, RequestRef(request_id="r1"))


def test_claim_refuses_customers_and_missing_requests(ctx):
    with pytest.raises(Forbidden):
        claims.claim_request(ctx, Actor(uid="c1", role="customer"), RequestRef(request_id="r1"))
    with pytest.raises(NotFound):
        claims.claim_request(ctx, HELPER, RequestRef(request_id="nope"))


def test_a_claimed_request_cannot_be_claimed_again(ctx):
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    fake_docs(ctx).users["h2"]["categories"] = []
    with pytest.raises(InvalidTransition):
        claims.claim_request(ctx, OTHER, RequestRef(request_id="r1"))
    assert fake_docs(ctx).event_types("r1") == ["request_claimed"]


def test_release_resets_the_claim_and_pending_since(ctx):
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    ctx.clock.advance(minutes=3)
    assert claims.release_claim(ctx, HELPER, RequestRef(request_id="r1"))["status"] == "pending"
    doc = fake_docs(ctx).requests["r1"]
    assert doc["releaseCount"] == 1
    assert doc["pendingSince"] == ctx.clock.now()
    assert doc["helperId"] is None and doc["claimedAt"] is None


def test_the_max_releases_th_release_expires_and_releases_the_hold_before_answering(ctx):
    ctx = make_context(fake_docs(ctx), ctx.clock, max_releases=2)
    answers = []
    for helper in (HELPER, THIRD):  # a helper who gave it back cannot take it again
        claims.claim_request(ctx, helper, RequestRef(request_id="r1"))
        answers.append(claims.release_claim(ctx, helper, RequestRef(request_id="r1")))
    assert [(a["status"], a["paymentStatus"]) for a in answers] == [
        ("pending", "authorized"),
        ("expired", "released"),
    ]
    doc = fake_docs(ctx).requests["r1"]
    assert (doc["status"], doc["paymentOwed"], doc["releaseCount"]) == ("expired", None, 2)
    assert fake_docs(ctx).event_types("r1")[-2:] == ["request_expired", "payment_released"]
    assert ctx.payments.calls == [("release", "r1")]


def test_a_failed_release_at_the_last_release_is_left_owed_for_the_sweep(ctx):
    ctx = make_context(fake_docs(ctx), ctx.clock, max_releases=1)
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    ctx.payments.failures = 3
    answer = claims.release_claim(ctx, HELPER, RequestRef(request_id="r1"))
    assert (answer["status"], answer["paymentStatus"]) == ("expired", "authorized")
    assert fake_docs(ctx).requests["r1"]["paymentOwed"] == "release"


def test_only_the_holder_releases(ctx):
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    with pytest.raises(Forbidden):
        claims.release_claim(ctx, OTHER, RequestRef(request_id="r1"))


def test_set_availability(ctx):
    assert claims.set_availability(ctx, OTHER, SetAvailabilityInput(is_available=True)) == {
        "isAvailable": True
    }
    assert fake_docs(ctx).users["h2"]["isAvailable"] is True
    with pytest.raises(Forbidden):
        claims.set_availability(
            ctx, Actor(uid="c1", role="customer"), SetAvailabilityInput(is_available=True)
        )
    ctx.clock.advance(seconds=timedelta(minutes=1).total_seconds())


def test_a_helper_holds_at_most_max_claims_at_once_and_a_release_frees_one(ctx):
    fake_docs(ctx).add_request("r2")
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    with pytest.raises(FailedPrecondition, match="MAX_CLAIMS_PER_HELPER = 1"):
        claims.claim_request(ctx, HELPER, RequestRef(request_id="r2"))
    assert fake_docs(ctx).requests["r2"]["status"] == "pending"  # the refusal changed nothing
    assert fake_docs(ctx).collection("helperClaims")["h1"] == {"open": ["r1"]}
    claims.release_claim(ctx, HELPER, RequestRef(request_id="r1"))
    assert fake_docs(ctx).collection("helperClaims")["h1"] == {"open": []}
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r2"))
    assert fake_docs(ctx).collection("helperClaims")["h1"] == {"open": ["r2"]}


def test_a_cancel_frees_the_helper(ctx):
    fake_docs(ctx).add_request("r2")
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    payments.cancel_request(
        ctx, Actor(uid="cust-1", role="customer"), CancelRequestInput(request_id="r1")
    )
    assert fake_docs(ctx).collection("helperClaims")["h1"] == {"open": []}
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r2"))


def test_an_off_duty_helper_cannot_claim(ctx):
    fake_docs(ctx).users["h1"]["isAvailable"] = False
    with pytest.raises(FailedPrecondition, match="off duty"):
        claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    assert fake_docs(ctx).requests["r1"]["status"] == "pending"


def test_a_helper_who_gave_a_request_back_cannot_take_it_again(ctx):
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    claims.release_claim(ctx, HELPER, RequestRef(request_id="r1"))
    with pytest.raises(FailedPrecondition, match="gave this request back"):
        claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
    assert fake_docs(ctx).requests["r1"]["releasedBy"] == ["h1"]


def test_one_helper_cannot_expire_a_request_by_releasing_it_over_and_over(ctx):
    # claim -> release, three times, used to expire any request: now the second claim is refused
    for _ in range(3):
        try:
            claims.claim_request(ctx, HELPER, RequestRef(request_id="r1"))
            claims.release_claim(ctx, HELPER, RequestRef(request_id="r1"))
        except FailedPrecondition:
            pass
    doc = fake_docs(ctx).requests["r1"]
    assert (doc["status"], doc["releaseCount"]) == ("pending", 1)
