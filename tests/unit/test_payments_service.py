"""Money on the fakes: a hold made once, released or captured once, never forgotten."""

import pytest

from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidTransition, Unavailable
from homepro.domain.models import Actor, CancelRequestInput, CreateRequestInput
from homepro.services import payments, sweeps
from homepro.testing import FakeDocuments, fake_docs, make_context, swept

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
    assert [c for c in ctx.payments.calls if c[0] in ("create", "confirm")] == [
        ("create", first["requestId"]),
        ("confirm", first["requestId"]),
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
    counts = swept(sweeps.sweep_stale_requests(ctx).counts)
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


# -- no orphan holds (issue 15 item 5)


def cancel_first(ctx, action: str) -> list[str]:
    """The customer's cancel (a second tab) lands just before `action` reaches Stripe."""
    cancelled: list[str] = []

    def cancel(request_id: str) -> None:
        answer = payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))
        cancelled.append(answer["paymentStatus"])

    ctx.payments.before[action] = cancel
    return cancelled


def intents_of(ctx, request_id: str) -> dict[str, str]:
    return {
        pi: i["status"] for pi, i in ctx.payments.intents.items() if i["requestId"] == request_id
    }


def test_the_intent_is_recorded_before_its_card_is_confirmed(ctx):
    seen = []
    ctx.payments.before["confirm"] = lambda request_id: seen.append(
        fake_docs(ctx).requests[request_id].get("paymentIntentId")
    )
    answer = payments.create_request(ctx, CUSTOMER, ask())
    assert seen == [fake_docs(ctx).requests[answer["requestId"]]["paymentIntentId"]]
    assert fake_docs(ctx).event_types(answer["requestId"])[:3] == [
        "request_created",
        "payment_intent_created",
        "payment_authorized",
    ]


def test_a_cancel_before_the_intent_is_recorded_releases_it_unconfirmed(ctx):
    cancelled = cancel_first(ctx, "create")
    answer = payments.create_request(ctx, CUSTOMER, ask())
    assert cancelled == ["failed"]  # nothing recorded to release yet
    assert (answer["status"], answer["paymentStatus"]) == ("cancelled", "failed")
    assert list(intents_of(ctx, answer["requestId"]).values()) == ["canceled"]
    assert not [c for c in ctx.payments.calls if c[0] == "confirm"]  # never confirmed


def test_a_cancel_before_the_confirmation_releases_the_recorded_intent(ctx):
    cancelled = cancel_first(ctx, "confirm")
    answer = payments.create_request(ctx, CUSTOMER, ask())
    assert cancelled == ["failed"]  # the cancel's release: the hold was never authorized
    doc = fake_docs(ctx).requests[answer["requestId"]]
    assert (doc["status"], doc["paymentStatus"], doc["paymentOwed"]) == (
        "cancelled",
        "failed",
        None,
    )
    assert intents_of(ctx, answer["requestId"]) == {doc["paymentIntentId"]: "canceled"}
    assert answer["status"] == "cancelled"


def test_an_authorization_for_a_request_that_ended_is_released(ctx):
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))
    doc = fake_docs(ctx).requests[request_id]
    # the confirm's late answer (or a repeated webhook) of its own released hold: released
    # again (idempotent), and a webhook of another one
    request, did = payments.hold_authorized(ctx, request_id, doc["paymentIntentId"])
    assert (did, request.payment_status.value) == ("stray_released", "released")
    other = ctx.payments.hold_directly(request_id)
    request, did = payments.hold_authorized(ctx, request_id, other)
    assert did == "stray_released" and ctx.payments.intents[other]["status"] == "canceled"
    assert request.payment_intent_id == doc["paymentIntentId"]  # untouched


def test_a_late_webhook_for_a_cancelled_or_missing_request_releases_the_hold(ctx):
    from homepro.services.webhooks import apply_stripe_event

    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))
    stray = ctx.payments.hold_directly(request_id)
    event = {"id": stray, "metadata": {"requestId": request_id}}
    kind = "payment_intent.amount_capturable_updated"
    assert apply_stripe_event(ctx, kind, event) == "stray_released"
    assert ctx.payments.intents[stray]["status"] == "canceled"
    assert apply_stripe_event(ctx, kind, event) == "stray_released"  # again: done, no error
    assert fake_docs(ctx).requests[request_id]["paymentStatus"] == "released"

    gone = ctx.payments.hold_directly("no-such-request")
    event = {"id": gone, "metadata": {"requestId": "no-such-request"}}
    assert apply_stripe_event(ctx, kind, event) == "stray_released"
    assert ctx.payments.intents[gone]["status"] == "canceled"


def test_a_failure_webhook_of_another_intent_does_not_fail_the_request(ctx):
    from homepro.services.webhooks import apply_stripe_event

    answer = payments.create_request(
        ctx, CUSTOMER, ask(paymentMethodId="pm_card_threeDSecure2Required")
    )
    event = {"id": "pi_other", "metadata": {"requestId": answer["requestId"]}}
    assert apply_stripe_event(ctx, "payment_intent.payment_failed", event) == "unchanged"
    assert fake_docs(ctx).requests[answer["requestId"]]["paymentStatus"] == "requires_payment"


