"""The scheduled sweeps: expire or escalate pending requests, release stale claims.

One transaction per request, run with bounded concurrency over paged queries. Each transaction
re-checks staleness on the freshly read document, so two sweeps at once, or a sweep racing a
claim or a cancel, leave every request in one consistent state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homepro.domain.errors import HomeProError, InvalidTransition
from homepro.domain.lifecycle import Transition
from homepro.domain.models import RequestDoc
from homepro.domain.states import RequestStatus
from homepro.domain.timers import plan_pending, plan_stale_claim, plan_unpaid
from homepro.services.attention import release_undecided
from homepro.services.concurrency import bounded_map
from homepro.services.context import Context
from homepro.services.outbox import enqueue_drain, owed_entries
from homepro.services.payments import settle
from homepro.services.sessions import (
    end_timed_out_sessions,
    end_unjoined_sessions,
    warn_ending_sessions,
)
from homepro.services.settlements import enqueue_settlement

if TYPE_CHECKING:
    from homepro.domain.outbox import OutboxEntry
    from homepro.services.stores import QueriedRequest

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    """What one sweep did, by outcome (event type, `skipped`, `errors`, `payment_*`)."""

    counts: dict[str, int] = field(default_factory=dict)
    owed: list[RequestDoc] = field(default_factory=list)

    def add(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


def _run_each(
    ctx: Context,
    found: Iterable[QueriedRequest],
    plan: Callable[[RequestDoc], Transition],
    now: datetime,
) -> SweepResult:
    """Every transition first, at Firestore's pace; the Stripe calls they owe come after."""
    result = SweepResult()

    def one(queried: QueriedRequest) -> str:
        request_id = queried.request.id
        try:
            request, transition = ctx.requests.apply(request_id, plan, now, queried)
            if request.payment_owed is not None:
                result.owed.append(request)
            return transition.event_type
        except InvalidTransition:
            return "skipped"  # claimed, cancelled or already handled since the query ran
        except HomeProError as err:
            log.warning(
                "sweep skipped a request", extra={"request_id": request_id, "error": str(err)}
            )
            return "skipped"
        except Exception as err:  # one bad request never stops the sweep
            log.error(
                "sweep failed on a request", extra={"request_id": request_id, "error": repr(err)}
            )
            return "errors"

    for outcome in bounded_map(one, found, ctx.tuning.sweep_concurrency):
        result.add(outcome)
    return result


def expire_or_escalate(ctx: Context) -> SweepResult:
    """Pending requests past PENDING_TIMEOUT_MINUTES since `pendingSince` expire; those still
    pending get their next escalation every ESCALATION_MINUTES (the trigger sends the round)."""
    now = ctx.clock.now()
    policy = ctx.policy
    # Escalation off (0): only the expired are due.
    due_after = policy.escalation_minutes or policy.pending_timeout_minutes
    oldest_due = now - timedelta(minutes=min(due_after, policy.pending_timeout_minutes))
    found = ctx.requests.stale_requests(
        RequestStatus.PENDING.value, "pendingSince", oldest_due, ctx.tuning.sweep_page_size
    )
    return _run_each(ctx, found, lambda req: plan_pending(req, policy, now), now)


def release_stale_claims(ctx: Context) -> SweepResult:
    """Claims with no session after CLAIM_TIMEOUT_MINUTES go back to pending (or expire)."""
    now = ctx.clock.now()
    policy = ctx.policy
    cutoff = now - timedelta(minutes=policy.claim_timeout_minutes)
    found = ctx.requests.stale_requests(
        RequestStatus.CLAIMED.value, "claimedAt", cutoff, ctx.tuning.sweep_page_size
    )
    return _run_each(ctx, found, lambda req: plan_stale_claim(req, policy, now), now)


def expire_unpaid(ctx: Context) -> SweepResult:
    """Requests whose card was never held (3-D Secure abandoned, or an outage while holding)
    expire PENDING_TIMEOUT_MINUTES after they were made; a PaymentIntent left is released."""
    now = ctx.clock.now()
    policy = ctx.policy
    cutoff = now - timedelta(minutes=policy.pending_timeout_minutes)
    page_size = ctx.tuning.sweep_page_size
    found = ctx.requests.stale_requests("requires_payment", "createdAt", cutoff, page_size)
    return _run_each(ctx, found, lambda req: plan_unpaid(req, policy, now), now)


