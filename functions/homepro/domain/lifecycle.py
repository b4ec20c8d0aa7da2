"""Request transitions planned as data: what changes, from which state, and the audit event.

Each planner is pure: given the request as just re-read inside a transaction, it returns the
`Transition` to write or raises a domain error. The store writes it, bumps `version` and writes
its audit event (`homepro.domain.events`) in the same commit; side effects run after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from homepro.domain import writes
from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidTransition
from homepro.domain.models import Actor, PaymentOwed, RequestDoc, Role, UserDoc
from homepro.domain.states import (
    PAYMENT,
    REQUEST,
    TERMINAL_REQUEST_STATES,
    PaymentAction,
    PaymentStatus,
    RequestAction,
    RequestStatus,
    transition,
)
from homepro.domain.writes import ArrayRemove, DocumentWrite


@dataclass(frozen=True)
class Transition:
    """One transition of a request (its `status`, or its `paymentStatus`): its audit event
    type, the states, the other fields it writes."""

    event_type: str
    from_status: StrEnum
    to_status: StrEnum
    actor: Actor
    changes: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    state_field: str = "status"
    # Documents of other ports written in the same commit (the session a start creates).
    writes: tuple[DocumentWrite, ...] = ()

    def updates(self, version: int, now: datetime) -> dict[str, Any]:
        """What the request document gets: the changes, the new state, `version`, `updatedAt`."""
        return {
            **self.changes,
            self.state_field: self.to_status.value,
            "version": version,
            "updatedAt": now,
        }


# Why a claim went back to pending (audit `reason`).
RELEASED_BY_HELPER = "released_by_helper"
CLAIM_TIMEOUT = "claim_timeout"
PENDING_TIMEOUT = "pending_timeout"
UNPAID_TIMEOUT = "payment_not_completed"
STILL_PENDING = "still_pending"
TOO_MANY_RELEASES = "too_many_releases"


def hold_settlement(request: RequestDoc) -> dict[str, Any]:
    """Fields that settle the card hold of a request that ends without help being given.

    A hold (authorized, or still awaiting 3-D Secure) is owed a release: the payments step
    after the commit cancels the PaymentIntent and a sweep retries it if Stripe fails. A request
    that never got a PaymentIntent simply ends `failed`.
    """
    if request.payment_status in (PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_PAYMENT):
        if request.payment_intent_id:
            return {"paymentOwed": PaymentOwed.RELEASE.value}
        return {"paymentStatus": PaymentStatus.FAILED.value}
    return {}


def helper_claims_path(uid: str) -> str:
    """`helperClaims/{uid}` (server only): `open`, the requests the helper holds now."""
    return f"helperClaims/{uid}"


def claim_ended(request: RequestDoc) -> tuple[DocumentWrite, ...]:
    """The write that takes a request off its helper's open claims (it ended, or went back)."""
    if request.helper_id is None:
        return ()
    path = helper_claims_path(request.helper_id)
    return (writes.merge(path, {"open": ArrayRemove((request.id,))}),)


def plan_claim(
    request: RequestDoc,
    helper: UserDoc,
    actor: Actor,
    now: datetime,
    held: Mapping[str, Any] | None = None,
    max_claims: int = 1,
) -> Transition:
    """A helper on duty claims a dispatchable request they never gave back, if they hold fewer
    than `max_claims` now (`held`: their `helperClaims/{uid}` as read in the same commit)."""
    if actor.role != Role.HELPER or actor.uid is None:
        raise Forbidden("only helpers can claim requests")
    to_status = transition(REQUEST, request.status, RequestAction.CLAIM)
    if request.payment_status != PaymentStatus.AUTHORIZED:
        raise InvalidTransition(
            f"request is not payable yet (payment is {request.payment_status.value})"
        )
    if not helper.serves(request.category):
        raise FailedPrecondition(f"you do not serve the category {request.category.value}")
    if not helper.is_available:
        raise FailedPrecondition("you are off duty: set yourself available to claim requests")
    if actor.uid in request.released_by:
        raise FailedPrecondition("you gave this request back: another helper will take it")
    open_now = [rid for rid in (held or {}).get("open", []) if rid != request.id]
    if len(open_now) >= max_claims:
        raise FailedPrecondition(
            f"you hold {len(open_now)} request(s), the most at once (MAX_CLAIMS_PER_HELPER = "
            f"{max_claims}): finish or release one first"
        )
    path = helper_claims_path(actor.uid)
    counted = (
        writes.create(path, {"open": [request.id]})
        if held is None
        else writes.update(path, {"open": [*open_now, request.id]})
    )
    changes: dict[str, Any] = {
        "helperId": actor.uid,
        "helperDisplayName": helper.display_name or "Your helper",
        "claimedAt": now,
    }
    if request.first_claimed_at is None:
        # The promise is kept or broken by the first claim: a release clears `claimedAt`.
        changes["firstClaimedAt"] = now
        changes["firstClaimRound"] = request.dispatch_round
    return Transition(
        event_type="request_claimed",
        from_status=request.status,
        to_status=to_status,
        actor=actor,
        changes=changes,
        writes=(counted,),
    )


