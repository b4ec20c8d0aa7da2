"""The outbox's task side: the drain task a trigger schedules before its work (the backstop
if its worker dies), and the sweep's re-enqueueing of what is owed."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

from homepro.domain import outbox
from homepro.domain.outbox import DRAIN_QUEUE, OutboxEntry, drain_task_id
from homepro.services.context import Context
from homepro.services.ports import EnqueueError

log = logging.getLogger(__name__)


def grace(ctx: Context) -> timedelta:
    return timedelta(seconds=ctx.tuning.outbox_grace_seconds)


def lease(ctx: Context) -> timedelta:
    return timedelta(seconds=ctx.tuning.outbox_lease_seconds)


def _enqueue_backstop(ctx: Context, entry_id: str) -> None:
    queue = ctx.tasks
    if queue is None:
        return
    due = ctx.clock.now() + grace(ctx)
    try:
        queue.enqueue(
            DRAIN_QUEUE, {"entryId": entry_id}, task_id=f"outbox-{entry_id}-b", schedule_time=due
        )
    except EnqueueError as err:  # the sweep re-enqueues what is owed: nothing is lost
        log.warning("outbox backstop not enqueued", extra={"entry": entry_id, "error": str(err)})
    except Exception as err:  # never let the backstop stop the work it backs
        log.error("outbox backstop failed", extra={"entry": entry_id, "error": repr(err)})


@contextlib.contextmanager
def backstop(ctx: Context, entry_id: str) -> Iterator[None]:
    """Around a trigger's work on `entry_id`: the drain task that finishes it if this worker
    dies, enqueued for OUTBOX_GRACE_SECONDS on, on a thread of its own while the work runs (the
    first push does not wait for Cloud Tasks); joined before the function returns."""
    if ctx.tasks is None:
        yield
        return
    if not ctx.tuning.backstop_on_thread:
        _enqueue_backstop(ctx, entry_id)
        yield
        return
    thread = threading.Thread(target=_enqueue_backstop, args=(ctx, entry_id), daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=30)


def take_round(ctx: Context, request_id: str, round_key: str) -> bool:
    """Whether this drainer may resume round `round_key` now: its entry owed and held by no
    other drainer (taken at once: the worker that reserved it died with the transition being
    resumed)."""
    entry_id = outbox.round_entry_id(request_id, round_key)
    return ctx.outbox.take(entry_id, ctx.clock.now(), timedelta(0), lease(ctx)) is not None


def enqueue_drain(ctx: Context, entry: OutboxEntry) -> str:
    """A drain task for an owed entry (the sweep's): `outbox_queued`, `outbox_already_queued`,
    or `outbox_enqueue_failed` (still owed: the next sweep tries again)."""
    queue = ctx.tasks
    if queue is None:
        raise RuntimeError("enqueue_drain needs a task queue")
    task_id = drain_task_id(entry.id, entry.attempts, ctx.clock.now().timestamp())
    try:
        taken = queue.enqueue(DRAIN_QUEUE, {"entryId": entry.id}, task_id=task_id)
    except EnqueueError as err:
        log.warning("outbox drain not enqueued", extra={"entry": entry.id, "error": str(err)})
        return "outbox_enqueue_failed"
    return "outbox_queued" if taken else "outbox_already_queued"


def owed_entries(ctx: Context) -> Iterator[OutboxEntry]:
    """Entries owed for longer than the grace and not leased to a live drainer, page by page."""
    now = ctx.clock.now()
    for entry in ctx.outbox.owed(now - grace(ctx), ctx.tuning.sweep_page_size):
        if entry.lease_until is None or entry.lease_until <= now:
            yield entry
