"""Money on the fakes: a hold made once, released or captured once, never forgotten."""

import pytest

from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidTransition, Unavailable
from homepro.domain.models import Actor, CancelRequestInput, CreateRequestInput
from homepro.services import payments, sweeps
from homepro.testing import FakeDocuments, fake_docs, make_context

CUSTOMER = Actor(uid="cust-1", role="customer")


def ask(**fields) -> CreateRequestInput:
    data = {
        "category": "hvac",
        "description": "The furnace will not start.",
        "paymentMethodId": "pm_card_visa",
        **fields,
    }
    return CreateRequestInput.model_validate(data)


@pytest.fixture
def ctx():
    return make_context(FakeDocuments())


def test_create_holds_the_price_of_the_category_and_makes_it_dispatchable(ctx):
    answer = payments.create_request(ctx, CUSTOMER, ask())
    assert answer["paymentStatus"] == "authorized" and answer["amount"] == 6900
    doc = fake_docs(ctx).requests[answer["requestId"]]
    assert doc["pendingSince"] == ctx.clock.now()
    assert ctx.payments.intents[doc["paymentIntentId"]]["status"] == "requires_capture"
    assert ctx.requests.get_request(answer["requestId"]).dispatchable


def test_the_first_request_writes_the_checklists_the_helper_page_reads(ctx):
    assert "checklists" not in fake_docs(ctx).collection("config")
    payments.create_request(ctx, CUSTOMER, ask())
    assert fake_docs(ctx).collection("config")["checklists"][
        "plumbing"
    ]  # the defaults, before any session


def test_only_customers_create(ctx):
    with pytest.raises(Forbidden):
        payments.create_request(ctx, Actor(uid="h", role="helper"), ask())


def test_a_repeated_client_request_id_is_one_hold(ctx):
    first = payments.create_request(ctx, CUSTOMER, ask(clientRequestId="k1"))
    second = payments.create_request(ctx, CUSTOMER, ask(clientRequestId="k1"))
    assert first == second
    assert [c for c in ctx.payments.calls if c[0] == "authorize"] == [
        ("authorize", first["requestId"])
    ]


def test_a_declined_card_fails_the_request_with_a_generic_answer(ctx):
    # the fake declines with Stripe's own reason; neither the answer nor the audit trail repeats it
    with pytest.raises(FailedPrecondition) as err:
        payments.create_request(
            ctx,
            CUSTOMER,
            ask(
                paymentMethodId="pm_card_visa_chargeDeclinedInsufficientFunds", clientRequestId="k"
            ),
        )
    assert err.value.message == "Your card was declined"  # not "...insufficient funds"
    [(request_id, doc)] = fake_docs(ctx).requests.items()
    [event] = [
        e for e in fake_docs(ctx).events(request_id).values() if e["type"] == "payment_failed"
    ]
    assert event["reason"] == "card_declined"
    assert (doc["status"], doc["paymentStatus"], doc["cancelReason"]) == (
        "cancelled",
        "failed",
        "payment_declined",
    )


def test_three_d_secure_waits_with_the_client_secret(ctx):
    answer = payments.create_request(
        ctx, CUSTOMER, ask(paymentMethodId="pm_card_threeDSecure2Required")
    )
    assert answer["paymentStatus"] == "requires_payment" and answer["clientSecret"].endswith(
        "_secret"
    )
    doc = fake_docs(ctx).requests[answer["requestId"]]
    assert doc["paymentIntentId"] and not ctx.requests.get_request(answer["requestId"]).dispatchable


def test_an_outage_while_holding_is_a_clear_retryable_error(ctx):
    ctx.payments.failures = 1
    with pytest.raises(Unavailable, match="try again"):
        payments.create_request(ctx, CUSTOMER, ask(clientRequestId="k2"))
    answer = payments.create_request(ctx, CUSTOMER, ask(clientRequestId="k2"))  # the retry
    assert answer["paymentStatus"] == "authorized"


