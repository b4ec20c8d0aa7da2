"""`dispatch_report`: whether the 15-minute promise is kept, over a window (admins only).

Counts come from Firestore aggregation queries (nothing read per request); time to claim from a
paged scan of the window's claimed requests (a few fields each, `REPORT_PAGE_SIZE` at a time);
pushes from sums over the window's `notification_sent` analytics events. Server data only: the
requests themselves and the server's analytics events (client events are never counted).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from homepro.domain.errors import Forbidden, InvalidInput
from homepro.domain.models import Actor, DispatchReportInput, Role
from homepro.domain.report import ClaimTally, Counts, build_report
from homepro.services.context import Context
from homepro.services.ports import Store

REPORT_PAGE_SIZE = 1000
DEFAULT_WINDOW = timedelta(days=1)
MAX_WINDOW = timedelta(days=93)


def parse_time(field: str, text: str | None) -> datetime | None:
    """An ISO-8601 time as UTC (one without an offset is read as UTC)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "must be an ISO-8601 time such as 2026-11-25T08:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def report_window(now: datetime, data: DispatchReportInput) -> tuple[datetime, datetime]:
    """`[since, until)`: by default the 24 hours before `until`, and `until` now."""
    until = parse_time("until", data.until) or now
    since = parse_time("since", data.since) or until - DEFAULT_WINDOW
    if since >= until:
        raise InvalidInput("since", "must be before until")
    if until - since > MAX_WINDOW:
        raise InvalidInput("since", f"the window is at most {MAX_WINDOW.days} days")
    return since, until


def report(store: Store, since: datetime, until: datetime) -> dict[str, Any]:
    """The KPIs of `[since, until)` from the store (any Store: Firestore, or the fakes)."""
    counts = Counts.from_cells(store.count_dispatchable(since, until))
    claims = ClaimTally()
    for claim in store.first_claims(since, until, REPORT_PAGE_SIZE):
        claims.add(claim.category, claim.seconds, claim.rounds)
    return build_report(since, until, counts, claims, store.push_totals(since, until))


def dispatch_report(ctx: Context, actor: Actor, data: DispatchReportInput) -> dict[str, Any]:
    """The admin callable."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins can read the dispatch report")
    since, until = report_window(ctx.clock.now(), data)
    return report(ctx.store, since, until)