def plan_release(
    request: RequestDoc, actor: Actor, now: datetime, *, max_releases: int, reason: str
) -> Transition:
    """A claim goes back to pending, or expires the request on the `max_releases`-th release.
    The helper cannot claim it again, so the releases are of distinct helpers."""
    transition(REQUEST, request.status, RequestAction.RELEASE)
    if actor.role != "system" and actor.uid != request.helper_id:
        raise Forbidden("only the helper holding this claim can release it")
    release_count = request.release_count + 1
    released_by = list(request.released_by)
    if request.helper_id and request.helper_id not in released_by:
        released_by.append(request.helper_id)
    if release_count >= max_releases:
        return plan_expire(
            request,
            actor,
            now,
            reason=TOO_MANY_RELEASES,
            extra={
                "releaseCount": release_count,
                "releasedBy": released_by,
                "helperId": None,
                "helperDisplayName": None,
                "claimedAt": None,
            },
            also=claim_ended(request),
        )
    return Transition(
        event_type="request_released",
        from_status=request.status,
        to_status=RequestStatus.PENDING,
        actor=actor,
        reason=reason,
        writes=claim_ended(request),
        changes={
            "releaseCount": release_count,
            "releasedBy": released_by,
            "pendingSince": now,
            "escalation": 0,
            "helperId": None,
            "helperDisplayName": None,
            "claimedAt": None,
        },
    )


def plan_expire(
    request: RequestDoc,
    actor: Actor,
    now: datetime,
    *,
    reason: str,
    extra: Mapping[str, Any] | None = None,
    also: tuple[DocumentWrite, ...] = (),
) -> Transition:
    """The request expires; its card hold is owed a release."""
    to_status = transition(REQUEST, request.status, RequestAction.EXPIRE)
    return Transition(
        event_type="request_expired",
        from_status=request.status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        changes={"expiredAt": now, **hold_settlement(request), **(extra or {})},
        writes=also,
    )


def plan_escalate(request: RequestDoc, now: datetime, escalation: int) -> Transition:
    """A dispatchable request still pending reaches its `escalation`-th escalation: the
    trigger sends round `escalation-{n}` for it."""
    transition(REQUEST, request.status, RequestAction.ESCALATE)
    if not request.dispatchable:
        raise InvalidTransition("only a dispatchable request is escalated")
    if escalation <= request.escalation:
        raise InvalidTransition(f"escalation {escalation} was already made")
    return Transition(
        event_type="request_escalated",
        from_status=request.status,
        to_status=request.status,
        actor=Actor.system(),
        reason=STILL_PENDING,
        changes={"escalation": escalation},
    )


def plan_cancel(request: RequestDoc, actor: Actor, now: datetime, reason: str | None) -> Transition:
    """The owning customer cancels a pending or claimed request; the hold is owed a release."""
    if actor.role != Role.CUSTOMER or actor.uid != request.customer_id:
        raise Forbidden("only the customer who made this request can cancel it")
    to_status = transition(REQUEST, request.status, RequestAction.CANCEL)
    return Transition(
        event_type="request_cancelled",
        from_status=request.status,
        to_status=to_status,
        actor=actor,
        reason=reason or "cancelled_by_customer",
        changes={
            "cancelledAt": now,
            "cancelledBy": actor.uid,
            "cancelReason": reason,
            **hold_settlement(request),
        },
        writes=claim_ended(request) if request.status == RequestStatus.CLAIMED else (),
    )


def plan_authorized(request: RequestDoc, payment_intent_id: str, now: datetime) -> Transition:
    """Stripe holds the card: the request becomes dispatchable (if it is still pending)."""
    to_status = transition(PAYMENT, request.payment_status, PaymentAction.AUTHORIZE)
    changes: dict[str, Any] = {"paymentIntentId": payment_intent_id}
    if request.status == RequestStatus.PENDING:
        # Dispatchable from now: the 15-minute promise starts here, whether the first round
        # or a helper on the job board gets to it first.
        changes["pendingSince"] = now
        if request.dispatchable_at is None:
            changes["dispatchableAt"] = now
    return Transition(
        event_type="payment_authorized",
        from_status=request.payment_status,
        to_status=to_status,
        actor=Actor.system(),
        changes=changes,
        state_field="paymentStatus",
    )