def test_cancel_releases_before_answering(ctx):
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    answer = payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))
    assert (answer["status"], answer["paymentStatus"]) == ("cancelled", "released")
    intent = fake_docs(ctx).requests[request_id]["paymentIntentId"]
    assert ctx.payments.intents[intent]["status"] == "canceled"
    with pytest.raises(InvalidTransition):
        payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))


def test_another_customer_cannot_cancel(ctx):
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    with pytest.raises(Forbidden):
        payments.cancel_request(
            ctx, Actor(uid="cust-2", role="customer"), CancelRequestInput(request_id=request_id)
        )


def test_a_failed_release_stays_owed_until_a_sweep_ends_it_once(ctx):
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    ctx.payments.failures = 1
    answer = payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))
    assert (answer["status"], answer["paymentStatus"]) == ("cancelled", "authorized")
    assert fake_docs(ctx).requests[request_id]["paymentOwed"] == "release"
    assert fake_docs(ctx).requests[request_id]["paymentAttempts"] == 1  # the callable's failure

    assert sweeps.sweep_stale_requests(ctx).counts == {"payment_released": 1}
    assert sweeps.sweep_stale_requests(ctx).counts == {}
    doc = fake_docs(ctx).requests[request_id]
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("released", None)
    assert ctx.payments.calls.count(("release", request_id)) == 1
    assert fake_docs(ctx).event_types(request_id)[-3:] == [
        "request_cancelled",
        "payment_attempt_failed",
        "payment_released",
    ]


def test_an_abandoned_3ds_request_expires_and_its_intent_is_released(ctx):
    answer = payments.create_request(
        ctx, CUSTOMER, ask(paymentMethodId="pm_card_threeDSecure2Required")
    )
    ctx.clock.advance(minutes=31)
    counts = sweeps.sweep_stale_requests(ctx).counts
    assert counts == {"request_expired": 1, "payment_failed": 1}
    doc = fake_docs(ctx).requests[answer["requestId"]]
    assert (doc["status"], doc["paymentStatus"], doc["paymentOwed"]) == ("expired", "failed", None)
    assert ctx.payments.intents[doc["paymentIntentId"]]["status"] == "canceled"


def test_the_webhook_authorizes_after_3ds_once_and_ignores_repeats(ctx):
    from homepro.services.webhooks import apply_stripe_event

    answer = payments.create_request(
        ctx, CUSTOMER, ask(paymentMethodId="pm_card_threeDSecure2Required")
    )
    intent = {
        "id": fake_docs(ctx).requests[answer["requestId"]]["paymentIntentId"],
        "metadata": {"requestId": answer["requestId"]},
    }
    assert (
        apply_stripe_event(ctx, "payment_intent.amount_capturable_updated", intent)
        == "payment_authorized"
    )
    assert (
        apply_stripe_event(ctx, "payment_intent.amount_capturable_updated", intent) == "unchanged"
    )
    assert apply_stripe_event(ctx, "payment_intent.payment_failed", intent) == "unchanged"  # late
    assert apply_stripe_event(ctx, "customer.created", intent) == "ignored"
    assert ctx.requests.get_request(answer["requestId"]).dispatchable


def test_refund_only_a_captured_payment_once(ctx):
    from homepro.domain.models import RefundRequestInput

    admin = Actor(uid="a", role="admin")
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    with pytest.raises(InvalidTransition):
        payments.refund_request(ctx, admin, RefundRequestInput(request_id=request_id))
    ctx.payments.capture(request_id, fake_docs(ctx).requests[request_id]["paymentIntentId"])
    fake_docs(ctx).requests[request_id].update(paymentStatus="captured")
    with pytest.raises(Forbidden):
        payments.refund_request(ctx, CUSTOMER, RefundRequestInput(request_id=request_id))
    answer = payments.refund_request(
        ctx, admin, RefundRequestInput(request_id=request_id, amount=1000)
    )
    assert answer["paymentStatus"] == "refunded"
    with pytest.raises(InvalidTransition):
        payments.refund_request(ctx, admin, RefundRequestInput(request_id=request_id))
