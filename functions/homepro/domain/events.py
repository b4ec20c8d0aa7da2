"""Every record of what happened, in one place: audit events, analytics events, their ids, and
the documents a dispatch round leaves (the round, its targets, the inbox item).

Adapters store exactly what these functions return; an id is fixed by what happened, so a
repeated trigger or a retried transaction names the same document again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homepro.domain.lifecycle import Transition
from homepro.domain.models import AnalyticsDoc, RequestDoc, SessionDoc
from homepro.domain.notifications import Notification
from homepro.domain.sessions import SessionChange
from homepro.domain.states import PaymentStatus, RequestStatus

# ---------------------------------------------------------------- audit events
# `requests/{id}/events/{eventId}`: one per transition, written in its commit.


def audit_event_id(version: int, event_type: str) -> str:
    """A request's audit events sort by the version they produced; two writers of one version
    collide (the second commit fails)."""
    return f"v{version:06d}-{event_type}"


def session_event_id(version: int, event_type: str) -> str:
    """A session's events sit in its request's trail, sorted by the session's version."""
    return f"s{version:06d}-{event_type}"


def transition_event(transition: Transition, now: datetime) -> dict[str, Any]:
    """The audit event of a request transition."""
    return {
        "type": transition.event_type,
        "from": transition.from_status.value,
        "to": transition.to_status.value,
        "actor": transition.actor.as_data(),
        "reason": transition.reason,
        "at": now,
    }


def created_event(customer_id: str, status: str, now: datetime) -> dict[str, Any]:
    """The audit event of a request's creation by its customer."""
    return {
        "type": "request_created",
        "from": None,
        "to": status,
        "actor": {"uid": customer_id, "role": "customer"},
        "reason": None,
        "at": now,
    }


def session_event(change: SessionChange, session_id: str, now: datetime) -> dict[str, Any]:
    """The audit event of a session transition (in its request's trail)."""
    return {
        "type": change.event_type,
        "from": change.from_status.value,
        "to": change.to_status.value,
        "actor": change.actor.as_data(),
        "reason": change.changes.get("outcome"),
        "at": now,
        "sessionId": session_id,
    }


# ---------------------------------------------------------------- dispatch records


@dataclass(frozen=True)
class RoundCounts:
    """What one dispatch round reached."""

    helpers_targeted: int
    devices_targeted: int
    sent: int
    failed: int
    tokens_pruned: int
    sms_sent: int = 0
    # promise first: the request was late and a newer one of its category waited, so the round
    # asked nobody (`heldBack: true` on the round; absent on every other round)
    held_back: bool = False

    def as_data(self) -> dict[str, int]:
        return {
            "helpersTargeted": self.helpers_targeted,
            "devicesTargeted": self.devices_targeted,
            "sent": self.sent,
            "failed": self.failed,
            "tokensPruned": self.tokens_pruned,
            "smsSent": self.sms_sent,
            **({"heldBack": True} if self.held_back else {}),
        }


def round_started(round_key: str, number: int, now: datetime) -> dict[str, Any]:
    """`requests/{id}/dispatches/{roundKey}` as it is reserved, before anything is sent."""
    return {
        "round": number,
        "reason": round_key.split("-")[0],
        "helpersTargeted": 0,
        "devicesTargeted": 0,
        "sent": 0,
        "failed": 0,
        "tokensPruned": 0,
        "startedAt": now,
        "finishedAt": None,
    }


def round_finished(counts: RoundCounts, now: datetime) -> dict[str, Any]:
    """The fields a round gets once its pushes are out."""
    return {**counts.as_data(), "finishedAt": now}


def round_target(devices: int, now: datetime) -> dict[str, Any]:
    """`dispatches/{roundKey}/targets/{uid}`: a helper the round targeted."""
    return {"devices": devices, "at": now}


def inbox_item(note: Notification, now: datetime) -> dict[str, Any]:
    """`users/{uid}/notifications/{key}`: the in-app copy of a notification."""
    return {
        "type": note.type.value,
        "title": note.title,
        "body": note.body,
        "data": note.data,
        "createdAt": now,
        "readAt": None,
    }


# ---------------------------------------------------------------- analytics events

# Request status reached -> the analytics event it records.
STATUS_EVENTS: dict[RequestStatus, str] = {
    RequestStatus.CLAIMED: "request_claimed",
    RequestStatus.CANCELLED: "request_cancelled",
    RequestStatus.EXPIRED: "request_expired",
    RequestStatus.IN_SESSION: "session_started",
    RequestStatus.COMPLETED: "session_ended",
}
PAYMENT_EVENTS: dict[PaymentStatus, str] = {
    PaymentStatus.AUTHORIZED: "payment_authorized",
    PaymentStatus.CAPTURED: "payment_captured",
    PaymentStatus.RELEASED: "payment_released",
    PaymentStatus.REFUNDED: "payment_refunded",
}


