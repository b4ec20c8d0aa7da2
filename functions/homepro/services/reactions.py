"""What the Firestore triggers do when a request is created or changes: start the round the
transition calls for, send the notifications of the contract, record analytics.

Triggers run at least once: everything here is keyed by what happened (the request, its
`version`, its payment state, the round's cause), so a duplicate or retried event sends and
writes nothing twice. They run at most once too (firebase-functions cannot retry a Firestore
trigger): what a transition owes is also its outbox entry, written in its commit
(`domain/outbox.py`), which the trigger deletes when the work is done and a `drainoutbox`
task finishes if the trigger's worker died (`services/drain.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from homepro import faults
from homepro.domain import events, notifications, outbox
from homepro.domain.dispatch import round_key
from homepro.domain.events import Recorded
from homepro.domain.models import RequestDoc
from homepro.domain.notifications import Notification
from homepro.domain.states import RequestStatus
from homepro.services import timers
from homepro.services.context import Context
from homepro.services.dispatch import resume_round, run_round
from homepro.services.notify import notify
from homepro.services.outbox import backstop, take_round

log = logging.getLogger(__name__)


def _parse(request_id: str, data: Mapping[str, Any] | None) -> RequestDoc | None:
    if data is None:
        return None
    return RequestDoc.model_validate({**data, "id": request_id})


def _record(ctx: Context, recorded: list[Recorded]) -> None:
    for one in recorded:
        if not ctx.analytics.record_once(one.event_id, one.event):
            log.info(
                "analytics event already recorded",
                extra={"event_id": one.event_id, "request_id": one.event.request_id},
            )


def request_created(ctx: Context, request_id: str, data: Mapping[str, Any] | None) -> None:
    """A new request: record it, and send the initial round if it is dispatchable already."""
    request = _parse(request_id, data)
    if request is None:
        return
    _owed_work(ctx, request_id, request.version, None, data)


def request_updated(
    ctx: Context,
    request_id: str,
    before_data: Mapping[str, Any] | None,
    after_data: Mapping[str, Any] | None,
) -> None:
    """A request changed: the round and the notifications its transition calls for, once."""
    before, after = _parse(request_id, before_data), _parse(request_id, after_data)
    if before is None or after is None:
        return
    if after.version == before.version:  # not a transition (a round counted): nothing owed
        return
    _owed_work(ctx, request_id, after.version, before_data, after_data)


def _owed_work(
    ctx: Context,
    request_id: str,
    version: int,
    before_data: Mapping[str, Any] | None,
    after_data: Mapping[str, Any] | None,
) -> None:
    """The work a transition's outbox entry owes, done at once by its trigger, with the drain
    task that finishes it if this worker dies (scheduled OUTBOX_GRACE_SECONDS on, enqueued
    while the work runs: the first push does not wait for Cloud Tasks)."""
    faults.fault(faults.AFTER_COMMIT_BEFORE_OUTBOX)
    entry_id = outbox.transition_entry_id(request_id, version)
    with backstop(ctx, entry_id):
        transition_effects(ctx, request_id, before_data, after_data)
        ctx.outbox.finish(entry_id)


def transition_effects(
    ctx: Context,
    request_id: str,
    before_data: Mapping[str, Any] | None,
    after_data: Mapping[str, Any] | None,
    *,
    resumed: bool = False,
) -> None:
    """What a request's change from `before_data` (None: created) to `after_data` owes: its
    round, its notifications, its analytics events, the timer tasks of its deadlines. Each is
    keyed by what happened, so doing it again sends and writes nothing twice, except that a
    `resumed` run (its first worker died) notifies every recipient again: that worker may have
    died between noting a recipient and pushing to them."""
    before, after = _parse(request_id, before_data), _parse(request_id, after_data)
    if after is None:
        return
    if before is None:
        _record(ctx, events.created_analytics(after, ctx.clock.now()))
        key = round_key(None, after)
    else:
        key = round_key(before, after, redispatch_on_release=ctx.policy.redispatch_on_release)
    sent = run_round(ctx, after.id, key) if key is not None else None
    # a resumed transition's round reserved by the worker that died: resume it now (its own
    # entry would wait for a sweep), unless another drainer holds it
    if key is not None and sent is None and resumed and take_round(ctx, after.id, key):
        resume_round(ctx, after.id, key)
    if before is None:
        timers.schedule_timers(ctx, None, after)
        return
    if after.status != before.status:
        for uids, note in notifications_for(ctx, before, after):
            notify(ctx, uids, note, resend=resumed)
    session = None  # how the session went, for `session_ended`
    if events.status_event_kind(before, after) == "session_ended" and after.session_id:
        session = ctx.sessions.get_session(after.session_id)
    _record(ctx, events.changed_analytics(before, after, ctx.clock.now(), session))
    timers.schedule_timers(ctx, before, after)


def _by_system(ctx: Context, request: RequestDoc, event_type: str) -> bool:
    """Whether the transition that produced `request` was made by a sweep (not by a person)."""
    event = ctx.requests.get_event(request.id, events.audit_event_id(request.version, event_type))
    return event is not None and event.actor.role == "system"


def notifications_for(
    ctx: Context, before: RequestDoc, after: RequestDoc
) -> list[tuple[list[str], Notification]]:
    """Who is told what when a request moves from `before.status` to `after.status`."""
    out: list[tuple[list[str], Notification]] = []
    held_by = before.helper_id if before.status == RequestStatus.CLAIMED else None
    match after.status:
        case RequestStatus.CLAIMED:
            out.append(([after.customer_id], notifications.request_claimed(after)))
            others = sorted(ctx.dispatch.round_targets(after.id) - {after.helper_id})
            if others:
                out.append((others, notifications.request_taken(after)))
        case RequestStatus.PENDING if held_by and _by_system(ctx, after, "request_released"):
            out.append(([held_by], notifications.claim_released(after)))
        case RequestStatus.CANCELLED if held_by:
            out.append(([held_by], notifications.request_cancelled(after)))
        case RequestStatus.EXPIRED:
            out.append(([after.customer_id], notifications.request_expired(after)))
            if held_by and _by_system(ctx, after, "request_expired"):
                out.append(([held_by], notifications.claim_released(after)))
        case RequestStatus.IN_SESSION:
            out.append(([after.customer_id], notifications.session_invite(after)))
        case RequestStatus.COMPLETED:
            out.append(([after.customer_id], notifications.session_complete(after)))
    return out