def plan_hold_created(request: RequestDoc, payment_intent_id: str) -> Transition:
    """The PaymentIntent made for a pending request is recorded before its card is confirmed, so
    whatever ends the request from now on owes its release (`hold_settlement`)."""
    if request.payment_intent_id == payment_intent_id:
        raise InvalidTransition("the hold is recorded already")
    if request.payment_intent_id is not None:
        raise InvalidTransition("the request holds another PaymentIntent")
    if request.status != RequestStatus.PENDING:
        raise InvalidTransition(f"request is {request.status.value}")
    if request.payment_status != PaymentStatus.REQUIRES_PAYMENT:
        raise InvalidTransition(f"payment is already {request.payment_status.value}")
    return Transition(
        event_type="payment_intent_created",
        from_status=request.payment_status,
        to_status=request.payment_status,
        actor=Actor.system(),
        changes={"paymentIntentId": payment_intent_id},
        state_field="paymentStatus",
    )


def confirmable(request: RequestDoc, payment_intent_id: str) -> bool:
    """The card of this hold may be confirmed: the request is pending, unpaid and holds it."""
    return (
        request.status == RequestStatus.PENDING
        and request.payment_status == PaymentStatus.REQUIRES_PAYMENT
        and request.payment_intent_id == payment_intent_id
    )


# Why a hold at Stripe is nobody's to keep (the reason logged when it is released).
REQUEST_MISSING = "request_missing"
REQUEST_HOLDS_ANOTHER = "request_holds_another"
REQUEST_OVER = "request_over"


def stray_hold(request: RequestDoc | None, payment_intent_id: str) -> str | None:
    """Why a PaymentIntent made for `request` must be released now, or None if the request
    still has a use for it (live, or a release or capture it owes is the settle step's)."""
    if request is None:
        return REQUEST_MISSING
    if request.payment_intent_id not in (None, payment_intent_id):
        return REQUEST_HOLDS_ANOTHER
    if request.payment_owed is not None:
        return None
    unpaid = request.payment_status == PaymentStatus.REQUIRES_PAYMENT
    if request.payment_intent_id is None:
        # Not recorded yet: create_request records it, unless the request ended first.
        return None if unpaid and request.status == RequestStatus.PENDING else REQUEST_OVER
    if request.payment_status in (PaymentStatus.FAILED, PaymentStatus.RELEASED):
        return REQUEST_OVER  # our records say the hold is gone
    if unpaid and request.status in TERMINAL_REQUEST_STATES:
        return REQUEST_OVER
    return None


def plan_declined(request: RequestDoc, now: datetime, reason: str) -> Transition:
    """The card was declined: payment `failed`, and the request ends without dispatch."""
    to_status = transition(PAYMENT, request.payment_status, PaymentAction.FAIL)
    # A declined PaymentIntent holds nothing, but its client secret could confirm it again
    # with another card (card testing past every limit): it is owed a cancel at Stripe.
    changes: dict[str, Any] = {
        "paymentOwed": PaymentOwed.RELEASE.value if request.payment_intent_id else None
    }
    if request.status == RequestStatus.PENDING:
        changes |= {
            "status": RequestStatus.CANCELLED.value,
            "cancelledAt": now,
            "cancelledBy": "system",
            "cancelReason": "payment_declined",
        }
    return Transition(
        event_type="payment_failed",
        from_status=request.payment_status,
        to_status=to_status,
        actor=Actor.system(),
        reason=reason[:200],
        changes=changes,
        state_field="paymentStatus",
    )


def plan_settled(request: RequestDoc) -> Transition:
    """The owed Stripe call succeeded: the hold is released (or captured)."""
    if request.payment_owed == PaymentOwed.CAPTURE:
        action = PaymentAction.CAPTURE
    elif request.payment_owed == PaymentOwed.RELEASE:
        # A hold still awaiting 3-D Secure was never authorized: it ends `failed`.
        action = (
            PaymentAction.RELEASE
            if request.payment_status == PaymentStatus.AUTHORIZED
            else PaymentAction.FAIL
        )
    else:
        raise InvalidTransition("no payment is owed")
    if request.payment_status == PaymentStatus.FAILED:
        # A declined PaymentIntent was cancelled: nothing was held, the payment stays failed.
        return Transition(
            event_type="payment_intent_cancelled",
            from_status=request.payment_status,
            to_status=request.payment_status,
            actor=Actor.system(),
            changes={"paymentOwed": None},
            state_field="paymentStatus",
        )
    to_status = transition(PAYMENT, request.payment_status, action)
    return Transition(
        event_type=f"payment_{to_status.value}",
        from_status=request.payment_status,
        to_status=to_status,
        actor=Actor.system(),
        changes={"paymentOwed": None},
        state_field="paymentStatus",
    )


def plan_refunded(request: RequestDoc, actor: Actor, amount: int, reason: str | None) -> Transition:
    """Stripe refunded a captured payment (an admin's refund, or reported by the webhook)."""
    to_status = transition(PAYMENT, request.payment_status, PaymentAction.REFUND)
    return Transition(
        event_type="payment_refunded",
        from_status=request.payment_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        changes={"refundedAmount": amount},
        state_field="paymentStatus",
    )
