"""Deliver a notification: push to every device of each recipient, inbox, analytics, prune."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from homepro.domain import texts
from homepro.domain.errors import Conflict
from homepro.domain.events import Reached, notification_sent
from homepro.domain.models import Device, UserDoc
from homepro.domain.notifications import Notification
from homepro.services.concurrency import bounded_map
from homepro.services.context import Context
from homepro.services.ports import PushMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    users: int
    devices: int
    sent: int
    failed: int
    pruned: int
    sms_sent: int = 0


def not_yet_notified(ctx: Context, uids: Sequence[str], note: Notification) -> list[str]:
    """The recipients not yet sent `note`: each creates its inbox document, once."""
    now = ctx.clock.now()

    def first_time(uid: str) -> bool:
        return ctx.inbox.create_inbox_once(uid, note, now)

    unique = list(dict.fromkeys(uids))
    created = bounded_map(first_time, unique, min(ctx.tuning.notify_concurrency, len(unique)))
    return [uid for uid, fresh in zip(unique, created, strict=True) if fresh]


@dataclass
class Pushed:
    """One recipient's pushes of one notification."""

    sent: int = 0
    failed: int = 0
    pruned: int = 0


def push_to_devices(
    ctx: Context, devices_by_uid: Mapping[str, list[Device]], note: Notification
) -> dict[str, Pushed]:
    """Send `note` to every device and forget the dead tokens; what each recipient got."""
    devices = [d for found in devices_by_uid.values() for d in found]
    data = note.data  # built once: a round may reach thousands of devices
    messages = [
        PushMessage(token=d.token, data=data, urgent=note.urgent, ttl_seconds=note.ttl_seconds)
        for d in devices
    ]
    results = ctx.push.send(messages) if messages else []
    per_user = {uid: Pushed() for uid in devices_by_uid}
    dead: list[Device] = []
    for device, result in zip(devices, results, strict=True):
        tally = per_user[device.uid]
        if result.ok:
            tally.sent += 1
        else:
            tally.failed += 1
        if result.prune:
            tally.pruned += 1
            dead.append(device)
    if dead:
        ctx.users.delete_devices(dead)
        log.info("pruned dead tokens", extra={"request_id": note.request_id, "count": len(dead)})
    return per_user


def record_sent(
    ctx: Context,
    note: Notification,
    per_user: Mapping[str, Pushed],
    devices: Mapping[str, int],
    sms_to: frozenset[str] = frozenset(),
) -> None:
    """The `notification_sent` analytics event of `note` to these recipients, with counts."""
    reached = {
        uid: Reached(devices.get(uid, 0), p.sent, p.failed, p.pruned, uid in sms_to)
        for uid, p in per_user.items()
    }
    ctx.analytics.record_all(notification_sent(note, reached, ctx.clock.now()))


def may_text(ctx: Context, phone: str, note: Notification) -> bool:
    """Whether a text of `note` may go to `phone`: a number of an allowed country, under
    MAX_TEXTS_PER_PHONE_PER_HOUR (counted here, before the send). A skipped text is logged,
    never an error: the round or the invitation goes on without it."""
    policy = ctx.policy
    fields = {"request_id": note.request_id, "type": note.type.value, "to": phone[-4:]}
    if not texts.allowed_destination(phone, policy.sms_allowed_prefixes):
        log.warning("text skipped: number outside SMS_ALLOWED_PREFIXES", extra=fields)
        return False
    try:
        counted = ctx.inbox.count_text(phone, ctx.clock.now(), policy.max_texts_per_phone_per_hour)
    except Conflict:  # texts to one number contended past every attempt: a flood, skip it
        counted = False
    if not counted:
        log.warning("text skipped: MAX_TEXTS_PER_PHONE_PER_HOUR reached", extra=fields)
    return counted


def send_sms(ctx: Context, users: Sequence[UserDoc], note: Notification) -> frozenset[str]:
    """Text each user with a phone that may be texted; the users the provider accepted a
    message for. Numbers are texted `io_concurrency` at a time (a wave's alerts are texts: one
    after another, a wave of ten would wait on ten provider calls); one number's texts one
    after another (its hourly count is one document: no contention)."""
    body = note.sms_text(ctx.app_url)
    by_phone: dict[str, list[UserDoc]] = {}
    for user in users:
        if user.phone:
            by_phone.setdefault(user.phone, []).append(user)

    def text(phone: str) -> list[str]:
        return [
            user.uid
            for user in by_phone[phone]
            if may_text(ctx, phone, note) and ctx.sms.send(phone, body)
        ]

    workers = min(ctx.tuning.io_concurrency, len(by_phone))
    return frozenset(uid for sent in bounded_map(text, list(by_phone), workers) for uid in sent)


def notify(
    ctx: Context, uids: Sequence[str], note: Notification, *, resend: bool = False
) -> Delivery:
    """Notify each user once of `note` (a duplicate call finds the inbox documents and stops);
    with `resend` (an outbox entry resumed after its worker died, maybe between the inbox
    document and the push), every recipient again."""
    if resend:
        fresh = list(dict.fromkeys(uids))
        now = ctx.clock.now()
        for uid in fresh:  # created if missing; one already read keeps its `readAt`
            ctx.inbox.create_inbox_once(uid, note, now)
    else:
        fresh = not_yet_notified(ctx, uids, note)
    if not fresh:
        return Delivery(0, 0, 0, 0, 0)
    users = ctx.users.get_users(fresh)
    devices = ctx.users.devices_of(list(users.values()))
    for uid in fresh:
        devices.setdefault(uid, [])
    per_user = push_to_devices(ctx, devices, note)
    counts = {uid: len(found) for uid, found in devices.items()}
    sms_to = send_sms(ctx, list(users.values()), note) if note.sms else frozenset()
    record_sent(ctx, note, per_user, counts, sms_to)
    return Delivery(
        users=len(fresh),
        devices=sum(counts.values()),
        sent=sum(p.sent for p in per_user.values()),
        failed=sum(p.failed for p in per_user.values()),
        pruned=sum(p.pruned for p in per_user.values()),
        sms_sent=len(sms_to),
    )