def settle_owed(
    ctx: Context, result: SweepResult, requests: Iterable[RequestDoc], deadline: float
) -> None:
    """The Stripe calls owed: a `settlepayment` task each (the queue holds the project's bulk
    rate, STRIPE_BULK_RPS); with no queue, inline, paced by the Payments adapter. What the
    time budget does not reach stays owed for the next run."""
    queue = ctx.tasks

    def one(request: RequestDoc) -> str:
        if time.monotonic() > deadline:
            return "payment_deferred"
        if queue is not None:
            return enqueue_settlement(ctx, queue, request)
        try:
            settled = settle(ctx, request)
        except Exception as err:
            log.error("settling failed", extra={"request_id": request.id, "error": repr(err)})
            return "errors"
        if settled.payment_attention is not None:
            return "payment_attention"  # failed PAYMENT_MAX_ATTEMPTS times: a person decides
        if settled.payment_owed is not None:
            return "payment_still_owed"
        return f"payment_{settled.payment_status.value}"

    for outcome in bounded_map(one, requests, ctx.tuning.sweep_concurrency):
        result.add(outcome)


def retry_owed_payments(ctx: Context, result: SweepResult, deadline: float) -> None:
    """Requests a failed Stripe call left `paymentOwed`: try again."""
    settled = {r.id for r in result.owed}  # this run's own, settled or enqueued already
    page_size = ctx.tuning.sweep_page_size
    owed = (r for r in ctx.requests.owed_requests(page_size) if r.id not in settled)
    settle_owed(ctx, result, owed, deadline)


def drain_owed_outbox(ctx: Context, result: SweepResult) -> None:
    """Outbox entries their triggers did not finish (the worker died before or during the
    work, or before enqueueing its backstop): a drain task each; with no queue, inline."""
    from homepro.services.drain import OutboxBusy, drain

    def one(entry: OutboxEntry) -> str:
        if ctx.tasks is not None:
            return enqueue_drain(ctx, entry)
        try:
            return f"outbox_{drain(ctx, entry.id)}"
        except OutboxBusy:
            return "outbox_busy"
        except Exception as err:  # one entry never stops the sweep
            log.error("outbox drain failed", extra={"entry": entry.id, "error": repr(err)})
            return "errors"

    for outcome in bounded_map(one, owed_entries(ctx), ctx.tuning.sweep_concurrency):
        result.add(outcome)


def sweep_stale_requests(ctx: Context) -> SweepResult:
    """The `sweep_stale_requests` job: what the outbox still owes, expiry, escalation, and
    every payment still owed."""
    deadline = time.monotonic() + ctx.tuning.sweep_budget_seconds
    outboxed = SweepResult()
    drain_owed_outbox(ctx, outboxed)
    result = expire_or_escalate(ctx)
    unpaid = expire_unpaid(ctx)
    for key, count in unpaid.counts.items():
        result.counts[key] = result.counts.get(key, 0) + count
    result.owed.extend(unpaid.owed)
    for request in release_undecided(ctx, ctx.clock.now()):
        result.add("undecided_released")
        result.owed.append(request)
    settle_owed(ctx, result, result.owed, deadline)
    retry_owed_payments(ctx, result, deadline)
    for key, count in outboxed.counts.items():
        result.counts[key] = result.counts.get(key, 0) + count
    return result


def sweep_stale_claims(ctx: Context) -> SweepResult:
    """The `sweep_stale_claims` job: claim release (the MAX_RELEASES-th expires and releases
    the hold), sessions nobody joined end `no_show` (their holds released), active sessions
    are warned before SESSION_MAX_MINUTES and end `timed_out` at it (their holds kept for an
    admin's decision)."""
    deadline = time.monotonic() + ctx.tuning.sweep_budget_seconds
    result = release_stale_claims(ctx)
    no_shows = end_unjoined_sessions(ctx)
    for _ in no_shows:
        result.add("session_no_show")
    timed_out = end_timed_out_sessions(ctx)
    for _ in timed_out:
        result.add("session_timed_out")
    for _ in range(warn_ending_sessions(ctx)):
        result.add("session_ending_warned")
    owed = [r for r in timed_out if r.payment_owed is not None]
    settle_owed(ctx, result, [*result.owed, *no_shows, *owed], deadline)
    return result
