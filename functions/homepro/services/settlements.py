"""Bulk settlements through the `settlepayment` task queue: one Stripe budget for the project.

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
from homepro.domain.models import RequestDoc
from homepro.services.context import Context
from homepro.services.payments import settle
from homepro.services.ports import EnqueueError, TaskQueue

log = logging.getLogger(__name__)

SETTLE_QUEUE = "settlepayment"  # the task queue function's name (no `_`: Cloud Tasks ids)
TASK_ID_WINDOW_SECONDS = 3600


class SettlementPending(Exception):
    """The Stripe call failed again (counted in `paymentAttempts`): the task fails so that
    Cloud Tasks retries it with backoff."""


def settle_task_id(request: RequestDoc, epoch_seconds: float) -> str:
    window = int(epoch_seconds // TASK_ID_WINDOW_SECONDS)
    return f"settle-{request.id}-{request.payment_attempts}-{window}"


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


def settle_task(ctx: Context, payload: Mapping[str, Any]) -> str:
    """A `settlepayment` task: settle what the request still owes. The outcome: `nothing_owed`
    (settled, decided or gone since: a repeated delivery), `payment_attention` (failed
    PAYMENT_MAX_ATTEMPTS times: a person decides, no retry), or the payment status reached.
    SettlementPending when the call failed and is to be retried."""
    request_id = payload.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise InvalidInput("requestId", "a settlement task names its request")
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