@dataclass(frozen=True)
class Recorded:
    """An analytics event and its id."""

    event_id: str
    event: AnalyticsDoc


def request_metadata(request: RequestDoc) -> dict[str, Any]:
    """What every request event carries, with the duration the 15-minute promise is measured
    by (seconds since the request became dispatchable) where the status has one."""
    found: dict[str, Any] = {
        "category": request.category.value,
        "amount": request.amount,
        "status": request.status.value,
        "paymentStatus": request.payment_status.value,
        "releaseCount": request.release_count,
        "dispatchRound": request.dispatch_round,
        "version": request.version,
    }
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


def _request_event(
    event_id: str,
    kind: str,
    request: RequestDoc,
    user_id: str | None,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> Recorded:
    return Recorded(
        event_id,
        AnalyticsDoc(
            type=kind,
            request_id=request.id,
            session_id=request.session_id,
            user_id=user_id,
            metadata={**request_metadata(request), **(extra or {})},
            timestamp=request.updated_at or request.created_at or now,
        ),
    )


def created_analytics(request: RequestDoc, now: datetime) -> list[Recorded]:
    """A new request: `request_created`, and `payment_authorized` if its card is held."""
    found = [
        _request_event(
            f"request_created-{request.id}", "request_created", request, request.customer_id, now
        )
    ]
    if request.payment_status == PaymentStatus.AUTHORIZED:
        kind = "payment_authorized"
        found.append(_request_event(f"{kind}-{request.id}", kind, request, None, now))
    return found


def session_metadata(session: SessionDoc | None) -> dict[str, Any]:
    """How long the video session ran (0 for a no-show) and whether the customer joined."""
    if session is None:
        return {}
    return {
        "sessionSeconds": session.duration_seconds or 0,
        "customerJoined": session.active_at is not None,
    }


def status_event_kind(before: RequestDoc, after: RequestDoc) -> str | None:
    """The analytics event a status change records, if any."""
    if after.status == before.status:
        return None
    if after.status == RequestStatus.PENDING and before.status == RequestStatus.CLAIMED:
        return "request_released"
    return STATUS_EVENTS.get(after.status)


def changed_analytics(
    before: RequestDoc, after: RequestDoc, now: datetime, session: SessionDoc | None = None
) -> list[Recorded]:
    """The analytics events of a request change: its status (keyed by the version it
    reached, since a status may be reached twice) and its payment (reached once)."""
    found = []
    kind = status_event_kind(before, after)
    if kind is not None:
        extra = session_metadata(session) if kind == "session_ended" else None
        event_id = f"{kind}-{after.id}-v{after.version}"
        found.append(_request_event(event_id, kind, after, person_of(before, after), now, extra))
    if after.payment_status != before.payment_status:
        kind = PAYMENT_EVENTS.get(after.payment_status)
        if kind is not None:
            found.append(_request_event(f"{kind}-{after.id}", kind, after, after.customer_id, now))
    return found


def person_of(before: RequestDoc, after: RequestDoc) -> str | None:
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


@dataclass(frozen=True)
class Reached:
    """What one recipient of one notification got."""

    devices: int = 0
    sent: int = 0
    failed: int = 0
    pruned: int = 0
    sms: bool = False


def notification_sent(
    note: Notification, reached: Mapping[str, Reached], now: datetime
) -> dict[str, AnalyticsDoc]:
    """One `notification_sent` event for a batch of recipients of `note` (a round's wave, or
    the users one notification went to), with its counts: what a round writes does not grow
    with its recipients. Its id is the notification's key and a digest of the recipients, so
    a repeat of the same batch writes the same document; `userId` names a lone recipient."""
    if not reached:
        return {}
    uids = sorted(reached)
    batch = hashlib.blake2b("\n".join(uids).encode(), digest_size=6).hexdigest()
    got = list(reached.values())
    return {
        f"notification_sent-{note.key}-{batch}": AnalyticsDoc(
            type="notification_sent",
            request_id=note.request_id,
            user_id=uids[0] if len(uids) == 1 else None,
            metadata={
                "notificationType": note.type.value,
                "key": note.key,
                "recipients": len(uids),
                "devices": sum(g.devices for g in got),
                "sent": sum(g.sent for g in got),
                "failed": sum(g.failed for g in got),
                "pruned": sum(g.pruned for g in got),
                "sms": sum(1 for g in got if g.sms),
            },
            timestamp=now,
        )
    }
