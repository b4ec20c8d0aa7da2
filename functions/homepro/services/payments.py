"""Money: requests are created with a card hold; holds are released or captured once.

The transition that ends a request writes `paymentOwed` in its own transaction; the Stripe
call runs after the commit with an idempotency key (`{requestId}:release` / `:capture`), and
its success clears `paymentOwed` in a second transaction. A Stripe call that fails leaves
`paymentOwed` for the next sweep to retry, so a hold is never forgotten and never settled twice.

No hold is left behind: the PaymentIntent is created unconfirmed
(`{requestId}:create:{paymentMethodId}`) and recorded on the request (`payment_intent_created`)
before its card is confirmed (`{paymentIntentId}:confirm`), so whatever ends the request from
then on owes its release; a request that ended before the recording is not confirmed and its
intent is released here, and a declined one is cancelled too (its client secret could try
another card). An authorization that reaches a request that is over, failed, gone or holds
another intent is released (`release_stray`, keyed by the intent), and the
`reconcile_payments` job releases any such hold that slipped past both.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

from homepro import faults
from homepro.domain import limits, quotes
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
    Transition,
    confirmable,
    plan_authorized,
    plan_cancel,
    plan_declined,
    plan_hold_created,
    plan_refunded,
    plan_settled,
    stray_hold,
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
from homepro.domain.states import TERMINAL_REQUEST_STATES, PaymentStatus, RequestStatus
from homepro.domain.writes import DocumentWrite
from homepro.services.context import Context
from homepro.services.ports import HoldRefused, PaymentError
from homepro.services.stores import Admitter

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
    """A customer asks for help: the request is written, then its PaymentIntent is made and
    recorded, then the card is held (confirmed).

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
    shown = _quote_shown(ctx, actor.uid, data, request_id, now)
    admit: Admitter = (
        admission if shown is None else _using_quote(admission, shown, request_id, now)
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
            **({"quote": shown.as_field()} if shown is not None else {}),
        },
        now,
        admit,
    )
    if not created and request.payment_status != PaymentStatus.REQUIRES_PAYMENT:
        return _answer(request)  # the same clientRequestId again: the first request
    if request.status != RequestStatus.PENDING:
        return _answer(request)  # it ended (cancelled) while its card was being held
    # The helper's page reads the safety checklist before the session starts: make sure the
    # document exists (written with the defaults when missing).
    ctx.sessions.ensure_checklists(DEFAULT_CHECKLISTS)

    # The PaymentIntent is made unconfirmed and recorded before the card is touched: a cancel or
    # an expiry from then on owes its release. A retry finds it recorded and confirms it again
    # (the same idempotency key: the same answer, never a second hold).
    try:
        intent = request.payment_intent_id or ctx.payments.create_hold(
            request.id, request.amount, request.currency, data.payment_method_id, actor.uid
        )
    except HoldRefused as err:
        return _declined(ctx, request.id, str(err), now)
    except PaymentError as err:
        raise _try_again(ctx, actor.uid, request.id, err) from err
    request, confirm = _record_hold(ctx, request.id, intent, now)
    if not confirm:
        return _answer(request)  # it ended first: the hold is released, not confirmed
    try:
        held = ctx.payments.confirm_hold(request.id, intent)
    except PaymentError as err:
        raise _try_again(ctx, actor.uid, request.id, err) from err

    if held.outcome == "authorized":
        request, _ = hold_authorized(ctx, request.id, intent)
        return _answer(request)
    if held.outcome == "requires_action":
        return _answer(request, held.client_secret)  # the webhook authorizes it after 3-D Secure
    if held.outcome == "canceled":  # released by a cancel or expiry that landed meanwhile
        return _answer(ctx.requests.get_request(request.id) or request)
    return _declined(ctx, request.id, held.decline_reason, now)


def _quote_shown(
    ctx: Context, customer_id: str, data: CreateRequestInput, request_id: str, now: datetime
) -> quotes.Shown | None:
    """The quote the request is made with, checked (`quotes.shown`); None without one. A quote
    refused (expired, say) still lets the retry of a request it made answer that request."""
    if data.quote_id is None:
        return None
    try:
        return quotes.shown(
            data.quote_id,
            ctx.quotes.get_quote(data.quote_id),
            customer_id,
            data.category.value,
            now,
        )
    except HomeProError:
        made = ctx.requests.get_request(request_id) if data.client_request_id else None
        if made is not None and made.quote is not None and made.quote.id == data.quote_id:
            return None  # the same request again: create_request answers it as it is
        raise


def _using_quote(
    admission: Admitter, shown: quotes.Shown, request_id: str, now: datetime
) -> Admitter:
    """`admission`, and the quote marked used by the request in its creating commit (read
    there: a quote another request used is refused)."""

    def admit(read: limits.Read) -> tuple[DocumentWrite, ...]:
        counted = admission(read)
        (quote,) = read([quotes.quote_path(shown.quote_id)])
        return (*counted, quotes.use(shown.quote_id, quote, request_id, now))

    return admit


def _try_again(ctx: Context, customer_id: str, request_id: str, err: PaymentError) -> Unavailable:
    log.warning(
        "authorization failed, customer may retry",
        extra={"request_id": request_id, "error": str(err)},
    )
    ctx.limits.forget_attempt(customer_id, request_id)  # Stripe never answered: no attempt
    return Unavailable(
        "the card could not be checked right now: try again (the same request is kept)"
    )