def test_an_outage_while_confirming_keeps_the_intent_and_the_retry_confirms_it(ctx):
    # Stripe goes down between the PaymentIntent's creation and its confirmation
    ctx.payments.before["confirm"] = lambda _: setattr(ctx.payments, "failures", 1)
    with pytest.raises(Unavailable):
        payments.create_request(ctx, CUSTOMER, ask(clientRequestId="k3"))
    answer = payments.create_request(ctx, CUSTOMER, ask(clientRequestId="k3"))
    assert answer["paymentStatus"] == "authorized"
    assert list(intents_of(ctx, answer["requestId"]).values()) == ["requires_capture"]
    assert ctx.payments.calls.count(("create", answer["requestId"])) == 1


def test_an_unknown_payment_method_is_declined_generically(ctx):
    with pytest.raises(FailedPrecondition, match=r"^Your card was declined$"):
        payments.create_request(ctx, CUSTOMER, ask(paymentMethodId="pm_does_not_exist"))
    [doc] = fake_docs(ctx).requests.values()
    assert (doc["status"], doc["paymentStatus"]) == ("cancelled", "failed")


def test_a_refund_during_an_outage_is_try_again(ctx):
    from homepro.domain.models import RefundRequestInput

    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    fake_docs(ctx).requests[request_id].update(paymentStatus="captured")
    ctx.payments.failures = 1
    with pytest.raises(Unavailable, match="try again"):
        payments.refund_request(
            ctx, Actor(uid="a", role="admin"), RefundRequestInput(request_id=request_id)
        )
    assert fake_docs(ctx).requests[request_id]["paymentStatus"] == "captured"


def test_reconcile_releases_every_hold_no_request_keeps(ctx):
    from homepro.services.reconcile import reconcile_payments

    live = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    over = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=over))
    owed = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    ctx.payments.failures = 1
    payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=owed))  # left owed
    # holds Stripe has and the records do not: a request over (its hold lost), another intent
    # of a live request, a request that does not exist, and a hold that is not ours
    lost = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    lost_intent = fake_docs(ctx).requests[lost]["paymentIntentId"]
    fake_docs(ctx).requests[lost].update(status="cancelled", paymentStatus="failed")
    second = ctx.payments.hold_directly(live)
    missing = ctx.payments.hold_directly("gone")
    theirs = ctx.payments.hold_directly("x")
    ctx.payments.intents[theirs].pop("requestId")

    counts = reconcile_payments(ctx).counts

    status = {pi: i["status"] for pi, i in ctx.payments.intents.items()}
    assert status[lost_intent] == status[second] == status[missing] == "canceled"
    assert status[fake_docs(ctx).requests[live]["paymentIntentId"]] == "requires_capture"
    assert status[fake_docs(ctx).requests[owed]["paymentIntentId"]] == "requires_capture"
    assert status[theirs] == "requires_capture"
    assert counts == {
        "released_request_over": 1,
        "released_request_holds_another": 1,
        "released_request_missing": 1,
        "kept": 2,
        "not_ours": 1,
        "not_held": 1,
    }
    assert reconcile_payments(ctx).counts["not_held"] == 4  # again: nothing left to do


def test_a_retried_settlement_names_its_attempt(ctx):
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    seen = []
    release = ctx.payments.release
    ctx.payments.release = lambda rid, pi, attempt=0: (seen.append(attempt), release(rid, pi))[1]
    ctx.payments.failures = 1  # the first release fails and is counted
    payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(requestId=request_id))
    sweeps.sweep_stale_requests(ctx)
    assert seen[-1] == 1 and fake_docs(ctx).requests[request_id]["paymentStatus"] == "released"


def test_a_declined_cards_intent_is_cancelled_so_its_secret_cannot_try_another_card(ctx):
    with pytest.raises(FailedPrecondition, match="Your card was declined"):
        payments.create_request(ctx, CUSTOMER, ask(paymentMethodId="pm_card_visa_chargeDeclined"))
    [(request_id, doc)] = fake_docs(ctx).requests.items()
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("failed", None)
    assert ctx.payments.intents[doc["paymentIntentId"]]["status"] == "canceled"
    events = sorted(fake_docs(ctx).collection(f"requests/{request_id}/events"))
    types = [e.split("-", 1)[1] for e in events]
    assert types[-2:] == ["payment_failed", "payment_intent_cancelled"]


def test_a_decline_after_a_cancel_leaves_nothing_owed_for_ever(ctx):
    request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    docs = fake_docs(ctx)
    # as if the card were still being confirmed: a cancel owes the recorded intent a release
    docs.requests[request_id]["paymentStatus"] = "requires_payment"
    payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(requestId=request_id))
    # then the decline lands (the webhook's payment_failed, or the confirm's late answer)
    from homepro.services.webhooks import apply_stripe_event

    intent = docs.requests[request_id]["paymentIntentId"]
    apply_stripe_event(
        ctx, "payment_intent.payment_failed", {"id": intent, "metadata": {"requestId": request_id}}
    )
    sweeps.sweep_stale_requests(ctx)
    doc = docs.requests[request_id]
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("failed", None)
    assert list(ctx.requests.owed_requests(page_size=10)) == []  # no retry every minute
