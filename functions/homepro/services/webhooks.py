"""Stripe's word on a PaymentIntent, applied once: a repeated or out-of-order event finds the
request already in (or past) the state it reports and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from homepro.domain.errors import InvalidTransition
from homepro.domain.lifecycle import (
    Transition,
    plan_authorized,
    plan_declined,
    plan_refunded,
    plan_settled,
)
from homepro.domain.models import Actor, PaymentOwed, RequestDoc
from homepro.domain.states import PaymentStatus
from homepro.services.context import Context
from homepro.services.payments import CARD_DECLINED, settle

log = logging.getLogger(__name__)

HANDLED = (
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.canceled",
    "payment_intent.payment_failed",
    "charge.refunded",
)


def apply_stripe_event(ctx: Context, event_type: str, obj: Mapping[str, Any]) -> str:
    """Apply one verified Stripe event; returns what it did (for the log and the answer)."""
    if event_type not in HANDLED:
        return "ignored"
    request_id = (obj.get("metadata") or {}).get("requestId")
    if not request_id:
        return "ignored: no request"
    now = ctx.clock.now()

    def plan(request: RequestDoc) -> Transition:
        status = request.payment_status
        if event_type == "payment_intent.amount_capturable_updated":
            if status != PaymentStatus.REQUIRES_PAYMENT:
                raise InvalidTransition("already past authorization")
            return plan_authorized(request, str(obj["id"]), now)
        if event_type == "payment_intent.succeeded" and request.payment_owed == PaymentOwed.CAPTURE:
            return plan_settled(request)
        if event_type == "payment_intent.canceled" and request.payment_owed == PaymentOwed.RELEASE:
            return plan_settled(request)
        if (
            event_type == "payment_intent.payment_failed"
            and status == PaymentStatus.REQUIRES_PAYMENT
        ):
            return plan_declined(request, now, CARD_DECLINED)
        if event_type == "charge.refunded" and status == PaymentStatus.CAPTURED:
            amount = int(obj.get("amount_refunded") or 0)
            return plan_refunded(request, Actor.system(), amount, "reported_by_stripe")
        raise InvalidTransition("nothing to do")

    try:
        request, transition = ctx.requests.apply(str(request_id), plan, now)
    except InvalidTransition:
        log.info(
            "stripe event changed nothing",
            extra={"request_id": request_id, "event_type": event_type},
        )
        return "unchanged"
    if event_type == "payment_intent.amount_capturable_updated":
        ctx.limits.forget_attempt(request.customer_id, request.id)  # not a failed attempt
    if request.payment_owed is not None:  # e.g. authorized after the customer cancelled
        settle(ctx, request)
    return transition.event_type
