"""The video session: started by the claiming helper, joined by the customer, ended once.

A session transition and the request transition it causes are written in one transaction;
ending a session settles the hold (capture on `resolved`, release otherwise) after the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homepro.domain import writes
from homepro.domain.attention import session_timed_out
from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidTransition
from homepro.domain.lifecycle import Transition, claim_ended, hold_settlement
from homepro.domain.models import (
    Actor,
    Category,
    Outcome,
    PaymentOwed,
    RequestDoc,
    Role,
    SessionDoc,
)
from homepro.domain.states import (
    REQUEST,
    SESSION,
    PaymentStatus,
    RequestAction,
    RequestStatus,
    SessionAction,
    SessionStatus,
    transition,
)

# The safety checklist a helper confirms before a session starts (`config/checklists`
# overrides it; the backend writes these defaults there when the document is missing).
DEFAULT_CHECKLISTS: dict[str, list[str]] = {
    Category.PLUMBING.value: ["water_shutoff_located", "area_clear", "customer_ready"],
    Category.ELECTRICAL.value: ["breaker_off", "area_dry", "customer_ready"],
    Category.HVAC.value: ["power_off", "area_clear", "customer_ready"],
    Category.APPLIANCE.value: ["unplugged", "area_clear", "customer_ready"],
    Category.CARPENTRY.value: ["eye_protection", "area_clear", "customer_ready"],
    Category.GENERAL.value: ["area_clear", "customer_ready"],
}


# Both parties of an active session are told this long before SESSION_MAX_MINUTES ends it.
SESSION_WARNING_MINUTES = 10


@dataclass(frozen=True)
class JoinLinks:
    """A session's provider links, as `sessionLinks/{sessionId}` keeps them."""

    customer_join_url: str
    helper_join_url: str


@dataclass(frozen=True)
class VideoRoom:
    provider: str
    provider_session_id: str
    customer_join_url: str
    helper_join_url: str


@dataclass(frozen=True)
class SessionChange:
    """One session transition: the fields it writes and its audit event (under the request)."""

    event_type: str
    from_status: SessionStatus
    to_status: SessionStatus
    actor: Actor
    changes: Mapping[str, Any] = field(default_factory=dict)
    request: Transition | None = None


def session_links_path(session_id: str) -> str:
    """`sessionLinks/{sessionId}` (server only): the provider's join links. No document a client
    reads holds them: the customer gets theirs from `join_session` (which makes the session
    `active`), the helper theirs from `start_session`."""
    return f"sessionLinks/{session_id}"


def session_id_for(request_id: str) -> str:
    """A request has at most one session: a retried start finds the same one."""
    return f"s-{request_id}"


def missing_items(required: list[str], checklist: Mapping[str, bool]) -> list[str]:
    return [item for item in required if checklist.get(item) is not True]


def check_start(
    request: RequestDoc, actor: Actor, checklist: Mapping[str, bool], required: list[str]
) -> RequestStatus:
    """Whether this helper may start this request's session now; the request's next state."""
    if actor.role != Role.HELPER or actor.uid != request.helper_id:
        raise Forbidden("only the helper holding this claim can start its session")
    to_status = transition(REQUEST, request.status, RequestAction.START_SESSION)
    missing = missing_items(required, checklist)
    if missing:
        raise FailedPrecondition(f"checklist incomplete: {', '.join(missing)}")
    return to_status


def plan_start(
    request: RequestDoc,
    actor: Actor,
    now: datetime,
    room: VideoRoom,
    checklist: Mapping[str, bool],
    required: list[str],
) -> Transition:
    """The claiming helper starts the session: request `in_session`, session `waiting`."""
    to_status = check_start(request, actor, checklist, required)
    session_id = session_id_for(request.id)
    session = {
        "requestId": request.id,
        "customerId": request.customer_id,
        "helperId": actor.uid,
        "status": SessionStatus.WAITING.value,
        "provider": room.provider,
        "providerSessionId": room.provider_session_id,
        "checklist": dict(checklist),
        "createdAt": now,
        "waitingAt": now,
        "version": 1,
    }
    return Transition(
        event_type="session_started",
        from_status=request.status,
        to_status=to_status,
        actor=actor,
        changes={"sessionId": session_id},
        writes=(
            writes.create(f"sessions/{session_id}", session),
            writes.create(
                session_links_path(session_id),
                {
                    "customerJoinUrl": room.customer_join_url,
                    "helperJoinUrl": room.helper_join_url,
                    "createdAt": now,
                },
            ),
        ),
    )


