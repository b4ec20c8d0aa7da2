"""Which hold at Stripe is nobody's to keep, and when a PaymentIntent is recorded (pure)."""

from datetime import UTC, datetime

import pytest

from homepro.domain.errors import InvalidTransition
from homepro.domain.lifecycle import (
    REQUEST_HOLDS_ANOTHER,
    REQUEST_MISSING,
    REQUEST_OVER,
    confirmable,
    plan_hold_created,
    stray_hold,
)
from homepro.domain.models import RequestDoc
from homepro.testing import paid_request

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def request(**fields) -> RequestDoc:
    return RequestDoc.model_validate({**paid_request("r1", NOW, **fields), "id": "r1"})


UNPAID = {"paymentStatus": "requires_payment", "paymentIntentId": None}


@pytest.mark.parametrize(
    ("fields", "intent", "why"),
    [
        ({}, "pi_r1", None),  # live and authorized
        ({}, "pi_other", REQUEST_HOLDS_ANOTHER),
        (UNPAID, "pi_new", None),  # being created: create_request records it
        ({**UNPAID, "status": "cancelled", "paymentStatus": "failed"}, "pi_new", REQUEST_OVER),
        ({"status": "cancelled", "paymentStatus": "released"}, "pi_r1", REQUEST_OVER),
        ({"status": "cancelled", "paymentStatus": "failed"}, "pi_r1", REQUEST_OVER),
        ({"status": "cancelled", "paymentOwed": "release"}, "pi_r1", None),  # settle's to do
        ({"status": "completed", "paymentOwed": "capture"}, "pi_r1", None),
        ({"status": "completed", "paymentStatus": "captured"}, "pi_r1", None),
        ({"status": "expired", "paymentStatus": "requires_payment"}, "pi_r1", REQUEST_OVER),
        ({"paymentStatus": "requires_payment"}, "pi_r1", None),  # confirming
    ],
)
def test_a_hold_is_stray_when_no_request_keeps_it(fields, intent, why):
    assert stray_hold(request(**fields), intent) == why


def test_a_hold_whose_request_is_gone_is_stray():
    assert stray_hold(None, "pi_x") == REQUEST_MISSING


def test_the_intent_is_recorded_once_on_a_pending_unpaid_request():
    transition = plan_hold_created(request(**UNPAID), "pi_new")
    assert transition.event_type == "payment_intent_created"
    assert dict(transition.changes) == {"paymentIntentId": "pi_new"}
    assert transition.to_status == transition.from_status  # still requires_payment
    recorded = request(paymentStatus="requires_payment", paymentIntentId="pi_new")
    assert confirmable(recorded, "pi_new") and not confirmable(recorded, "pi_other")
    for ended in (
        recorded,  # recorded already
        request(paymentStatus="requires_payment", paymentIntentId="pi_other"),
        request(**UNPAID, status="cancelled"),
        request(paymentIntentId=None),  # authorized: nothing to record
    ):
        with pytest.raises(InvalidTransition):
            plan_hold_created(ended, "pi_new")
    assert not confirmable(request(**UNPAID, status="cancelled"), "pi_new")
