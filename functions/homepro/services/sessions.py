"""Sessions: the helper starts one (after the safety checklist), the customer joins, the
helper ends it; a session nobody joined ends `no_show` after JOIN_TIMEOUT_MINUTES; an active
one is warned SESSION_WARNING_MINUTES before SESSION_MAX_MINUTES and ends `timed_out` then."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from homepro.domain import notifications
from homepro.domain.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from homepro.domain.models import (
    Actor,
    EndSessionInput,
    Outcome,
    RequestDoc,
    Role,
    SessionDoc,
    SessionRef,
    StartSessionInput,
)
from homepro.domain.sessions import (
    DEFAULT_CHECKLISTS,
    SessionChange,
    check_start,
    plan_end,
    plan_join,
    plan_start,
    plan_time_out,
    plan_warn,
    session_id_for,
)
from homepro.domain.states import RequestStatus, SessionStatus
from homepro.domain.timers import warning_minutes
from homepro.services.concurrency import bounded_map
from homepro.services.context import Context
from homepro.services.notify import notify
from homepro.services.payments import settle

log = logging.getLogger(__name__)


def start_session(ctx: Context, actor: Actor, data: StartSessionInput) -> dict[str, Any]:
    """The claiming helper, checklist done, opens the video room; the customer is invited."""
    if actor.role != Role.HELPER:
        raise Forbidden("only the helper holding this claim can start its session")
    request = ctx.requests.get_request(data.request_id)
    if request is None:
        raise NotFound(f"request {data.request_id} does not exist")
    again = _started_already(ctx, actor, request)
    if again is not None:
        return again
    required = ctx.sessions.checklists(DEFAULT_CHECKLISTS).get(request.category.value, [])
    now = ctx.clock.now()
    unknown = sorted(set(data.checklist) - set(required))
    if unknown:  # only the category's items are stored with the session
        raise InvalidInput("checklist", f"not items of the checklist: {', '.join(unknown)}")
    check_start(request, actor, data.checklist, required)  # before making a room for nothing
    session_id = session_id_for(request.id)
    room = ctx.video.create(session_id, request.id, f"HomePro {request.category.value} help")
    request, _ = ctx.requests.apply(
        request.id, lambda r: plan_start(r, actor, now, room, data.checklist, required), now
    )
    return {"sessionId": session_id, "status": "waiting", "helperJoinUrl": room.helper_join_url}


def _schedule_timers(ctx: Context, session: SessionDoc) -> None:
    """The deadlines of a session that just became active, as named tasks (`services.timers`,
    which runs this module's steps: imported when used). The join timeout of a waiting one is
    scheduled by the trigger of its request's change to `in_session`. With no queue, nothing:
    the sweep is the timer."""
    if ctx.tasks is None:
        return
    from homepro.services.timers import schedule_session_timers

    schedule_session_timers(ctx, session)


def _started_already(ctx: Context, actor: Actor, request: RequestDoc) -> dict[str, Any] | None:
    """The helper starting the session they started already (a reload): their link again."""
    if request.status != RequestStatus.IN_SESSION or request.session_id is None:
        return None
    if actor.uid is None or actor.uid != request.helper_id:
        return None
    session = ctx.sessions.get_session(request.session_id)
    links = ctx.sessions.get_links(request.session_id)
    if session is None or links is None or session.status == SessionStatus.ENDED:
        return None
    return {
        "sessionId": session.id,
        "status": session.status.value,
        "helperJoinUrl": links.helper_join_url,
    }


def join_session(ctx: Context, actor: Actor, data: SessionRef) -> dict[str, Any]:
    """The customer joins: the session becomes `active` and they get their link, the only way
    a customer gets it; joining an active session again (a reload) answers the link again."""
    now = ctx.clock.now()
    session = ctx.sessions.get_session(data.session_id)
    if session is None:
        raise NotFound(f"session {data.session_id} does not exist")
    rejoining = (
        session.status == SessionStatus.ACTIVE
        and actor.role == Role.CUSTOMER
        and actor.uid == session.customer_id
    )
    if not rejoining:
        session, _ = ctx.sessions.apply_session(
            data.session_id, lambda s, r: plan_join(s, r, actor, now), now
        )
        _schedule_timers(ctx, session)  # the warning and the session maximum
    links = ctx.sessions.get_links(session.id)
    if links is None:
        raise NotFound(f"session {session.id} has no video room")
    return {
        "sessionId": session.id,
        "status": session.status.value,
        "customerJoinUrl": links.customer_join_url,
    }


def end_session(ctx: Context, actor: Actor, data: EndSessionInput) -> dict[str, Any]:
    """The helper ends the session; the hold is captured (resolved) or released before we answer."""
    now = ctx.clock.now()
    outcome = Outcome(data.outcome)

    def plan(session: SessionDoc, request: RequestDoc) -> SessionChange:
        return plan_end(session, request, actor, now, outcome, data.notes)

    session, request = ctx.sessions.apply_session(data.session_id, plan, now)
    request = settle(ctx, request)
    return {
        "sessionId": session.id,
        "status": session.status.value,
        "paymentStatus": request.payment_status.value,
    }


SessionCheck = Callable[[SessionDoc], None]


def end_unjoined(
    ctx: Context, session_id: str, now: datetime, check: SessionCheck | None = None
) -> RequestDoc:
    """One session nobody joined ends `no_show` (after `check`, which raises InvalidTransition
    when the deadline is not this session's any more); the request as written."""

    def plan(session: SessionDoc, request: RequestDoc) -> SessionChange:
        if check is not None:
            check(session)
        return plan_end(session, request, Actor.system(), now, Outcome.NO_SHOW)

    _, request = ctx.sessions.apply_session(session_id, plan, now)
    return request


def end_unjoined_sessions(ctx: Context) -> list[RequestDoc]:
    """Sessions still waiting after JOIN_TIMEOUT_MINUTES end `no_show`, page by page; returns
    the requests whose holds are now owed a release."""
    now = ctx.clock.now()
    cutoff = now - timedelta(minutes=ctx.policy.join_timeout_minutes)

    def one(session_id: str) -> RequestDoc | None:
        try:
            request = end_unjoined(ctx, session_id, now)
        except InvalidTransition:  # joined or ended since the query ran
            return None
        return request if request.payment_owed is not None else None

    found = ctx.sessions.waiting_session_ids(cutoff, ctx.tuning.waiting_page_size)
    return [r for r in bounded_map(one, found, ctx.tuning.sweep_concurrency) if r is not None]


def time_out(
    ctx: Context, session_id: str, now: datetime, check: SessionCheck | None = None
) -> RequestDoc:
    """One session active for SESSION_MAX_MINUTES ends `timed_out`: the request completes, its
    hold stays held with `paymentAttention` (an admin decides) and an ALERT says so."""
    policy = ctx.policy
    cutoff = now - timedelta(minutes=policy.session_max_minutes)

    def plan(session: SessionDoc, request: RequestDoc) -> SessionChange:
        if check is not None:
            check(session)
        return plan_time_out(session, request, now, cutoff, policy.admin_decision_hours)

    _, request = ctx.sessions.apply_session(session_id, plan, now)
    if request.payment_attention is not None:
        log.error(
            "ALERT: a session timed out with the card held; an admin captures or releases "
            "it (admin_settle), else it is released at paymentAttention.releaseBy",
            extra={
                "request_id": request.id,
                "session_id": session_id,
                "release_by": request.payment_attention.release_by,
            },
        )
    return request


def end_timed_out_sessions(ctx: Context) -> list[RequestDoc]:
    """Sessions active for SESSION_MAX_MINUTES end `timed_out` (`time_out`), page by page.
    Returns those requests (any that owe a settlement instead, with no hold to keep, settle
    with the rest)."""
    now = ctx.clock.now()
    cutoff = now - timedelta(minutes=ctx.policy.session_max_minutes)

    def one(session_id: str) -> RequestDoc | None:
        try:
            return time_out(ctx, session_id, now)
        except InvalidTransition:  # ended since the query ran
            return None

    found = ctx.sessions.active_session_ids(cutoff, ctx.tuning.waiting_page_size)
    return [r for r in bounded_map(one, found, ctx.tuning.sweep_concurrency) if r is not None]


def warn_ending(
    ctx: Context, session_id: str, now: datetime, check: SessionCheck | None = None
) -> RequestDoc:
    """Mark one session active for SESSION_MAX_MINUTES less SESSION_WARNING_MINUTES warned,
    once (the commit that sets `warnedAt` decides it; InvalidTransition if it was warned
    already), then tell both parties (`tell_ending`)."""
    cutoff = now - timedelta(minutes=ctx.policy.session_max_minutes - warning_minutes(ctx.policy))

    def plan(session: SessionDoc, request: RequestDoc) -> SessionChange:
        if check is not None:
            check(session)
        return plan_warn(session, request, now, cutoff)

    _, request = ctx.sessions.apply_session(session_id, plan, now)
    tell_ending(ctx, request)
    return request


def tell_ending(ctx: Context, request: RequestDoc) -> None:
    """Both parties are told the session ends soon; each party's inbox item (keyed by the
    session) makes a repeat, or a retry after a crash, send nothing twice."""
    for uid, note in notifications.session_ending(request, warning_minutes(ctx.policy)):
        notify(ctx, [uid], note)


def warn_ending_sessions(ctx: Context) -> int:
    """Both parties of every session active for SESSION_MAX_MINUTES less SESSION_WARNING_MINUTES
    are told it ends soon, once (`warn_ending`); a session warned already is told again (a
    no-op, unless a crash came between its commit and the telling). Returns the sessions
    warned now."""
    now = ctx.clock.now()
    policy = ctx.policy
    cutoff = now - timedelta(minutes=policy.session_max_minutes - warning_minutes(policy))

    def one(session_id: str) -> bool:
        try:
            warn_ending(ctx, session_id, now)
            return True
        except InvalidTransition:  # warned already (maybe not told: telling again is a no-op)
            session = ctx.sessions.get_session(session_id)
            found = ctx.requests.get_request(session.request_id) if session else None
            if session is None or found is None or session.status != SessionStatus.ACTIVE:
                return False
            tell_ending(ctx, found)
            return False

    found = ctx.sessions.active_session_ids(cutoff, ctx.tuning.waiting_page_size)
    return sum(bounded_map(one, found, ctx.tuning.sweep_concurrency))
