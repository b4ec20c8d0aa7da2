"""`quote_wait`: the wait a customer is shown before paying, from the category's live supply.

The supply is read cheaply: the available helpers of the category from the dispatch directory
(a few documents), the helpers holding a claim from the requests under way (one index entry
each), the category's requests dispatchable in the last hour (a few fields each). The estimate
is `domain.quotes.estimate`; the quote is kept QUOTE_TTL_SECONDS for `create_request` to use,
counted against MAX_QUOTES_PER_CUSTOMER_PER_HOUR in its commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homepro.domain import quotes
from homepro.domain.errors import Forbidden
from homepro.domain.models import Actor, Category, QuoteWaitInput, Role
from homepro.services.context import Context

if TYPE_CHECKING:
    from homepro.services.stores import RecentRequest


def live_supply(ctx: Context, category: str, now: datetime) -> quotes.Supply:
    """The category's supply as it stands at `now`: its free helpers (available, serving it,
    holding no claim: `helperClaims/{uid}.open` empty), counted among the first
    SUPPLY_SAMPLE of its directory (so a quote's reads do not grow with the pool), and how its
    requests of the last hour waited."""
    wanted = Category(category)
    entries = ctx.dispatch.directory_of(category, start=0, want=quotes.SUPPLY_SAMPLE)
    sample = [user.uid for user, _ in entries if user.serves(wanted)][: quotes.SUPPLY_SAMPLE]
    attention = ctx.dispatch.attention_of(sample)
    free = sum(1 for uid in sample if not attention[uid][0])
    recent = tuple(
        waited(request, now)
        for request in ctx.quotes.recent_requests(category, now - quotes.RECENT)
    )
    return quotes.Supply(free, recent, float(ctx.policy.pending_timeout_minutes))


def waited(request: RecentRequest, now: datetime) -> tuple[float, bool]:
    """How long a recent request waited (minutes), and whether its wait is over (claimed, or
    ended unclaimed: the customer waited that long and was not served)."""
    over = request.first_claimed_at or request.ended_at
    until = over or now
    return max(0.0, (until - request.dispatchable_at).total_seconds() / 60), over is not None


def quote_wait(ctx: Context, actor: Actor, data: QuoteWaitInput) -> dict[str, Any]:
    """A customer about to ask for help is shown the expected wait and its p90."""
    if actor.role != Role.CUSTOMER or actor.uid is None:
        raise Forbidden("only customers ask for the wait")
    now = ctx.clock.now()
    category = data.category.value
    supply = live_supply(ctx, category, now)
    shown = quotes.estimate(supply)
    ttl = timedelta(seconds=ctx.policy.quote_ttl_seconds)
    quote = quotes.quote_document(actor.uid, category, shown, supply, now, ttl)
    quote_id = quotes.quote_id_for(actor.uid, now)
    counter = quotes.quote_limits_path(actor.uid)
    most = ctx.policy.abuse.quotes_per_customer_per_hour
    ctx.quotes.create_quote(
        quote_id, quote, counter, lambda found: quotes.count_quote(found, counter, most, now)
    )
    return quotes.answer(quote_id, quote)
