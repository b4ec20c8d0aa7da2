"""Dispatch rounds: a paid request's round reaches a wave of helpers (`domain/waves.py`), once
a round each: by text if they gave a phone (TEXT_FROM_ROUND), else every device of theirs.

A round is reserved by creating `requests/{id}/dispatches/{roundKey}` in a transaction before
anything is sent, so a duplicate or retried trigger (same event id or another) or two functions
racing never send a round twice. The reservation writes the round's outbox entry in the same
commit, and finishing the round deletes it: if the worker dies in between, a `drainoutbox` task
resumes the round, sending to the helpers it has not recorded (the targets are recorded once the
fan-out is out, so a device hears of a round at most twice, once if nothing died).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from homepro import faults
from homepro.domain import notifications, texts, waves
from homepro.domain.dispatch import is_target, push_ttl_seconds
from homepro.domain.events import RoundCounts
from homepro.domain.models import Device, UserDoc
from homepro.services.context import Context
from homepro.services.notify import Pushed, push_to_devices, record_sent, send_sms
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
    return _send(ctx, reserved, round_key, frozenset(), resumed=False)


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
    return _send(ctx, reserved, round_key, recorded, resumed=True)


def _send(
    ctx: Context,
    reserved: ReservedRound,
    round_key: str,
    recorded: frozenset[str],
    *,
    resumed: bool,
) -> RoundReport:
    """Alert every target but the `recorded` ones (a resumed round's): a text to those
    `_texted` picks, the push to the others; write their inbox items and analytics, and only
    then record them as targets: a recorded target has had everything, so a resumed round
    skips it, and a round resumed before its targets were recorded does it all again (a device
    hears of a round at most twice, a phone gets its text at most twice)."""
    now = ctx.clock.now()
    request = reserved.request
    request_id = request.id
    every, held_back = _wave(ctx, reserved, round_key, resumed)
    targets = [(h, found) for h, found in every if h.uid not in recorded]
    helpers = [h for h, _ in targets]
    devices = {h.uid: found for h, found in targets}
    device_counts = {uid: len(found) for uid, found in devices.items()}

    ttl = push_ttl_seconds(request, ctx.policy.pending_timeout_minutes, now)
    note = notifications.new_request(request, round_key, ttl)
    # One alert an ask: a text, or the push (the inbox item shows in the app either way). The
    # pushes that wait on no text go first; then the texts; then the push to whoever's text
    # did not go (its country, its number's hourly cap, the provider).
    to_text = _texted(ctx, reserved, helpers, devices)
    texting = {h.uid for h in to_text}
    per_user = push_to_devices(
        ctx, {uid: found for uid, found in devices.items() if uid not in texting}, note
    )
    sms_to = send_sms(ctx, to_text, note)
    untexted = {uid: devices[uid] for uid in texting - sms_to}
    per_user.update(push_to_devices(ctx, untexted, note))
    per_user.update({uid: Pushed() for uid in sms_to})
    ctx.inbox.write_inbox(list(devices), note, now)
    # a texted helper's devices were not pushed: none counted as targeted
    pushed_counts = {uid: 0 if uid in sms_to else n for uid, n in device_counts.items()}
    record_sent(ctx, note, per_user, pushed_counts, sms_to)
    # Recorded once the round is out (thousands of writes must not delay the first push).
    ctx.dispatch.record_targets(request_id, round_key, device_counts, now)

    counts = RoundCounts(
        helpers_targeted=len(every),
        devices_targeted=sum(len(found) for h, found in every if h.uid not in sms_to),
        sent=sum(p.sent for p in per_user.values()),
        failed=sum(p.failed for p in per_user.values()),
        tokens_pruned=sum(p.pruned for p in per_user.values()),
        sms_sent=len(sms_to),
        held_back=held_back,
    )
    ctx.dispatch.finish_round(request_id, round_key, counts, ctx.clock.now())
    log.info(
        "dispatch round sent",
        extra={"request_id": request_id, "round": round_key, **counts.as_data()},
    )
    return RoundReport(request_id, round_key, reserved.round, counts)


Targets = list[tuple[UserDoc, list[Device]]]


def _texted(
    ctx: Context,
    reserved: ReservedRound,
    helpers: list[UserDoc],
    devices: dict[str, list[Device]],
) -> list[UserDoc]:
    """Who the round texts: from TEXT_FROM_ROUND, every helper a wave asks who gave a phone
    of a country texts may go to (a helper acts on a text far more often than on a push); from
    SMS_FROM_ROUND, those with no device. `send_sms` may still skip one (its number's hourly
    cap, the provider): that helper gets the push after the texts."""
    policy, round_number = ctx.policy, reserved.round
    waves_on = policy.wave_first > 0
    if waves_on and 0 < policy.text_from_round <= round_number:
        allowed = policy.sms_allowed_prefixes
        return [h for h in helpers if h.phone and texts.allowed_destination(h.phone, allowed)]
    if 0 < policy.sms_from_round <= round_number:
        return [h for h in helpers if not devices[h.uid]]
    return []


def _wave(
    ctx: Context, reserved: ReservedRound, round_key: str, resumed: bool
) -> tuple[Targets, bool]:
    """Who round `round_key` asks, with their devices, and whether the round was held back
    (nobody: the request is late and a newer one of its category waits, `_yields`). Broadcast
    (WAVE_FIRST 0): every matching helper. Waves: a `resumed` round's wave, if the worker that
    died chose it; else a new one, chosen and charged to the helpers' alert budgets in one
    commit (which answers the wave already charged, if another worker of this round got there
    first)."""
    now = ctx.clock.now()
    request, policy = reserved.request, ctx.policy
    size = waves.wave_size(reserved.round, policy.wave_first, policy.wave_growth)
    chosen = ctx.dispatch.round_wave(request.id, round_key) if resumed and size else None
    if chosen is not None:
        return _helpers(ctx, chosen), False  # charged already: it goes out as chosen
    if _yields(ctx, reserved, round_key, now):
        if size is None:
            return [], True
        # an empty wave, taken like any other: if another worker of this round charged one
        # first, it is that wave that goes out, and a later resume sends the empty one
        taken = ctx.dispatch.take_alerts(request.id, round_key, {}, now)
        return _helpers(ctx, taken), not taken
    if size is None:
        every = ctx.dispatch.directory_of(request.category, start=0, want=None)
        return [(h, found) for h, found in every if is_target(h, request, now)], False
    seed = f"{request.id}/{round_key}"
    asks = ctx.dispatch.asks_of(request.id)
    eligible, candidates, whole = _candidates(ctx, reserved, size, seed, asks, again=None)
    picks = waves.choose(candidates, size, seed, now)
    if len(picks) < size and whole:
        # Everyone eligible has been asked: the rest of the wave asks again the rested, asked
        # fewer than ASKS_AT_MOST times of this request (a new round is a new chance; in a small
        # pool, at night, one ask each leaves it unclaimed)
        more, others, _ = _candidates(
            ctx, reserved, size - len(picks), seed, asks, again=frozenset(picks)
        )
        repeat = [c for c in others if waves.may_ask_again(c, asks, picks, now)]
        picks += waves.choose(repeat, size - len(picks), seed, now)
        eligible = {**more, **eligible}
        candidates = [*candidates, *repeat]
    limits = {c.uid: c.limit for c in candidates}
    charged = ctx.dispatch.take_alerts(request.id, round_key, {u: limits[u] for u in picks}, now)
    if all(uid in eligible for uid in charged):
        return [eligible[uid] for uid in charged], False
    return _helpers(ctx, charged), False  # another worker of this round chose it


def _yields(ctx: Context, reserved: ReservedRound, round_key: str, now: datetime) -> bool:
    """Promise first: a late request (waited past LATE_AFTER_MINUTES, `waves.late`) asks nobody
    while a request of its category that is not late waits (its promise can still be kept).
    It stays on the board, and its next round asks again if none waits by then. The round
    that follows a release is no exception: its promise was broken like any late one's (asking
    at once for a request released late cost the simulation's storm 1.2 points within 15:
    docs/simulation.md, "Promise first"), and its customer's page says it is late."""
    request, after = reserved.request, ctx.policy.late_after_minutes
    if not waves.late(request.dispatchable_at, now, after):
        return False
    if not ctx.requests.waiting_since(request.category, now - timedelta(minutes=after)):
        return False
    log.info(
        "dispatch round yields: late, and a newer request of its category waits",
        extra={"request_id": request.id, "round": round_key},
    )
    return True


