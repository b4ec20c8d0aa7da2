"""Dispatch rules: which transition calls for which round, and which helpers a round targets."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from homepro.domain.models import QuietHours, RequestDoc, Role, UserDoc
from homepro.domain.states import RequestStatus

INITIAL = "initial"


def round_key(
    before: RequestDoc | None, after: RequestDoc, *, redispatch_on_release: bool = True
) -> str | None:
    """The round a change calls for, keyed by its cause, or None.

    `initial`: created dispatchable, or authorized later; `released-{releaseCount}`: a claim went
    back to pending (unless the policy says not to dispatch it again); `escalation-{n}`: the
    sweep escalated a request still pending (`escalation-{n}-r{releaseCount}` once a claim was
    released). The key is fixed by the cause, so a duplicate or
    retried event names the same round again.
    """
    if not after.dispatchable:
        return None
    if before is None:
        return INITIAL
    if not before.dispatchable:
        if before.status == RequestStatus.CLAIMED:
            return f"released-{after.release_count}" if redispatch_on_release else None
        return INITIAL
    if after.escalation > before.escalation:
        # `escalation` counts from `pendingSince`, which a release resets: after one, the keys
        # name the release too, or the n-th escalation would find the round of the first claim
        if after.release_count:
            return f"escalation-{after.escalation}-r{after.release_count}"
        return f"escalation-{after.escalation}"
    return None


def in_quiet_hours(quiet: QuietHours | None, now: datetime) -> bool:
    """Whether `now` falls in the helper's quiet hours (a window may wrap past midnight)."""
    if quiet is None:
        return False
    try:
        local = now.astimezone(ZoneInfo(quiet.tz)).time()
        start, end = time.fromisoformat(quiet.start), time.fromisoformat(quiet.end)
    except (ZoneInfoNotFoundError, ValueError):
        return False  # a malformed window never silences a helper
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def is_target(helper: UserDoc, request: RequestDoc, now: datetime) -> bool:
    """A helper a round notifies: a helper, available, serving the category, not in quiet hours."""
    return (
        helper.role == Role.HELPER
        and helper.is_available
        and helper.serves(request.category)
        and not in_quiet_hours(helper.quiet_hours, now)
    )


def expires_at(request: RequestDoc, pending_timeout_minutes: int) -> datetime | None:
    if request.pending_since is None:
        return None
    return request.pending_since + timedelta(minutes=pending_timeout_minutes)


def push_ttl_seconds(request: RequestDoc, pending_timeout_minutes: int, now: datetime) -> int:
    """A new-request push lives no longer than the request has left before it expires."""
    deadline = expires_at(request, pending_timeout_minutes)
    if deadline is None:
        return pending_timeout_minutes * 60
    return max(0, int((deadline - now).total_seconds()))


def escalation_due(request: RequestDoc, escalation_minutes: int, now: datetime) -> int:
    """The escalation number a pending request should have reached by `now` (0: none yet)."""
    if request.pending_since is None or escalation_minutes <= 0:
        return 0
    return int((now - request.pending_since) / timedelta(minutes=escalation_minutes))
