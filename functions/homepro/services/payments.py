"""Money: requests are created with a card hold; holds are released or captured once.

The transition that ends a request writes `paymentOwed` in its own transaction; the Stripe
call runs after the commit with an idempotency key (`{requestId}:release` / `:capture`), and
its success clears `paymentOwed` in a second transaction. A Stripe call that fails leaves
`paymentOwed` for the next sweep to retry, so a hold is never forgotten and never settled twice.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from homepro.domain import limits
from homepro.domain.attention import plan_settle_failed
from homepro.domain.errors import (
    FailedPrecondition,
    Forbidden,
    HomeProError,
    InvalidTransition,
    NotFound,
    Unavailable,
)
from homepro.domain.lifecycle import (
    plan_authorized,
    plan_awaiting_action,
    plan_cancel,
    plan_declined,
    plan_refunded,
    plan_settled,
)
from homepro.domain.models import (
    Actor,
    CancelRequestInput,
    CreateRequestInput,
    PaymentOwed,
    RefundRequestInput,
    RequestDoc,
    Role,
)
from homepro.domain.pricing import CURRENCY, price_of
from homepro.domain.sessions import DEFAULT_CHECKLISTS
from homepro.domain.states import PaymentStatus, RequestStatus
from homepro.services.context import Context
from homepro.services.ports import PaymentError

log = logging.getLogger(__name__)
# What a declined card is answered, whatever Stripe's reason (its card-testing guidance), and the
# reason its audit event records.
DECLINED_MESSAGE = "Your card was declined"
CARD_DECLINED = "card_declined"


def request_id_for(customer_id: str, client_request_id: str | None) -> str:
    """A repeated `clientRequestId` from one customer names the same request (one hold)."""
    if client_request_id is None:
        return uuid.uuid4().hex[:20]
    digest = hashlib.sha256(f"{customer_id}\x00{client_request_id}".encode()).hexdigest()
    return f"r{digest[:19]}"


def _answer(request: RequestDoc, client_secret: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "requestId": request.id,
        "status": request.status.value,
        "paymentStatus": request.payment_status.value,
        "amount": request.amount,
    }
    if client_secret:
        answer["clientSecret"] = client_secret
    return answer


def create_request(
    ctx: Context, actor: Actor, data: CreateRequestInput, source: str | None = None
) -> dict[str, Any]:
    """A customer asks for help: the request is written, then the card is held.

    The request is counted against its customer's and its source address's limits in the
    commit that writes it (`domain.limits`): over a limit nothing is written and Stripe is not
    called. `source` is the caller's address (None when unknown: only per-customer limits).
    """
    if actor.role != Role.CUSTOMER or actor.uid is None:
        raise Forbidden("only customers can create requests")
    now = ctx.clock.now()
    request_id = request_id_for(actor.uid, data.client_request_id)
    admission = limits.Admission(
        ctx.policy.abuse,
        actor.uid,
        limits.source_key(source) if source else None,
        request_id,
        now,
    )
    request, created = ctx.requests.create_request(
        request_id,
        {
            "customerId": actor.uid,
            "category": data.category.value,
            "description": data.description,
            "amount": price_of(data.category),
            "currency": CURRENCY,
            "status": RequestStatus.PENDING.value,
            "paymentStatus": PaymentStatus.REQUIRES_PAYMENT.value,
            "clientRequestId": data.client_request_id,
            "releaseCount": 0,
            "dispatchRound": 0,
            "escalation": 0,
        },
        now,
        admission,
    )
    if not created and request.payment_status != PaymentStatus.REQUIRES_PAYMENT:
        return _answer(request)  # the same clientRequestId again: the first request
    # The helper's page reads the safety checklist before the session starts: make sure the
    # document exists (written with the defaults when missing).
    ctx.sessions.ensure_checklists(DEFAULT_CHECKLISTS)

    try:
        held = ctx.payments.authorize(
            request.id, request.amount, request.currency, data.payment_method_id, actor.uid
        )
    except PaymentError as err:
        log.warning(
            "authorization failed, customer may retry",
            extra={"request_id": request.id, "error": str(err)},
        )
        ctx.limits.forget_attempt(actor.uid, request.id)  # Stripe never answered: no attempt
        raise Unavailable(
            "the card could not be checked right now: try again (the same request is kept)"
        ) from err

    if held.outcome == "authorized" and held.payment_intent_id:
        intent = held.payment_intent_id
        request, _ = ctx.requests.apply(request.id, lambda r: plan_authorized(r, intent, now), now)
        ctx.limits.forget_attempt(actor.uid, request.id)
        return _answer(request)
    if held.outcome == "requires_action" and held.payment_intent_id:
        intent = held.payment_intent_id
        if request.payment_intent_id is None:
            request, _ = ctx.requests.apply(
                request.id, lambda r: plan_awaiting_action(r, intent), now
            )
        return _answer(request, held.client_secret)
    # Stripe's reason stays on the server (a card tester learns nothing from the answer or the
    # customer-readable audit trail); the log keeps it for support.
    log.info(
        "card declined",
        extra={"request_id": request.id, "decline_reason": held.decline_reason},
    )
    ctx.requests.apply(request.id, lambda r: plan_declined(r, now, CARD_DECLINED), now)
    raise FailedPrecondition(DECLINED_MESSAGE)


def cancel_request(ctx: Context, actor: Actor, data: CancelRequestInput) -> dict[str, Any]:
    """The customer cancels a pending or claimed request; the hold is released before we answer."""
    now = ctx.clock.now()
    request, _ = ctx.requests.apply(
        data.request_id, lambda r: plan_cancel(r, actor, now, data.reason), now
    )
    request = settle(ctx, request)
    return {
        "requestId": request.id,
        "status": request.status.value,
        "paymentStatus": request.payment_status.value,
    }


def settle(ctx: Context, request: RequestDoc) -> RequestDoc:
    """Make the Stripe call the request owes, then record it; on failure leave it owed."""
    if request.payment_owed is None or not request.payment_intent_id:
        return request
    try:
        if request.payment_owed.value == "capture":
            ctx.payments.capture(request.id, request.payment_intent_id)
        else:
            ctx.payments.release(request.id, request.payment_intent_id)
    except PaymentError as err:
        log.warning(
            "stripe call failed, left owed for the sweep",
            extra={"request_id": request.id, "owed": request.payment_owed.value, "error": str(err)},
        )
        return count_failed_settlement(ctx, request, request.payment_owed)
    now = ctx.clock.now()
    try:
        settled, _ = ctx.requests.apply(request.id, plan_settled, now)
    except InvalidTransition:  # another settle got there first (the call was idempotent)
        current = ctx.requests.get_request(request.id)
        if current is None:
            raise NotFound(f"request {request.id} does not exist") from None
        return current
    return settled


def count_failed_settlement(ctx: Context, request: RequestDoc, owed: PaymentOwed) -> RequestDoc:
    """One more failed settlement on `paymentAttempts` (in a transaction, whichever path
    failed); at PAYMENT_MAX_ATTEMPTS nothing retries it and an ALERT asks for a person."""
    now = ctx.clock.now()
    most = ctx.policy.payment_max_attempts
    try:
        counted, _ = ctx.requests.apply(
            request.id, lambda r: plan_settle_failed(r, owed, now, most), now
        )
    except InvalidTransition:  # settled, or decided, since: nothing to count
        return ctx.requests.get_request(request.id) or request
    except HomeProError as err:  # the count is lost, the payment still owed: retried anyway
        log.warning(
            "a failed settlement was not counted",
            extra={"request_id": request.id, "error": str(err)},
        )
        return request
    if counted.payment_attention is not None:
        log.error(
            "ALERT: a payment failed PAYMENT_MAX_ATTEMPTS times; nothing retries it until an "
            "admin settles it (admin_settle)",
            extra={
                "request_id": request.id,
                "owed": owed.value,
                "attempts": counted.payment_attempts,
                "payment_intent_id": request.payment_intent_id,
            },
        )
    return counted


def refund_request(ctx: Context, actor: Actor, data: RefundRequestInput) -> dict[str, Any]:
    """An admin refunds a captured payment, in full or in part (once per request)."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins can refund")
    request = ctx.requests.get_request(data.request_id)
    if request is None:
        raise NotFound(f"request {data.request_id} does not exist")
    if request.payment_status != PaymentStatus.CAPTURED or not request.payment_intent_id:
        raise InvalidTransition(
            f"only a captured payment is refunded (it is {request.payment_status.value})"
        )
    amount = data.amount if data.amount is not None else request.amount
    if amount > request.amount:
        raise FailedPrecondition(f"amount: at most {request.amount} cents were captured")
    try:
        ctx.payments.refund(request.id, request.payment_intent_id, amount)
    except PaymentError as err:
        raise FailedPrecondition(f"the refund could not be made: {err}") from err
    now = ctx.clock.now()
    try:
        request, _ = ctx.requests.apply(
            request.id, lambda r: plan_refunded(r, actor, amount, data.reason), now
        )
    except InvalidTransition:  # the webhook recorded it first
        request = ctx.requests.get_request(request.id) or request
    return {"requestId": request.id, "paymentStatus": request.payment_status.value}
