"""The deadlines a request's state has, and what is due at each: one rule for timers and sweeps.

Each deadline is a `Timer(kind, due)`, computed from the same policy fields the sweeps use, so
a task scheduled for `due` and the sweep's cutoff agree to the microsecond. The request plans
here (`plan_pending`, `plan_stale_claim`, `plan_unpaid`) are the sweeps' per-request decisions:
a sweep runs them on what its query found, a timer on the one request it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from homepro.domain.dispatch import escalation_due
from homepro.domain.errors import InvalidTransition
from homepro.domain.lifecycle import (
    CLAIM_TIMEOUT,
    PENDING_TIMEOUT,
    UNPAID_TIMEOUT,
    Transition,
    plan_escalate,
    plan_expire,
    plan_release,
)
from homepro.domain.models import Actor, RequestDoc, SessionDoc
from homepro.domain.policy import Policy
from homepro.domain.sessions import SESSION_WARNING_MINUTES
from homepro.domain.states import PaymentStatus, RequestStatus, SessionStatus


class TimerKind(StrEnum):
    """What falls due (values are task-id safe: `[a-z-]`)."""

    ESCALATION = "escalation"  # the next escalation round of a request still pending
    EXPIRY = "expiry"  # PENDING_TIMEOUT_MINUTES after `pendingSince`
    UNPAID_EXPIRY = "unpaid-expiry"  # PENDING_TIMEOUT_MINUTES after `createdAt`, card not held
    CLAIM_TIMEOUT = "claim-timeout"  # CLAIM_TIMEOUT_MINUTES after `claimedAt`
    JOIN_TIMEOUT = "join-timeout"  # JOIN_TIMEOUT_MINUTES after the session's `waitingAt`
    SESSION_WARNING = "session-warning"  # SESSION_WARNING_MINUTES before the session maximum
    SESSION_MAX = "session-max"  # SESSION_MAX_MINUTES after the session's `activeAt`


SESSION_KINDS = frozenset(
    {TimerKind.JOIN_TIMEOUT, TimerKind.SESSION_WARNING, TimerKind.SESSION_MAX}
)


@dataclass(frozen=True)
class Timer:
    kind: TimerKind
    due: datetime


def request_timers(request: RequestDoc, policy: Policy) -> tuple[Timer, ...]:
    """The deadlines of the request's current state (its session's are `session_timers`)."""
    found: list[Timer] = []
    if request.status == RequestStatus.PENDING:
        if request.payment_status == PaymentStatus.REQUIRES_PAYMENT and request.created_at:
            timeout = timedelta(minutes=policy.pending_timeout_minutes)
            found.append(Timer(TimerKind.UNPAID_EXPIRY, request.created_at + timeout))
        if request.pending_since is not None:
            expiry = pending_expiry(request, policy)
            escalation = next_escalation(request, policy)
            if request.dispatchable and escalation is not None and escalation < expiry:
                found.append(Timer(TimerKind.ESCALATION, escalation))
            found.append(Timer(TimerKind.EXPIRY, expiry))
    elif request.status == RequestStatus.CLAIMED and request.claimed_at is not None:
        timeout = timedelta(minutes=policy.claim_timeout_minutes)
        found.append(Timer(TimerKind.CLAIM_TIMEOUT, request.claimed_at + timeout))
    return tuple(found)


def session_timers(session: SessionDoc, policy: Policy) -> tuple[Timer, ...]:
    """The deadlines of the session's current state: nobody joined, or it runs too long."""
    if session.status == SessionStatus.WAITING and session.waiting_at is not None:
        timeout = timedelta(minutes=policy.join_timeout_minutes)
        return (Timer(TimerKind.JOIN_TIMEOUT, session.waiting_at + timeout),)
    if session.status == SessionStatus.ACTIVE and session.active_at is not None:
        limit = session.active_at + timedelta(minutes=policy.session_max_minutes)
        ending = Timer(TimerKind.SESSION_MAX, limit)
        if session.warned_at is not None:
            return (ending,)
        warning = limit - timedelta(minutes=warning_minutes(policy))
        return (Timer(TimerKind.SESSION_WARNING, warning), ending)
    return ()


def is_current(timer: Timer, current: tuple[Timer, ...]) -> bool:
    """Whether `timer` is still one of the deadlines (to the millisecond: Firestore keeps
    microseconds, a task's payload carries an ISO time)."""
    return any(
        t.kind == timer.kind and abs(t.due - timer.due) < timedelta(milliseconds=1) for t in current
    )


def pending_expiry(request: RequestDoc, policy: Policy) -> datetime:
    assert request.pending_since is not None
    return request.pending_since + timedelta(minutes=policy.pending_timeout_minutes)


def next_escalation(request: RequestDoc, policy: Policy) -> datetime | None:
    """When the request's next escalation falls due (the n-th `ESCALATION_MINUTES` after
    `pendingSince`), or None when escalation is off."""
    if request.pending_since is None or policy.escalation_minutes <= 0:
        return None
    step = timedelta(minutes=policy.escalation_minutes)
    return request.pending_since + (request.escalation + 1) * step


def warning_minutes(policy: Policy) -> int:
    """How long before SESSION_MAX_MINUTES both parties are warned (never before it starts)."""
    return min(SESSION_WARNING_MINUTES, policy.session_max_minutes)


# ---------------------------------------------------------------- what is due (sweeps, timers)


def plan_pending(request: RequestDoc, policy: Policy, now: datetime) -> Transition:
    """A pending request past PENDING_TIMEOUT_MINUTES since `pendingSince` expires; one still
    pending gets the escalation it has reached by `now` (the trigger sends the round)."""
    if request.status != RequestStatus.PENDING:
        raise InvalidTransition("request is no longer pending")
    if request.pending_since is not None and pending_expiry(request, policy) <= now:
        return plan_expire(request, Actor.system(), now, reason=PENDING_TIMEOUT)
    return plan_escalate(request, now, escalation_due(request, policy.escalation_minutes, now))


def plan_stale_claim(request: RequestDoc, policy: Policy, now: datetime) -> Transition:
    """A claim with no session after CLAIM_TIMEOUT_MINUTES goes back to pending (or expires)."""
    cutoff = now - timedelta(minutes=policy.claim_timeout_minutes)
    claimed_at = request.claimed_at
    if request.status != RequestStatus.CLAIMED or claimed_at is None or claimed_at > cutoff:
        raise InvalidTransition("claim is no longer stale")
    return plan_release(
        request, Actor.system(), now, max_releases=policy.max_releases, reason=CLAIM_TIMEOUT
    )


def plan_unpaid(request: RequestDoc, policy: Policy, now: datetime) -> Transition:
    """A request whose card was never held expires PENDING_TIMEOUT_MINUTES after it was made
    (the sweep's query found it by `createdAt`; a timer checks that here)."""
    if request.status != RequestStatus.PENDING or (
        request.payment_status != PaymentStatus.REQUIRES_PAYMENT
    ):
        raise InvalidTransition("request is no longer waiting for payment")
    cutoff = now - timedelta(minutes=policy.pending_timeout_minutes)
    if request.created_at is not None and request.created_at > cutoff:
        raise InvalidTransition("request is not yet past its payment deadline")
    return plan_expire(request, Actor.system(), now, reason=UNPAID_TIMEOUT)
