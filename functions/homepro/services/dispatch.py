"""Dispatch rounds: every matching helper's every device hears of a paid request, once a round.

A round is reserved by creating `requests/{id}/dispatches/{roundKey}` in a transaction before
anything is sent, so a duplicate or retried trigger (same event id or another) or two functions
racing never send a round twice. The reservation writes the round's outbox entry in the same
commit, and finishing the round deletes it: if the worker dies in between, a `drainoutbox` task
resumes the round, sending to the helpers it has not recorded (the targets are recorded once the
fan-out is out, so a device hears of a round at most twice, once if nothing died).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from homepro import faults
from homepro.domain import notifications
from homepro.domain.dispatch import is_target, push_ttl_seconds
from homepro.domain.events import RoundCounts
from homepro.services.context import Context
from homepro.services.notify import push_to_devices, record_sent, send_sms
from homepro.services.stores import ReservedRound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundReport:
    request_id: str
    round_key: str
    round: int
    counts: RoundCounts


def run_round(ctx: Context, request_id: str, round_key: str) -> RoundReport | None:
    """Send round `round_key` of a request, unless it was sent or is no longer dispatchable."""
    reserved = ctx.dispatch.reserve_round(request_id, round_key, ctx.clock.now())
    if reserved is None:
        log.info(
            "round already sent or not dispatchable",
            extra={"request_id": request_id, "round": round_key},
        )
        return None
    faults.fault(faults.AFTER_ROUND_RESERVED)
    return _send(ctx, reserved, round_key, frozenset())


def resume_round(ctx: Context, request_id: str, round_key: str) -> RoundReport | None:
    """Finish a round whose worker died after reserving it: send it to the targets it has not
    recorded. Nothing if it finished, or the request is no longer dispatchable."""
    reserved = ctx.dispatch.resume_round(request_id, round_key)
    if reserved is None:
        return None
    recorded = frozenset(ctx.dispatch.recorded_targets(request_id, round_key))
    log.warning(
        "dispatch round resumed",
        extra={"request_id": request_id, "round": round_key, "recorded": len(recorded)},
    )
    return _send(ctx, reserved, round_key, recorded)


def _send(
    ctx: Context, reserved: ReservedRound, round_key: str, recorded: frozenset[str]
) -> RoundReport:
    """Push the round to every target but the `recorded` ones (a resumed round's), text the
    targets with no device, write their inbox items and analytics, and only then record them as
    targets: a recorded target has had everything, so a resumed round skips it, and a round
    resumed before its targets were recorded does it all again (a device hears of a round at
    most twice, a phone gets its text at most twice)."""
    now = ctx.clock.now()
    request = reserved.request
    request_id = request.id
    every = [(h, found) for h, found in ctx.dispatch.directory() if is_target(h, request, now)]
    targets = [(h, found) for h, found in every if h.uid not in recorded]
    helpers = [h for h, _ in targets]
    devices = {h.uid: found for h, found in targets}
    device_counts = {uid: len(found) for uid, found in devices.items()}

    ttl = push_ttl_seconds(request, ctx.policy.pending_timeout_minutes, now)
    note = notifications.new_request(request, round_key, ttl)
    per_user = push_to_devices(ctx, devices, note)
    sms_to: frozenset[str] = frozenset()
    if 0 < ctx.policy.sms_from_round <= reserved.round:
        sms_to = send_sms(ctx, [h for h in helpers if not devices[h.uid]], note)
    ctx.inbox.write_inbox(list(devices), note, now)
    record_sent(ctx, note, per_user, device_counts, sms_to)
    # Recorded once the round is out (thousands of writes must not delay the first push).
    ctx.dispatch.record_targets(request_id, round_key, device_counts, now)

    counts = RoundCounts(
        helpers_targeted=len(every),
        devices_targeted=sum(len(found) for _, found in every),
        sent=sum(p.sent for p in per_user.values()),
        failed=sum(p.failed for p in per_user.values()),
        tokens_pruned=sum(p.pruned for p in per_user.values()),
        sms_sent=len(sms_to),
    )
    ctx.dispatch.finish_round(request_id, round_key, counts, ctx.clock.now())
    log.info(
        "dispatch round sent",
        extra={"request_id": request_id, "round": round_key, **counts.as_data()},
    )
    return RoundReport(request_id, round_key, reserved.round, counts)
