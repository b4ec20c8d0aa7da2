"""What the Firestore triggers do when a request is created or changes: start the round the
transition calls for, send the notifications of the contract, record analytics.

Triggers run at least once: everything here is keyed by what happened (the request, its
`version`, its payment state, the round's cause), so a duplicate or retried event sends and
writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebase_functions import logger

from homepro.domain import notifications
from homepro.domain.dispatch import round_key
from homepro.domain.lifecycle import audit_event_id
from homepro.domain.models import AnalyticsDoc, RequestDoc
from homepro.domain.notifications import Notification
from homepro.domain.states import PaymentStatus, RequestStatus
from homepro.services.context import Context
from homepro.services.dispatch import run_round
from homepro.services.notify import notify

# Request status reached -> the analytics event it records.
_STATUS_EVENTS: dict[RequestStatus, str] = {
    RequestStatus.CLAIMED: "request_claimed",
    RequestStatus.CANCELLED: "request_cancelled",
    RequestStatus.EXPIRED: "request_expired",
    RequestStatus.IN_SESSION: "session_started",
    RequestStatus.COMPLETED: "session_ended",
}
_PAYMENT_EVENTS: dict[PaymentStatus, str] = {
    PaymentStatus.AUTHORIZED: "payment_authorized",
    PaymentStatus.CAPTURED: "payment_captured",
    PaymentStatus.RELEASED: "payment_released",
    PaymentStatus.REFUNDED: "payment_refunded",
}


def _parse(request_id: str, data: Mapping[str, Any] | None) -> RequestDoc | None:
    if data is None:
        return None
    return RequestDoc.model_validate({**data, "id": request_id})


def _metadata(request: RequestDoc) -> dict[str, Any]:
    found: dict[str, Any] = {
        "category": request.category.value,
        "amount": request.amount,
        "status": request.status.value,
        "paymentStatus": request.payment_status.value,
        "releaseCount": request.release_count,
        "dispatchRound": request.dispatch_round,
        "version": request.version,
    }
    # Durations the 15-minute promise is measured by (seconds since it became dispatchable).
    start = request.dispatchable_at
    ended = {
        RequestStatus.CLAIMED: ("timeToClaimSeconds", request.claimed_at),
        RequestStatus.EXPIRED: ("waitedSeconds", request.expired_at),
        RequestStatus.CANCELLED: ("waitedSeconds", request.cancelled_at),
        RequestStatus.COMPLETED: ("totalSeconds", request.completed_at),
    }.get(request.status)
    if start is not None and ended is not None and ended[1] is not None:
        found[ended[0]] = round((ended[1] - start).total_seconds(), 3)
    if request.outcome is not None:
        found["outcome"] = request.outcome.value
    if request.refunded_amount is not None:
        found["refundedAmount"] = request.refunded_amount
    return found


def _record(
    ctx: Context,
    event_id: str,
    kind: str,
    request: RequestDoc,
    user_id: str | None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    written = ctx.store.record_analytics_once(
        event_id,
        AnalyticsDoc(
            type=kind,
            request_id=request.id,
            session_id=request.session_id,
            user_id=user_id,
            metadata={**_metadata(request), **(extra or {})},
            timestamp=request.updated_at or request.created_at or ctx.clock.now(),
        ),
    )
    if not written:
        logger.info("analytics event already recorded", event_id=event_id, request_id=request.id)


def request_created(ctx: Context, request_id: str, data: Mapping[str, Any] | None) -> None:
    """A new request: record it, and send the initial round if it is dispatchable already."""
    request = _parse(request_id, data)
    if request is None:
        return
    _record(ctx, f"request_created-{request.id}", "request_created", request, request.customer_id)
    if request.payment_status == PaymentStatus.AUTHORIZED:
        _record(ctx, f"payment_authorized-{request.id}", "payment_authorized", request, None)
    key = round_key(None, request)
    if key is not None:
        run_round(ctx, request.id, key)


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
    key = round_key(before, after, redispatch_on_release=ctx.policy.redispatch_on_release)
    if key is not None:
        run_round(ctx, after.id, key)
    if after.status != before.status:
        for uids, note in notifications_for(ctx, before, after):
            notify(ctx, uids, note)
    if after.status != before.status:
        if after.status == RequestStatus.PENDING and before.status == RequestStatus.CLAIMED:
            kind: str | None = "request_released"
        else:
            kind = _STATUS_EVENTS.get(after.status)
        if kind is not None:
            extra = _session_metadata(ctx, after) if kind == "session_ended" else None
            user_id = _user_of(before, after)
            _record(ctx, f"{kind}-{after.id}-v{after.version}", kind, after, user_id, extra)
    if after.payment_status != before.payment_status:
        kind = _PAYMENT_EVENTS.get(after.payment_status)
        if kind is not None:
            _record(ctx, f"{kind}-{after.id}", kind, after, after.customer_id)


def _user_of(before: RequestDoc, after: RequestDoc) -> str | None:
    """The person a transition's event is about: the helper who claimed, lost the claim,
    started or ended the session; whoever cancelled (None when the system did); nobody for an
    expiry."""
    match after.status:
        case RequestStatus.PENDING:
            return before.helper_id
        case RequestStatus.CLAIMED | RequestStatus.IN_SESSION | RequestStatus.COMPLETED:
            return after.helper_id
        case RequestStatus.CANCELLED if after.cancelled_by != "system":
            return after.cancelled_by
    return None


def _session_metadata(ctx: Context, request: RequestDoc) -> dict[str, Any]:
    """How long the video session ran (0 for a no-show) and whether the customer joined."""
    session = ctx.store.get_session(request.session_id) if request.session_id else None
    if session is None:
        return {}
    return {
        "sessionSeconds": session.duration_seconds or 0,
        "customerJoined": session.active_at is not None,
    }


def _by_system(ctx: Context, request: RequestDoc, event_type: str) -> bool:
    """Whether the transition that produced `request` was made by a sweep (not by a person)."""
    event = ctx.store.get_event(request.id, audit_event_id(request.version, event_type))
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
            others = sorted(ctx.store.round_targets(after.id) - {after.helper_id})
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
            session = ctx.store.get_session(after.session_id) if after.session_id else None
            join_url = session.customer_join_url if session else None
            out.append(([after.customer_id], notifications.session_invite(after, join_url)))
        case RequestStatus.COMPLETED:
            out.append(([after.customer_id], notifications.session_complete(after)))
    return out
