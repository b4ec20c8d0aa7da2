"""Stripe's word on a PaymentIntent, applied once: a repeated or out-of-order event finds the
request already in (or past) the state it reports and changes nothing. The Stripe calls an
event leads to (a release owed after a late authorization, a stray hold's release) go through
the settlement queue: nobody waits on them, and the queue keeps them in the bulk budget."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from homepro.domain.errors import InvalidTransition, NotFound
from homepro.domain.lifecycle import (
    Transition,
    plan_declined,
    plan_refunded,
    plan_settled,
)
from homepro.domain.models import Actor, PaymentOwed, RequestDoc
from homepro.domain.states import PaymentStatus
from homepro.services.context import Context
from homepro.services.payments import CARD_DECLINED, hold_authorized
from homepro.services.settlements import release_stray_soon, settle_soon

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
    intent = str(obj["id"])
    if event_type == "payment_intent.amount_capturable_updated":
        # Authorized: the request becomes payable, or the hold is released if the request is
        # over, failed, gone or holds another PaymentIntent.
        try:
            return hold_authorized(ctx, str(request_id), intent, settle_soon, release_stray_soon)[1]
        except NotFound:
            release_stray_soon(ctx, None, str(request_id), intent)
            return "stray_released"
    now = ctx.clock.now()

    def plan(request: RequestDoc) -> Transition:
        status = request.payment_status
        about_intent = event_type.startswith("payment_intent.")
        if about_intent and request.payment_intent_id not in (None, intent):
            raise InvalidTransition("about another PaymentIntent than the request's")
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
        _, transition = ctx.requests.apply(str(request_id), plan, now)
    except (InvalidTransition, NotFound):
        log.info(
            "stripe event changed nothing",
            extra={"request_id": request_id, "event_type": event_type},
        )
        return "unchanged"
    return transition.event_type
