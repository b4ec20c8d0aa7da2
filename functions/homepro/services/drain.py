"""The `drainoutbox` task: finish what a commit owed when the worker doing it died.

The task takes the entry (a lease of OUTBOX_LEASE_SECONDS, counted in its `attempts`), does the
work again, resumed, and deletes it. A task that finds the entry gone did nothing (the trigger
finished it); one that finds it younger than the grace is early (the emulator runs scheduled
tasks at once: the sweep re-enqueues it later); one that finds it leased to another drainer
fails, and Cloud Tasks retries it after that drainer's lease.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from homepro.domain.errors import InvalidInput
from homepro.domain.outbox import EntryKind, OutboxEntry
from homepro.services.context import Context
from homepro.services.dispatch import resume_round
from homepro.services.outbox import grace, lease
from homepro.services.reactions import transition_effects
from homepro.services.settlements import enqueue_settlement

log = logging.getLogger(__name__)
ENTRY_ID = re.compile(r"[A-Za-z0-9-]{1,400}")


# Drains of one entry before it is given up (kept with `gaveUpAt` for a person, out of the
# sweep's query): a dead worker's work takes one or two; ten that failed are a bug, and each
# resumed its notifications again.
MAX_ATTEMPTS = 10


class OutboxBusy(Exception):
    """Another drainer holds the entry: the task fails, and the queue retries it later."""


def drain(ctx: Context, entry_id: str) -> str:
    """Finish the work of entry `entry_id`: `drained`, `done` (nothing owed), `early`,
    `given_up` (past MAX_ATTEMPTS); raises OutboxBusy while another drainer holds it."""
    now = ctx.clock.now()
    entry = ctx.outbox.take(entry_id, now, grace(ctx), lease(ctx))
    if entry is None:
        found = ctx.outbox.get_entry(entry_id)
        if found is None:
            return "done"
        if found.given_up:
            return "given_up"
        if now < found.owed_at + grace(ctx):
            return "early"
        raise OutboxBusy(f"outbox entry {entry_id} is leased to another drainer")
    if entry.attempts > MAX_ATTEMPTS:
        # its work fails every time (and a resumed notification goes out each time): stop
        log.error(
            "ALERT: an outbox entry failed every drain; nothing retries it until a person does",
            extra={"entry": entry_id, "request_id": entry.request_id, "attempt": entry.attempts},
        )
        ctx.outbox.give_up(entry_id, now)
        return "given_up"
    log.warning(
        "outbox entry resumed (its worker died)",
        extra={"entry": entry_id, "request_id": entry.request_id, "attempt": entry.attempts},
    )
    _resume(ctx, entry)
    ctx.outbox.finish(entry_id)
    return "drained"


def _resume(ctx: Context, entry: OutboxEntry) -> None:
    if entry.kind == EntryKind.ROUND:
        resume_round(ctx, entry.request_id, entry.round_key)
        return
    transition_effects(ctx, entry.request_id, entry.before, entry.after, resumed=True)
    # a settlement the transition owed and its worker never made (a callable that died after
    # its commit): to the settlement queue now, not at the next sweep
    request = ctx.requests.get_request(entry.request_id)
    if request is not None and request.payment_owed is not None and ctx.tasks is not None:
        enqueue_settlement(ctx, ctx.tasks, request)


def drain_task(ctx: Context, payload: Mapping[str, Any]) -> str:
    entry_id = payload.get("entryId")
    if not isinstance(entry_id, str) or not ENTRY_ID.fullmatch(entry_id):
        raise InvalidInput("entryId", "a drain task names its outbox entry ([A-Za-z0-9-])")
    return drain(ctx, entry_id)
