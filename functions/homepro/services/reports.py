"""`dispatch_report`: whether the 15-minute promise is kept, over a window (admins only).

Counts come from Firestore aggregation queries (nothing read per request); time to claim from a
paged scan of the window's claimed requests (a few fields each, `Tuning.report_page_size` a
page); pushes from sums over the window's `notification_sent` analytics events. Server data
only: the requests themselves and the server's analytics events (client events never count).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from homepro.domain.errors import Forbidden, InvalidInput
from homepro.domain.models import Actor, DispatchReportInput, Role
from homepro.domain.report import (
    PROMISE_SECONDS,
    ClaimTally,
    Counts,
    PromiseTally,
    build_report,
    promise_kept,
)
from homepro.domain.states import RequestStatus
from homepro.services.context import Context

if TYPE_CHECKING:
    from homepro.services.stores import ReportViews

DEFAULT_WINDOW = timedelta(days=1)
MAX_WINDOW = timedelta(days=93)
# Times a window may start or end at (and a default window's arithmetic stays in range).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def parse_time(field: str, text: str | None) -> datetime | None:
    """An ISO-8601 time as UTC (one without an offset is read as UTC)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(field, "must be an ISO-8601 time such as 2026-11-25T08:00:00Z") from None
    if not EARLIEST <= moment <= LATEST:
        raise InvalidInput(field, f"must be between {EARLIEST.year} and {LATEST.year}")
    return moment


def report_window(now: datetime, data: DispatchReportInput) -> tuple[datetime, datetime]:
    """`[since, until)`: by default the 24 hours before `until`, and `until` now."""
    until = parse_time("until", data.until) or now
    since = parse_time("since", data.since) or until - DEFAULT_WINDOW
    if since >= until:
        raise InvalidInput("since", "must be before until")
    if until - since > MAX_WINDOW:
        raise InvalidInput("since", f"the window is at most {MAX_WINDOW.days} days")
    return since, until


def report(
    views: ReportViews,
    since: datetime,
    until: datetime,
    as_of: datetime | None = None,
    read_time: datetime | None = None,
    page_size: int = 1000,
) -> dict[str, Any]:
    """The KPIs of `[since, until)` from the read model (Firestore's, or the fake's), with
    outcomes as they stand at `as_of` (when the report is made; default: `until`). Every read
    is of the database at one moment (`read_time`, by default the database's present), so the
    counts, the scan and the push sums agree whatever changes while the report is made."""
    as_of = as_of or until
    read_time = read_time or views.read_time()
    counts = Counts.from_cells(views.count_dispatchable(since, until, read_time=read_time))
    claims = ClaimTally()
    # Requests dispatchable in the last 15 minutes before `as_of` and still waiting for their
    # first claim have not kept or broken the promise yet.
    cutoff = max(since, as_of - timedelta(seconds=PROMISE_SECONDS))
    recent_pending: dict[str, int] = {}
    if cutoff < until:
        pending = [RequestStatus.PENDING.value]
        found = views.count_dispatchable(cutoff, until, pending, read_time=read_time)
        for (category, _), n in found.items():
            recent_pending[category] = n
    for claim in views.first_claims(since, until, page_size, read_time=read_time):
        claims.add(claim.category, claim.seconds, claim.rounds)
        recent = claim.dispatchable_at is not None and claim.dispatchable_at >= cutoff
        if recent and claim.status == RequestStatus.PENDING.value:  # released: decided
            recent_pending[claim.category] = recent_pending.get(claim.category, 0) - 1
    undecided = {c: n for c, n in recent_pending.items() if n > 0}
    push = views.push_totals(since, until, read_time=read_time)
    promise = PromiseTally()
    for quoted in views.quoted_requests(since, until, page_size, read_time=read_time):
        waiting = quoted.status == RequestStatus.PENDING.value and quoted.claim_seconds is None
        promise.add(
            quoted.expected_minutes,
            quoted.claim_seconds,
            waiting and quoted.dispatchable_at >= cutoff,
        )
    quote_counts = views.quote_counts(since, until, read_time=read_time)
    kept = promise_kept(promise, quote_counts)
    return build_report(since, until, counts, claims, push, undecided, kept)


def dispatch_report(ctx: Context, actor: Actor, data: DispatchReportInput) -> dict[str, Any]:
    """The admin callable."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins can read the dispatch report")
    now = ctx.clock.now()
    since, until = report_window(now, data)
    return report(ctx.views, since, until, as_of=now, page_size=ctx.tuning.report_page_size)
