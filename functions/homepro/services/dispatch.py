"""Dispatch rounds: every matching helper's every device hears of a paid request, once a round.

A round is claimed by creating `requests/{id}/dispatches/{roundKey}` in a transaction before
anything is sent, so a duplicate or retried trigger (same event id or another) or two functions
racing never send a round twice. A crash after the claim loses that round's sends; the next
escalation round (ESCALATION_MINUTES later) reaches the same helpers.
"""

from __future__ import annotations

from dataclasses import dataclass

from firebase_functions import logger

from homepro.domain import notifications
from homepro.domain.dispatch import is_target, push_ttl_seconds
from homepro.services.context import Context
from homepro.services.notify import push_to_devices, record_sent, send_sms
from homepro.services.ports import RoundCounts

# From this round on, helpers with a phone and no device get an SMS.


@dataclass(frozen=True)
class RoundReport:
    request_id: str
    round_key: str
    round: int
    counts: RoundCounts


def run_round(ctx: Context, request_id: str, round_key: str) -> RoundReport | None:
    """Send round `round_key` of a request, unless it was sent or is no longer dispatchable."""
    now = ctx.clock.now()
    claim = ctx.store.claim_round(request_id, round_key, now)
    if claim is None:
        logger.info(
            "round already sent or not dispatchable", request_id=request_id, round=round_key
        )
        return None
    request = claim.request
    targets = [(h, found) for h, found in ctx.store.directory() if is_target(h, request, now)]
    helpers = [h for h, _ in targets]
    devices = {h.uid: found for h, found in targets}
    device_counts = {uid: len(found) for uid, found in devices.items()}

    ttl = push_ttl_seconds(request, ctx.policy.pending_timeout_minutes, now)
    note = notifications.new_request(request, round_key, ttl)
    per_user = push_to_devices(ctx, devices, note)
    # Recorded once the pushes are out: thousands of writes must not delay the first push.
    ctx.store.record_targets(request_id, round_key, device_counts, now)
    sms_to: frozenset[str] = frozenset()
    if 0 < ctx.policy.sms_from_round <= claim.round:
        sms_to = send_sms(ctx, [h for h in helpers if not devices[h.uid]], note)
    ctx.store.write_inbox(list(devices), note, now)
    record_sent(ctx, note, per_user, device_counts, sms_to)

    counts = RoundCounts(
        helpers_targeted=len(helpers),
        devices_targeted=sum(device_counts.values()),
        sent=sum(p.sent for p in per_user.values()),
        failed=sum(p.failed for p in per_user.values()),
        tokens_pruned=sum(p.pruned for p in per_user.values()),
        sms_sent=len(sms_to),
    )
    ctx.store.finish_round(request_id, round_key, counts, ctx.clock.now())
    logger.info(
        "dispatch round sent",
        request_id=request_id,
        round=round_key,
        helpers=counts.helpers_targeted,
        devices=counts.devices_targeted,
        sent=counts.sent,
        failed=counts.failed,
        pruned=counts.tokens_pruned,
        sms=counts.sms_sent,
    )
    return RoundReport(request_id, round_key, claim.round, counts)
