"""The Payments port's contract: every case runs on the fake (`homepro.testing.FakePayments`)
and on the Stripe adapter against localstripe (as the stack adapts it), and sees the same
answers, so the fake the unit tests trust cannot drift from what the adapter does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

import emulator_client as ec
from homepro.adapters.stripe_payments import StripePayments
from homepro.services.ports import HoldRefused, Payments
from homepro.testing import FakePayments


@pytest.fixture(params=("fake", "localstripe"))
def stripe(request) -> Payments:
    if request.param == "fake":
        return FakePayments()
    return StripePayments(ec.STRIPE_KEY, base_url=ec.STRIPE, max_rps=0, max_network_retries=0)


def rid() -> str:
    return f"contract-{uuid.uuid4().hex[:12]}"


def test_a_hold_is_made_once_per_request_and_confirmed_once(stripe):
    request_id = rid()
    since = datetime.now(UTC) - timedelta(minutes=1)
    intent = stripe.create_hold(request_id, 4900, "usd", "pm_card_visa", "cust-1")
    assert stripe.create_hold(request_id, 4900, "usd", "pm_card_visa", "cust-1") == intent
    held = stripe.confirm_hold(request_id, intent)
    assert (held.outcome, held.payment_intent_id) == ("authorized", intent)
    assert stripe.confirm_hold(request_id, intent) == held  # the key's first answer again
    [listed] = [h for h in stripe.recent_holds(since) if h.request_id == request_id]
    assert (listed.payment_intent_id, listed.status) == (intent, "requires_capture")


def test_three_d_secure_and_a_declined_card(stripe):
    request_id = rid()
    intent = stripe.create_hold(request_id, 4900, "usd", "pm_card_threeDSecure2Required", "c")
    held = stripe.confirm_hold(request_id, intent)
    assert held.outcome == "requires_action" and held.client_secret

    request_id = rid()
    intent = stripe.create_hold(request_id, 4900, "usd", "pm_card_chargeCustomerFail", "c")
    held = stripe.confirm_hold(request_id, intent)
    assert held.outcome == "declined" and held.decline_reason


def test_a_payment_method_stripe_does_not_know_is_refused(stripe):
    with pytest.raises(HoldRefused):
        stripe.create_hold(rid(), 4900, "usd", "pm_does_not_exist", "c")


def test_a_hold_released_before_its_confirmation_is_never_confirmed(stripe):
    request_id = rid()
    intent = stripe.create_hold(request_id, 4900, "usd", "pm_card_visa", "c")
    stripe.release(request_id, intent)
    held = stripe.confirm_hold(request_id, intent)
    assert (held.outcome, held.payment_intent_id) == ("canceled", intent)


def test_a_stray_hold_is_released_once_and_again_is_done(stripe):
    request_id = rid()
    since = datetime.now(UTC) - timedelta(minutes=1)
    intent = stripe.create_hold(request_id, 4900, "usd", "pm_card_visa", "c")
    stripe.confirm_hold(request_id, intent)
    stripe.release_stray(intent)
    stripe.release_stray(intent)  # a retry, or the reconcile job after the webhook: no error
    stripe.release(request_id, intent)  # the request's own release after it: done too
    [listed] = [h for h in stripe.recent_holds(since) if h.request_id == request_id]
    assert listed.status == "canceled"
