"""Timers per request: a named `requesttimer` task for each deadline of the state just entered.

Entering a state with deadlines (`domain.timers`) schedules one task per deadline, named
`timer-{requestId}-{kind}-{dueEpochMilliseconds}`, for its due time: a second schedule of the
same deadline is refused by its name. At run time the task re-reads the request (and its
session) and, if the deadline is still one of its current ones and due, does in one
transaction what the sweep would do for it (the sweeps' own per-request plans and per-session
steps); else nothing. The sweeps stay as the backstop: a task not enqueued (an EnqueueError, a
worker that died first) or early is the next sweep's.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from homepro.domain.errors import InvalidInput, InvalidTransition, NotFound
from homepro.domain.lifecycle import Transition
from homepro.domain.models import RequestDoc, SessionDoc
from homepro.domain.policy import Policy
from homepro.domain.states import RequestStatus
from homepro.domain.timers import (
    SESSION_KINDS,
    Timer,
    TimerKind,
    is_current,
    plan_pending,
    plan_stale_claim,
    plan_unpaid,
    request_timers,
    session_timers,
)
from homepro.services.context import Context
from homepro.services.ports import EnqueueError

log = logging.getLogger(__name__)

TIMER_QUEUE = "requesttimer"  # the task queue function's name (no `_`: Cloud Tasks ids)
# A task may be dispatched a hair before its time: within this it is run as at its due time.
EARLY_TOLERANCE = timedelta(seconds=1)
_SAFE_ID = re.compile(r"^[A-Za-z0-9-]{1,200}$")

RequestPlan = Callable[[RequestDoc, Policy, datetime], Transition]
REQUEST_PLANS: dict[TimerKind, RequestPlan] = {
    TimerKind.ESCALATION: plan_pending,
    TimerKind.EXPIRY: plan_pending,
    TimerKind.UNPAID_EXPIRY: plan_unpaid,
    TimerKind.CLAIM_TIMEOUT: plan_stale_claim,
}


def timer_task_id(request_id: str, timer: Timer) -> str:
    """`timer-{requestId}-{kind}-{dueEpochMilliseconds}` (a request id outside `[A-Za-z0-9-]`
    is named by its digest): one name per deadline, so a repeat is refused."""
    safe = request_id if _SAFE_ID.match(request_id) else _digest(request_id)
    return f"timer-{safe}-{timer.kind.value}-{round(timer.due.timestamp() * 1000)}"


def _digest(request_id: str) -> str:
    return hashlib.sha256(request_id.encode()).hexdigest()[:32]


def timer_payload(request_id: str, timer: Timer) -> dict[str, str]:
    return {"requestId": request_id, "kind": timer.kind.value, "due": timer.due.isoformat()}


def schedule_timers(ctx: Context, before: RequestDoc | None, after: RequestDoc | None) -> int:
    """The tasks of the deadlines `after` has and `before` had not (before None: a request just
    created), for a transition (a new `version`) only: a document edited outside one keeps the
    sweep as its timer. A request that entered its session schedules the session's (its join
    timeout). Returns how many were enqueued now (0 with no queue)."""
    if ctx.tasks is None or after is None:
        return 0
    if before is not None and before.version == after.version:
        return 0
    old = request_timers(before, ctx.policy) if before is not None else ()
    new = [t for t in request_timers(after, ctx.policy) if t not in old]
    scheduled = sum(_schedule(ctx, after.id, timer) for timer in new)
    entered = before is None or before.status != after.status
    if entered and after.status == RequestStatus.IN_SESSION and after.session_id:
        session = ctx.sessions.get_session(after.session_id)
        if session is not None:
            scheduled += schedule_session_timers(ctx, session)
    return scheduled


def schedule_session_timers(ctx: Context, session: SessionDoc) -> int:
    """The tasks of a session's deadlines (it started waiting, or became active)."""
    if ctx.tasks is None:
        return 0
    return sum(_schedule(ctx, session.request_id, t) for t in session_timers(session, ctx.policy))


