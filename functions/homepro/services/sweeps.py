"""The scheduled sweeps: expire or escalate pending requests, release stale claims.

One transaction per request, run with bounded concurrency over paged queries. Each transaction
re-checks staleness on the freshly read document, so two sweeps at once, or a sweep racing a
claim or a cancel, leave every request in one consistent state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from firebase_functions import logger

from homepro.domain.dispatch import escalation_due
from homepro.domain.errors import HomeProError, InvalidTransition
from homepro.domain.lifecycle import (
    CLAIM_TIMEOUT,
    PENDING_TIMEOUT,
    Transition,
    plan_escalate,
    plan_expire,
    plan_release,
)
from homepro.domain.models import Actor, RequestDoc
from homepro.domain.states import RequestStatus
from homepro.services.context import Context

SWEEP_CONCURRENCY = 8
SWEEP_PAGE_SIZE = 200


@dataclass
class SweepResult:
    """What one sweep did, by outcome (event type, `skipped`, `errors`)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


def _run_each(
    ctx: Context, ids: Iterable[str], plan: Callable[[RequestDoc], Transition], now: datetime
) -> SweepResult:
    result = SweepResult()

    def one(request_id: str) -> str:
        try:
            _, done = ctx.store.apply(request_id, plan, now)
            return done.event_type
        except InvalidTransition:
            return "skipped"  # claimed, cancelled or already handled since the query ran
        except HomeProError as err:
            logger.warn("sweep skipped a request", request_id=request_id, error=str(err))
            return "skipped"
        except Exception as err:  # one bad request never stops the sweep
            logger.error("sweep failed on a request", request_id=request_id, error=repr(err))
            return "errors"

    with ThreadPoolExecutor(max_workers=SWEEP_CONCURRENCY) as pool:
        for outcome in pool.map(one, ids):
            result.add(outcome)
    return result


def expire_or_escalate(ctx: Context) -> SweepResult:
    """Pending requests past PENDING_TIMEOUT_MINUTES since `pendingSince` expire; those still
    pending get their next escalation every ESCALATION_MINUTES (the trigger sends the round)."""
    now = ctx.clock.now()
    policy = ctx.policy
    expiry_cutoff = now - timedelta(minutes=policy.pending_timeout_minutes)
    oldest_due = now - timedelta(
        minutes=min(policy.escalation_minutes, policy.pending_timeout_minutes)
    )

    def plan(req: RequestDoc) -> Transition:
        if req.status != RequestStatus.PENDING:
            raise InvalidTransition("request is no longer pending")
        if _before(req.pending_since, expiry_cutoff):
            return plan_expire(req, Actor.system(), now, reason=PENDING_TIMEOUT)
        return plan_escalate(req, now, escalation_due(req, policy.escalation_minutes, now))

    ids = ctx.store.stale_request_ids(
        RequestStatus.PENDING, "pendingSince", oldest_due, SWEEP_PAGE_SIZE
    )
    return _run_each(ctx, ids, plan, now)


def release_stale_claims(ctx: Context) -> SweepResult:
    """Claims with no session after CLAIM_TIMEOUT_MINUTES go back to pending (or expire)."""
    now = ctx.clock.now()
    cutoff = now - timedelta(minutes=ctx.policy.claim_timeout_minutes)

    def plan(req: RequestDoc) -> Transition:
        if req.status != RequestStatus.CLAIMED or not _before(req.claimed_at, cutoff):
            raise InvalidTransition("claim is no longer stale")
        return plan_release(
            req, Actor.system(), now, max_releases=ctx.policy.max_releases, reason=CLAIM_TIMEOUT
        )

    ids = ctx.store.stale_request_ids(RequestStatus.CLAIMED, "claimedAt", cutoff, SWEEP_PAGE_SIZE)
    return _run_each(ctx, ids, plan, now)


def sweep_stale_requests(ctx: Context) -> SweepResult:
    """The `sweep_stale_requests` job: expiry and escalation (payment retries join it later)."""
    return expire_or_escalate(ctx)


def sweep_stale_claims(ctx: Context) -> SweepResult:
    """The `sweep_stale_claims` job: claim release (join timeouts join it later)."""
    return release_stale_claims(ctx)


def _before(moment: datetime | None, cutoff: datetime) -> bool:
    return moment is not None and moment <= cutoff