def _declined(ctx: Context, request_id: str, reason: str | None, now: datetime) -> NoReturn:
    # Stripe's reason stays on the server (a card tester learns nothing from the answer or the
    # customer-readable audit trail); the log keeps it for support.
    log.info("card declined", extra={"request_id": request_id, "decline_reason": reason})
    with contextlib.suppress(InvalidTransition):  # it ended meanwhile: nothing is held
        request, _ = ctx.requests.apply(
            request_id, lambda r: plan_declined(r, now, CARD_DECLINED), now
        )
        # its PaymentIntent is cancelled at once: the client secret could confirm it again
        # with another card, past every limit (left owed for the sweep if Stripe fails)
        settle(ctx, request)
    raise FailedPrecondition(DECLINED_MESSAGE)


def _record_hold(
    ctx: Context, request_id: str, intent: str, now: datetime
) -> tuple[RequestDoc, bool]:
    """Record the PaymentIntent on the request (with its audit event); whether to confirm it.
    A request that ended meanwhile is not confirmed: its hold is released here."""
    try:
        request, _ = ctx.requests.apply(request_id, lambda r: plan_hold_created(r, intent), now)
        return request, True
    except InvalidTransition:
        current = ctx.requests.get_request(request_id)
    if current is not None and confirmable(current, intent):
        return current, True  # recorded by an earlier try
    release_stray(ctx, current, request_id, intent)
    if current is None:
        raise NotFound(f"request {request_id} does not exist")
    return current, False


def release_stray(
    ctx: Context, request: RequestDoc | None, request_id: str, intent: str
) -> str | None:
    """Release a hold the request has no use for (see `stray_hold`); the reason, if it did.
    A failed call is logged: the reconcile job finds the hold again."""
    reason = stray_hold(request, intent)
    if reason is None:
        return None
    try:
        ctx.payments.release_stray(intent)
    except PaymentError as err:
        log.warning(
            "stray hold not released, left for reconcile_payments",
            extra={"request_id": request_id, "payment_intent_id": intent, "error": str(err)},
        )
        return None
    log.info(
        "stray hold released",
        extra={"request_id": request_id, "payment_intent_id": intent, "reason": reason},
    )
    return reason


Settler = Callable[[Context, RequestDoc], RequestDoc]
StrayReleaser = Callable[[Context, RequestDoc | None, str, str], str | None]


def hold_authorized(
    ctx: Context,
    request_id: str,
    intent: str,
    settler: Settler | None = None,
    releaser: StrayReleaser | None = None,
) -> tuple[RequestDoc, str]:
    """Stripe holds the card (confirm's answer, or the webhook after 3-D Secure): the request
    becomes payable, or, if it is over or holds another intent, the hold is released. Returns
    the request and what was done (the transition's event type, `stray_released`, or
    `unchanged`). `settler` and `releaser` make the Stripe calls (inline by default; the
    webhook's go through the settlement queue)."""
    settler = settler or settle
    releaser = releaser or release_stray
    now = ctx.clock.now()

    def plan(request: RequestDoc) -> Transition:
        if request.payment_intent_id not in (None, intent):
            raise InvalidTransition("the request holds another PaymentIntent")
        if request.payment_status != PaymentStatus.REQUIRES_PAYMENT:
            raise InvalidTransition("already past authorization")
        if request.status in TERMINAL_REQUEST_STATES and request.payment_owed is None:
            raise InvalidTransition("the request is over")
        return plan_authorized(request, intent, now)

    try:
        request, transition = ctx.requests.apply(request_id, plan, now)
    except InvalidTransition:
        current = ctx.requests.get_request(request_id)
        released = releaser(ctx, current, request_id, intent)
        if current is None:
            raise NotFound(f"request {request_id} does not exist") from None
        return current, "stray_released" if released else "unchanged"
    ctx.limits.forget_attempt(request.customer_id, request.id)  # not a failed attempt
    if request.payment_owed is not None:  # authorized after the customer cancelled: release
        request = settler(ctx, request)
    return request, transition.event_type


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
        # a fresh idempotency key after each failed attempt (Stripe replays a saved 500)
        attempt = request.payment_attempts
        faults.fault(faults.BEFORE_STRIPE_CALL)
        if request.payment_owed.value == "capture":
            ctx.payments.capture(request.id, request.payment_intent_id, attempt)
        else:
            ctx.payments.release(request.id, request.payment_intent_id, attempt)
    except PaymentError as err:
        log.warning(
            "stripe call failed, left owed for the sweep",
            extra={"request_id": request.id, "owed": request.payment_owed.value, "error": str(err)},
        )
        return count_failed_settlement(ctx, request, request.payment_owed)
    faults.fault(faults.AFTER_STRIPE_CALL)
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
        log.warning("refund failed", extra={"request_id": request.id, "error": str(err)})
        raise Unavailable("the refund could not be made right now: try again") from err
    now = ctx.clock.now()
    try:
        request, _ = ctx.requests.apply(
            request.id, lambda r: plan_refunded(r, actor, amount, data.reason), now
        )
    except InvalidTransition:  # the webhook recorded it first
        request = ctx.requests.get_request(request.id) or request
    return {"requestId": request.id, "paymentStatus": request.payment_status.value}
