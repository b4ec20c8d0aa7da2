"""Deliver a notification: push to every device of each recipient, inbox, analytics, prune."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from firebase_functions import logger

from homepro.domain.models import AnalyticsDoc, Device, UserDoc
from homepro.domain.notifications import Notification
from homepro.services.context import Context
from homepro.services.ports import PushMessage

CLAIM_CONCURRENCY = 16


@dataclass(frozen=True)
class Delivery:
    users: int
    devices: int
    sent: int
    failed: int
    pruned: int
    sms_sent: int = 0


def claim_recipients(ctx: Context, uids: Sequence[str], note: Notification) -> list[str]:
    """The recipients not yet notified of `note`: each claim creates the inbox document."""
    now = ctx.clock.now()

    def claim(uid: str) -> bool:
        return ctx.store.claim_inbox(uid, note, now)

    unique = list(dict.fromkeys(uids))
    if len(unique) <= 1:
        return [uid for uid in unique if claim(uid)]
    with ThreadPoolExecutor(max_workers=min(CLAIM_CONCURRENCY, len(unique))) as pool:
        return [uid for uid, won in zip(unique, pool.map(claim, unique), strict=True) if won]


def push_to_devices(
    ctx: Context, devices_by_uid: dict[str, list[Device]], note: Notification
) -> tuple[dict[str, tuple[int, int]], int]:
    """Send `note` to every device; returns (uid -> (sent, failed)) and the tokens pruned."""
    devices = [d for found in devices_by_uid.values() for d in found]
    messages = [
        PushMessage(token=d.token, data=note.data, urgent=note.urgent, ttl_seconds=note.ttl_seconds)
        for d in devices
    ]
    results = ctx.push.send(messages) if messages else []
    per_user: dict[str, tuple[int, int]] = {uid: (0, 0) for uid in devices_by_uid}
    dead: list[Device] = []
    for device, result in zip(devices, results, strict=True):
        sent, failed = per_user[device.uid]
        per_user[device.uid] = (sent + 1, failed) if result.ok else (sent, failed + 1)
        if result.prune:
            dead.append(device)
    if dead:
        ctx.store.delete_devices(dead)
        logger.info("pruned dead tokens", request_id=note.request_id, count=len(dead))
    return per_user, len(dead)


def record_sent(
    ctx: Context, note: Notification, per_user: dict[str, tuple[int, int]], devices: dict[str, int]
) -> None:
    """One `notification_sent` analytics event per user per notification."""
    now = ctx.clock.now()
    ctx.store.record_analytics(
        {
            f"notification_sent-{note.key}-{uid}": AnalyticsDoc(
                type="notification_sent",
                request_id=note.request_id,
                user_id=uid,
                metadata={
                    "notificationType": note.type.value,
                    "key": note.key,
                    "devices": devices.get(uid, 0),
                    "sent": sent,
                    "failed": failed,
                },
                timestamp=now,
            )
            for uid, (sent, failed) in per_user.items()
        }
    )


def send_sms(ctx: Context, users: Sequence[UserDoc], note: Notification) -> int:
    sent = 0
    for user in users:
        if user.phone and ctx.sms.send(user.phone, note.sms_text):
            sent += 1
    return sent


def notify(ctx: Context, uids: Sequence[str], note: Notification) -> Delivery:
    """Notify each user once of `note` (a duplicate call finds the inbox documents and stops)."""
    fresh = claim_recipients(ctx, uids, note)
    if not fresh:
        return Delivery(0, 0, 0, 0, 0)
    users = ctx.store.get_users(fresh)
    devices = ctx.store.devices_of(list(users.values()))
    for uid in fresh:
        devices.setdefault(uid, [])
    per_user, pruned = push_to_devices(ctx, devices, note)
    counts = {uid: len(found) for uid, found in devices.items()}
    record_sent(ctx, note, per_user, counts)
    sms_sent = send_sms(ctx, list(users.values()), note) if note.sms else 0
    return Delivery(
        users=len(fresh),
        devices=sum(counts.values()),
        sent=sum(s for s, _ in per_user.values()),
        failed=sum(f for _, f in per_user.values()),
        pruned=pruned,
        sms_sent=sms_sent,
    )