def _schedule(ctx: Context, request_id: str, timer: Timer) -> bool:
    """One named task for `timer`; a refused name is fine (scheduled already), a failure is
    logged and left to the sweep."""
    assert ctx.tasks is not None
    task_id = timer_task_id(request_id, timer)
    try:
        taken = ctx.tasks.enqueue(
            TIMER_QUEUE, timer_payload(request_id, timer), task_id=task_id, schedule_time=timer.due
        )
    except EnqueueError as err:
        log.warning(
            "timer not scheduled, left to the sweep",
            extra={"request_id": request_id, "task_id": task_id, "error": str(err)},
        )
        return False
    return taken


def parse_payload(payload: Mapping[str, Any]) -> tuple[str, Timer]:
    """`{requestId, kind, due}` of a timer task, or InvalidInput naming the field."""
    request_id = payload.get("requestId")
    if not isinstance(request_id, str) or not request_id or "/" in request_id:
        raise InvalidInput("requestId", "a timer task names its request (a document id)")
    kind = payload.get("kind")
    if not isinstance(kind, str) or kind not in {k.value for k in TimerKind}:
        known = ", ".join(k.value for k in TimerKind)
        raise InvalidInput("kind", f"must be one of {known}")
    due = payload.get("due")
    try:
        moment = datetime.fromisoformat(due) if isinstance(due, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("due", "an ISO-8601 time with its offset")
    return request_id, Timer(TimerKind(kind), moment)


def run_timer(ctx: Context, payload: Mapping[str, Any]) -> str:
    """A `requesttimer` task: `early` (not yet due: the sweep is the backstop), `moved_on` (the
    deadline is not the request's any more: claimed, cancelled, done by the sweep...), or
    what it did (the audit event type of the transition, `session_ending_warned`)."""
    request_id, timer = parse_payload(payload)
    now = ctx.clock.now()
    if now < timer.due - EARLY_TOLERANCE:
        return "early"
    at = max(now, timer.due)  # a hair early runs as at its due time: the plans agree then
    try:
        if timer.kind in SESSION_KINDS:
            return _run_session_timer(ctx, request_id, timer, at)
        return _run_request_timer(ctx, request_id, timer, at)
    except (InvalidTransition, NotFound):
        return "moved_on"


def _run_request_timer(ctx: Context, request_id: str, timer: Timer, at: datetime) -> str:
    plan_due = REQUEST_PLANS[timer.kind]
    policy = ctx.policy
    read: list[RequestDoc] = []  # the request as the (last) attempt of the transaction read it

    def plan(request: RequestDoc) -> Transition:
        read[:] = [request]
        if not is_current(timer, request_timers(request, policy)):
            raise InvalidTransition("the deadline is not the request's any more")
        return plan_due(request, policy, at)

    after, transition = ctx.requests.apply(request_id, plan, at)
    _settle_owed(ctx, after)
    schedule_timers(ctx, read[0], after)  # the next escalation, or a release's deadlines
    return transition.event_type


def _run_session_timer(ctx: Context, request_id: str, timer: Timer, at: datetime) -> str:
    from homepro.services import sessions

    request = ctx.requests.get_request(request_id)
    if request is None or request.session_id is None:
        raise NotFound(f"request {request_id} has no session")
    policy = ctx.policy

    def check(session: SessionDoc) -> None:
        if not is_current(timer, session_timers(session, policy)):
            raise InvalidTransition("the deadline is not the session's any more")

    if timer.kind == TimerKind.SESSION_WARNING:
        sessions.warn_ending(ctx, request.session_id, at, check)
        return "session_ending_warned"
    if timer.kind == TimerKind.JOIN_TIMEOUT:
        after = sessions.end_unjoined(ctx, request.session_id, at, check)
        outcome = "session_no_show"
    else:
        after = sessions.time_out(ctx, request.session_id, at, check)
        outcome = "session_timed_out"
    _settle_owed(ctx, after)
    return outcome


def _settle_owed(ctx: Context, request: RequestDoc) -> None:
    """A settlement the transition owes goes as the sweeps send theirs (the settle queue)."""
    if request.payment_owed is None:
        return
    from homepro.services import sweeps

    result = sweeps.SweepResult()
    sweeps.settle_owed(ctx, result, [request], time.monotonic() + ctx.tuning.sweep_budget_seconds)
    log.info("timer settlement", extra={"request_id": request.id, "counts": result.counts})
