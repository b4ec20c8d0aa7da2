"""Holds that need a person: a payment whose settlement kept failing, or a session that timed
out (was help given?). The request carries `paymentAttention` until an admin (or, for a timed-out
session, the sweep after ADMIN_DECISION_HOURS) decides: capture or release.

Each planner is pure, like those of `lifecycle`: a `Transition` of the request's payment (its
state unchanged) with its audit event, written in one commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidTransition
from homepro.domain.lifecycle import Transition
from homepro.domain.models import Actor, PaymentOwed, RequestDoc, Role
from homepro.domain.states import PaymentStatus

# `paymentAttention.reason`
SESSION_TIMED_OUT = "session_timed_out"
PAYMENT_ATTEMPTS_EXHAUSTED = "payment_attempts_exhausted"
# The reason the sweep's release records when no admin decided in time.
NO_DECISION = "no admin decision within ADMIN_DECISION_HOURS"


class AlreadyDecided(InvalidTransition):
    """The same decision was made already (a retried call): nothing to write."""


def plan_settle_failed(
    request: RequestDoc, owed: PaymentOwed, now: datetime, max_attempts: int
) -> Transition:
    """A settlement (`owed`) failed once more: count it; the `max_attempts`-th failure takes the
    payment off the retries (`paymentOwed` cleared) and asks for a person (`paymentAttention`)."""
    if request.payment_owed != owed:
        raise InvalidTransition(f"the payment no longer owes a {owed.value}")
    attempts = request.payment_attempts + 1
    changes: dict[str, Any] = {"paymentAttempts": attempts}
    event_type = "payment_attempt_failed"
    if attempts >= max_attempts:
        event_type = "payment_attention"
        changes["paymentOwed"] = None
        changes["paymentAttention"] = {
            "reason": PAYMENT_ATTEMPTS_EXHAUSTED,
            "since": now,
            "owed": owed.value,
            "attempts": attempts,
        }
    return Transition(
        event_type=event_type,
        from_status=request.payment_status,
        to_status=request.payment_status,
        actor=Actor.system(),
        reason=f"{owed.value} failed ({attempts} of PAYMENT_MAX_ATTEMPTS = {max_attempts})",
        changes=changes,
        state_field="paymentStatus",
    )


def session_timed_out(now: datetime, release_by: datetime) -> dict[str, Any]:
    """The `paymentAttention` of a request whose session timed out with the card held."""
    return {"reason": SESSION_TIMED_OUT, "since": now, "releaseBy": release_by}


def plan_decision(
    request: RequestDoc, actor: Actor, action: PaymentOwed, reason: str, now: datetime
) -> Transition:
    """An admin (or the sweep, releasing) decides a payment that needs a person: the request
    owes that settlement now, with a fresh count of attempts; the decision stays on it."""
    system = actor.role == "system"
    if not system and actor.role != Role.ADMIN:
        raise Forbidden("only admins settle a payment that needs attention")
    attention = request.payment_attention
    decided = request.payment_decision
    if attention is None:
        if decided is not None and decided.action == action:
            raise AlreadyDecided(f"{action.value} was decided already")
        if decided is not None:
            raise FailedPrecondition(
                f"action: this payment was decided already ({decided.action.value} by {decided.by})"
            )
        raise FailedPrecondition(
            f"request {request.id} has no payment waiting for a decision (no paymentAttention)"
        )
    if action == PaymentOwed.CAPTURE:
        if attention.owed == PaymentOwed.RELEASE:
            raise FailedPrecondition(
                "action: this request owes the customer a release (it ended without help "
                "given): only release is allowed"
            )
        if request.payment_status != PaymentStatus.AUTHORIZED:
            raise FailedPrecondition(
                f"action: only an authorized hold is captured (it is "
                f"{request.payment_status.value})"
            )
    return Transition(
        event_type="payment_decided",
        from_status=request.payment_status,
        to_status=request.payment_status,
        actor=actor,
        reason=f"{action.value}: {reason}",
        changes={
            "paymentAttention": None,
            "paymentOwed": action.value,
            "paymentAttempts": 0,
            "paymentDecision": {
                "action": action.value,
                "by": actor.uid if actor.uid else "system",
                "reason": reason,
                "at": now,
            },
        },
        state_field="paymentStatus",
    )
