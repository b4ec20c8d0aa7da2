"""Bulk settlements through the `settlepayment` task queue: one Stripe budget for the project.

Every Stripe call nobody waits on goes through this one queue: the sweeps' releases and
captures, the owed retries, the webhook's settlements and the `reconcile_payments` job's
releases of stray holds. A task's `kind` says which (`settle`, the default, or `stray`). The
calls a user waits on stay inline, under the callables' share of the budget
(`adapters/stripe_budget.py`); the queue's rate plus that share is STRIPE_MAX_RPS.

The sweeps do not call Stripe: for each request that owes a release or capture they enqueue a
task named `settle-{requestId}-{attempt}-{window}`, and Cloud Tasks dispatches those at
STRIPE_BULK_RPS across every instance, retrying with backoff. The task re-reads the request
and settles what it still owes (`payments.settle`: the idempotency key of today, a failure
counted in `paymentAttempts`); nothing owed is done. A failed enqueue leaves the request owed
and the next sweep enqueues it again, so nothing is lost.

The name refuses a duplicate while a task for that attempt is queued or retrying (the sweep
runs every minute). It carries an hour's `window` because Cloud Tasks keeps a used name for
up to an hour after its task is gone (days in some cases): a task that died without counting
its attempt would otherwise block its request's name; a second task is harmless (the Stripe
call is idempotent and only one settlement is recorded).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from homepro.domain.errors import InvalidInput
from homepro.domain.lifecycle import stray_hold
from homepro.domain.models import RequestDoc
from homepro.services.context import Context
from homepro.services.payments import release_stray, settle
from homepro.services.ports import EnqueueError, PaymentError, TaskQueue

log = logging.getLogger(__name__)

SETTLE_QUEUE = "settlepayment"  # the task queue function's name (no `_`: Cloud Tasks ids)
TASK_ID_WINDOW_SECONDS = 3600
SETTLE, STRAY = "settle", "stray"  # a task's kinds


class SettlementPending(Exception):
    """The Stripe call failed again (counted in `paymentAttempts`): the task fails so that
    Cloud Tasks retries it with backoff."""


def settle_task_id(request: RequestDoc, epoch_seconds: float) -> str:
    window = int(epoch_seconds // TASK_ID_WINDOW_SECONDS)
    return f"settle-{request.id}-{request.payment_attempts}-{window}"


def stray_task_id(payment_intent_id: str, epoch_seconds: float) -> str:
    window = int(epoch_seconds // TASK_ID_WINDOW_SECONDS)
    return f"stray-{payment_intent_id}-{window}"


def enqueue_settlement(ctx: Context, queue: TaskQueue, request: RequestDoc) -> str:
    """One settlement task for a request that owes one: `payment_queued`,
    `payment_already_queued` (a task of that name exists), or `payment_enqueue_failed` (left
    owed for the next sweep)."""
    task_id = settle_task_id(request, ctx.clock.now().timestamp())
    try:
        taken = queue.enqueue(SETTLE_QUEUE, {"requestId": request.id}, task_id=task_id)
    except EnqueueError as err:
        log.warning(
            "settlement not enqueued, left owed for the next sweep",
            extra={"request_id": request.id, "error": str(err)},
        )
        return "payment_enqueue_failed"
    return "payment_queued" if taken else "payment_already_queued"


def settle_soon(ctx: Context, request: RequestDoc) -> RequestDoc:
    """Settle what a request owes through the queue (inline when there is none): for the
    callers nobody waits on (the webhook). A failed enqueue leaves it owed for the sweep."""
    if request.payment_owed is None or not request.payment_intent_id:
        return request
    if ctx.tasks is None:
        return settle(ctx, request)
    enqueue_settlement(ctx, ctx.tasks, request)
    return request


def release_stray_soon(
    ctx: Context, request: RequestDoc | None, request_id: str, intent: str
) -> str | None:
    """`payments.release_stray` through the queue (inline when there is none): the reason the
    hold is released (the task releases it), or None when it is the request's to keep. A
    failed enqueue is logged: the reconcile job finds the hold again."""
    if ctx.tasks is None:
        return release_stray(ctx, request, request_id, intent)
    reason = stray_hold(request, intent)
    if reason is None:
        return None
    payload = {"kind": STRAY, "requestId": request_id, "paymentIntentId": intent}
    try:
        ctx.tasks.enqueue(
            SETTLE_QUEUE,
            payload,
            task_id=stray_task_id(intent, ctx.clock.now().timestamp()),
        )
    except EnqueueError as err:
        log.warning(
            "stray hold not enqueued, left for reconcile_payments",
            extra={"request_id": request_id, "payment_intent_id": intent, "error": str(err)},
        )
        return None
    return reason


def settle_task(ctx: Context, payload: Mapping[str, Any]) -> str:
    """A `settlepayment` task: settle what the request still owes. The outcome: `nothing_owed`
    (settled, decided or gone since: a repeated delivery), `payment_attention` (failed
    PAYMENT_MAX_ATTEMPTS times: a person decides, no retry), or the payment status reached.
    SettlementPending when the call failed and is to be retried."""
    request_id = payload.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise InvalidInput("requestId", "a settlement task names its request")
    kind = payload.get("kind", SETTLE)
    if kind == STRAY:
        return _stray_task(ctx, request_id, payload.get("paymentIntentId"))
    if kind != SETTLE:
        raise InvalidInput("kind", f"a settlement task is {SETTLE!r} or {STRAY!r}")
    request = ctx.requests.get_request(request_id)
    if request is None or request.payment_owed is None:
        return "nothing_owed"
    settled = settle(ctx, request)
    if settled.payment_attention is not None:
        return "payment_attention"  # the last attempt failed: no retry, a person decides
    if settled.payment_owed is None:
        return f"payment_{settled.payment_status.value}"
    raise SettlementPending(
        f"request {request_id}: {settled.payment_owed.value} failed "
        f"({settled.payment_attempts} attempts), retried by the queue"
    )


def _stray_task(ctx: Context, request_id: str, intent: object) -> str:
    """Release a hold its request has no use for, if it still has none (`stray_hold` on the
    request read now). A failed call is retried by the queue (up to its max_attempts; the
    reconcile job finds the hold again after that). Not counted in `paymentAttempts`: the
    request's counter is for what the request itself owes, and this intent is not its own."""
    if not isinstance(intent, str) or not intent:
        raise InvalidInput("paymentIntentId", "a stray release names its PaymentIntent")
    request = ctx.requests.get_request(request_id)
    reason = stray_hold(request, intent)
    if reason is None:
        return "stray_kept"
    try:
        ctx.payments.release_stray(intent)
    except PaymentError as err:
        raise SettlementPending(f"stray hold {intent}: release failed ({err})") from err
    log.info(
        "stray hold released",
        extra={"request_id": request_id, "payment_intent_id": intent, "reason": reason},
    )
    return f"stray_released_{reason}"
