"""The `reconcile_payments` job: no card hold outlives its request.

Every hold is recorded on its request before its card is confirmed, and whatever ends a
request owes its release; this job is the net under that. Stripe's list has no metadata
filter, so it pages through every PaymentIntent created in the last `LOOKBACK` (Stripe keeps
an uncaptured hold for 7 days) and reads `metadata.requestId` on each: a `requires_capture`
one whose request is over, missing or holds another PaymentIntent is released. Bounded by the
sweep budget (the next run goes on); idempotent (each release has its own key, and one already
released is done). The releases go through the settlement queue (a `stray` task each, in the
bulk budget); the listing's few calls (a page of 100 intents each) take the callables' budget.
"""

from __future__ import annotations

import itertools
import logging
import time
from datetime import timedelta

from homepro.services.concurrency import bounded_map
from homepro.services.context import Context
from homepro.services.ports import Hold
from homepro.services.settlements import release_stray_soon
from homepro.services.sweeps import SweepResult

log = logging.getLogger(__name__)

# Stripe cancels an uncaptured hold after 7 days; a day more covers the job's own outages.
LOOKBACK = timedelta(days=8)
HELD = "requires_capture"


def reconcile_payments(ctx: Context) -> SweepResult:
    deadline = time.monotonic() + ctx.tuning.sweep_budget_seconds
    result = SweepResult()
    holds = ctx.payments.recent_holds(ctx.clock.now() - LOOKBACK)
    in_time = itertools.takewhile(lambda _: time.monotonic() < deadline, holds)

    def one(hold: Hold) -> str:
        if hold.status != HELD:
            return "not_held"
        if hold.request_id is None:
            return "not_ours"  # made by something else on this Stripe account
        if time.monotonic() > deadline:
            return "deferred"
        try:
            request = ctx.requests.get_request(hold.request_id)
            reason = release_stray_soon(ctx, request, hold.request_id, hold.payment_intent_id)
        except Exception as err:  # one bad hold never stops the job
            log.error(
                "reconcile failed on a hold",
                extra={"payment_intent_id": hold.payment_intent_id, "error": repr(err)},
            )
            return "errors"
        if not reason:
            return "kept"
        return f"queued_{reason}" if ctx.tasks is not None else f"released_{reason}"

    for outcome in bounded_map(one, in_time, ctx.tuning.sweep_concurrency):
        result.add(outcome)
    return result