def _helpers(ctx: Context, uids: list[str]) -> Targets:
    """The helpers of a wave chosen already, with their devices (read by key)."""
    users = ctx.users.get_users(uids)
    devices = ctx.users.devices_of(list(users.values()))
    return [(users[uid], devices.get(uid, [])) for uid in uids if uid in users]


def _candidates(
    ctx: Context,
    reserved: ReservedRound,
    size: int,
    seed: str,
    asks: Mapping[str, int],
    *,
    again: Collection[str] | None,
) -> tuple[dict[str, tuple[UserDoc, list[Device]]], list[waves.Candidate], bool]:
    """The eligible helpers a wave of `size` may ask (matching, reachable now, and not asked of
    this request yet; `again`: asked before, but may be asked again, and not among `again`, the
    wave's picks so far), a random sample of them looked up (busy? alerts?) until it holds
    SAMPLE x `size` usable ones or none are left, and whether the category's whole directory
    was read. The directory is read from the request's own shard on, a few shards more each
    time the ones read hold too few: a round reads a few times its wave, whatever the pool."""
    now = ctx.clock.now()
    request, policy = reserved.request, ctx.policy
    texting = 0 < policy.sms_from_round <= reserved.round
    texting = texting or 0 < policy.text_from_round <= reserved.round
    picked = frozenset(again or ())
    goal = waves.SAMPLE * size
    most = waves.LOOK_AT_MOST * goal
    want = goal + (0 if again is not None else len(asks))

    def usable(c: waves.Candidate) -> bool:
        if again is None:
            return c.able(now)
        return waves.may_ask_again(c, asks, picked, now)

    def reachable(helper: UserDoc, found: list[Device]) -> bool:
        """Asking them now reaches them: a device; a phone in a round that texts; or neither
        device nor phone, when the app's inbox (shown while it is open) is their only channel."""
        if found:
            return True
        if helper.phone:
            allowed = texts.allowed_destination(helper.phone, policy.sms_allowed_prefixes)
            return texting and allowed
        return True

    looked: dict[str, waves.Candidate] = {}
    while True:
        entries = ctx.dispatch.directory_of(
            request.category, start=waves.start_shard(request.id), want=want
        )
        eligible = {
            h.uid: (h, found)
            for h, found in entries
            if (h.uid in asks) == (again is not None)
            and h.uid not in request.released_by  # they cannot claim it again
            and is_target(h, request, now)
            and reachable(h, found)
        }
        fresh = sorted(
            (u for u in eligible if u not in looked),
            key=lambda u: waves.tiebreak(seed, u),
        )
        able = sum(1 for c in looked.values() if usable(c))
        while fresh and able < goal and len(looked) < most:
            # each lookup at least as large as all before it: a few, even when most are spent
            take = min(max(goal - able, len(looked)), most - len(looked))
            batch, fresh = fresh[:take], fresh[take:]
            attention = ctx.dispatch.attention_of(batch)
            for uid in batch:
                busy, alerts = attention[uid]
                own = eligible[uid][0].max_job_alerts_per_hour
                limit = waves.alert_limit(own, policy.max_job_alerts_per_hour)
                looked[uid] = waves.Candidate(uid, tuple(alerts), limit, busy)
                able += usable(looked[uid])
        whole = len(entries) < want
        if able >= goal or whole or len(looked) >= most:
            return eligible, list(looked.values()), whole
        want = max(want, len(entries)) * 4  # the next read reaches shards not read yet