def plan_join(
    session: SessionDoc, request: RequestDoc, actor: Actor, now: datetime
) -> SessionChange:
    if actor.role != Role.CUSTOMER or actor.uid != session.customer_id:
        raise Forbidden("only the customer of this session can join it")
    to_status = transition(SESSION, session.status, SessionAction.JOIN)
    return SessionChange("session_joined", session.status, to_status, actor, {"activeAt": now})


def plan_end(
    session: SessionDoc,
    request: RequestDoc,
    actor: Actor,
    now: datetime,
    outcome: Outcome,
    notes: str | None = None,
) -> SessionChange:
    """The helper ends the session (a waiting one only as `no_show`); the request completes and
    its hold is owed a capture (`resolved`) or a release."""
    system = actor.role == "system"
    if not system and (actor.role != Role.HELPER or actor.uid != session.helper_id):
        raise Forbidden("only the helper of this session can end it")
    if session.status == SessionStatus.WAITING:
        if outcome != Outcome.NO_SHOW:
            raise FailedPrecondition("the customer has not joined: a waiting session ends no_show")
        to_status = transition(SESSION, session.status, SessionAction.NO_SHOW)
    else:
        to_status = transition(SESSION, session.status, SessionAction.END)
    settle: dict[str, Any]
    if outcome == Outcome.RESOLVED and request.payment_status == PaymentStatus.AUTHORIZED:
        settle = {"paymentOwed": PaymentOwed.CAPTURE.value}
    else:
        settle = hold_settlement(request)
    changes, completed = _ended(session, request, actor, outcome, now, settle)
    if notes:
        changes["notes"] = notes
    return SessionChange("session_ended", session.status, to_status, actor, changes, completed)


def _ended(
    session: SessionDoc,
    request: RequestDoc,
    actor: Actor,
    outcome: Outcome,
    now: datetime,
    settle: dict[str, Any],
) -> tuple[dict[str, Any], Transition]:
    """An ended session's fields, and its request's completion with `settle` (what the hold
    owes), which ends the helper's claim."""
    started = session.active_at or session.waiting_at or now
    changes: dict[str, Any] = {
        "endedAt": now,
        "outcome": outcome.value,
        "durationSeconds": max(0, int((now - started).total_seconds())),
    }
    completed = Transition(
        event_type="request_completed",
        from_status=request.status,
        to_status=transition(REQUEST, request.status, RequestAction.COMPLETE),
        actor=actor,
        reason=outcome.value,
        changes={"completedAt": now, "outcome": outcome.value, **settle},
        writes=claim_ended(request),
    )
    return changes, completed


def _active_since_before(session: SessionDoc, cutoff: datetime) -> None:
    if session.status != SessionStatus.ACTIVE:
        raise InvalidTransition(f"the session is {session.status.value}, not active")
    if session.active_at is None or session.active_at > cutoff:
        raise InvalidTransition("the session has not run that long")


def plan_warn(
    session: SessionDoc, request: RequestDoc, now: datetime, cutoff: datetime
) -> SessionChange:
    """An active session since before `cutoff` (SESSION_MAX_MINUTES less the warning) is marked
    warned, once: the sweep then tells both parties (their inbox items make it once each)."""
    _active_since_before(session, cutoff)
    if session.warned_at is not None:
        raise InvalidTransition("both parties were warned already")
    return SessionChange(
        "session_ending_warned",
        session.status,
        session.status,
        Actor.system(),
        {"warnedAt": now},
    )


def plan_time_out(
    session: SessionDoc,
    request: RequestDoc,
    now: datetime,
    cutoff: datetime,
    decision_hours: int,
) -> SessionChange:
    """An active session since before `cutoff` (SESSION_MAX_MINUTES ago) ends `timed_out`; the
    request completes with that outcome. Nobody said whether help was given: the hold stays
    held and the request carries `paymentAttention` until an admin decides, or the sweep
    releases it `decision_hours` from now."""
    _active_since_before(session, cutoff)
    to_status = transition(SESSION, session.status, SessionAction.TIME_OUT)
    settle: dict[str, Any]
    if request.payment_status == PaymentStatus.AUTHORIZED and request.payment_intent_id:
        release_by = now + timedelta(hours=decision_hours)
        settle = {"paymentAttention": session_timed_out(now, release_by)}
    else:
        settle = hold_settlement(request)
    changes, completed = _ended(session, request, Actor.system(), Outcome.TIMED_OUT, now, settle)
    return SessionChange(
        "session_timed_out", session.status, to_status, Actor.system(), changes, completed
    )
