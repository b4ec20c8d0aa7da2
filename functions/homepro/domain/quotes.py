"""The wait shown before paying (issue 17 item 3): known supply -> known answer.

`quote_wait {category}` answers the expected wait to a helper's claim and its p90, from the
category's live supply (`Supply`: helpers available and holding no claim, the requests of the
category waiting now, and the recent times to claim) through `estimate`, a pure function the
simulation justifies (docs: README "The wait shown"). What was shown is kept for a short while
in `quotes/{quoteId}` (server only); `create_request {quoteId}` checks it (`shown`) and the
request stores it (`quote: {id, expectedMinutes, p90Minutes, shownAt}`) in its creating
commit, which also marks the quote used (`use`): one quote, one request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homepro.domain import writes
from homepro.domain.errors import FailedPrecondition, InvalidInput, ResourceExhausted
from homepro.domain.writes import DocumentWrite

QUOTES = "quotes"
QUOTE_LIMITS = "quoteLimits"
PROMISE_MINUTES = 15
# How far back the recent times to claim of a category are read (the report's p50 moves over
# hours; an hour holds enough claims of a category on a weekday, and forgets the morning rush).
RECENT = timedelta(hours=1)
# A quote document is kept this long after it was shown, for the report's count of quotes never
# used (its window is a day by default); Firestore's TTL policy on `expireAt` deletes it then.
KEEP_QUOTES = timedelta(days=8)
HOUR = timedelta(hours=1)

# ---------------------------------------------------------------- the estimator's constants
# Fitted on the simulation (tools/simulate.py --quotes; README "The wait shown"), never on the
# people it models: a helper acts on a new job after a delay (the scenarios' claim delay has a
# median of 3 minutes), and the more helpers are free, the sooner one of them does.
# With no free helper, the wait is that of a helper finishing a job: shown as over the promise.
NO_HELPER_MINUTES = 30.0
NO_HELPER_P90_MINUTES = 60.0
# The wait of one free helper alone (minutes, median and p90), and how the wait falls with more
# of them: median(n) = FLOOR + (ONE - FLOOR) / n ** SHRINK.
ONE_HELPER_MINUTES = 12.0
FLOOR_MINUTES = 2.5
SHRINK = 0.7
P90_RATIO = 2.4  # p90 / median of the time to claim, seen across supplies
# Recent claims of the category pull the prior towards what they show, weighing as many
# claims as this (fewer recent claims: the prior counts more).
PRIOR_WEIGHT = 6
# A request of the category already waiting longer than the estimate says the estimate is low.
WAITING_WEIGHT = 1.0


@dataclass(frozen=True)
class Supply:
    """What the wait of a new request of one category depends on, as read now."""

    free_helpers: int  # available, serving the category, holding no claim
    waiting: tuple[float, ...] = ()  # minutes the category's dispatchable requests have waited
    recent: tuple[float, ...] = ()  # minutes to first claim of the category's recent claims


@dataclass(frozen=True)
class Estimate:
    expected_minutes: float
    p90_minutes: float

    @property
    def over_promise(self) -> bool:
        return self.expected_minutes > PROMISE_MINUTES


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def prior_minutes(free_helpers: int) -> float:
    """The median wait with `free_helpers` free (at least one), before any recent claim."""
    return FLOOR_MINUTES + (ONE_HELPER_MINUTES - FLOOR_MINUTES) / math.pow(free_helpers, SHRINK)


def estimate(supply: Supply) -> Estimate:
    """The expected wait (minutes, a median) and its p90 for a request made now.

    No free helper: over the promise (`NO_HELPER_MINUTES`), whatever was recent. Else the prior
    of the free helpers, pulled towards the median of the recent claims (weighted by how many
    there are), and raised by the requests already waiting longer (they are ahead in line and
    say helpers are slower than the prior thinks)."""
    if supply.free_helpers <= 0:
        recent = _median(supply.recent) if supply.recent else 0.0
        expected = max(NO_HELPER_MINUTES, recent)
        return Estimate(_round(expected), _round(max(NO_HELPER_P90_MINUTES, expected * P90_RATIO)))
    prior = prior_minutes(supply.free_helpers)
    expected = prior
    if supply.recent:
        n = len(supply.recent)
        expected = (PRIOR_WEIGHT * prior + n * _median(supply.recent)) / (PRIOR_WEIGHT + n)
    ahead = [age for age in supply.waiting if age > expected]
    if ahead:
        # requests waiting past the estimate, beyond the free helpers who could take them first
        queued = max(0, len(ahead) - supply.free_helpers + 1)
        expected += WAITING_WEIGHT * queued * expected
    return Estimate(_round(expected), _round(expected * P90_RATIO))


def _round(minutes: float) -> float:
    """Tenths of a minute, at least 1 (nobody is promised a helper within seconds)."""
    return max(1.0, math.ceil(minutes * 10) / 10)


# ---------------------------------------------------------------- the quote document


def quote_path(quote_id: str) -> str:
    return f"{QUOTES}/{quote_id}"


def quote_limits_path(uid: str) -> str:
    return f"{QUOTE_LIMITS}/{uid}"


def quote_document(
    customer_id: str,
    category: str,
    shown: Estimate,
    supply: Supply,
    now: datetime,
    ttl: timedelta,
) -> dict[str, Any]:
    """`quotes/{quoteId}` as shown (server only; `expireAt` for the TTL policy)."""
    return {
        "customerId": customer_id,
        "category": category,
        "expectedMinutes": shown.expected_minutes,
        "p90Minutes": shown.p90_minutes,
        "overPromise": shown.over_promise,
        "helpersAvailable": supply.free_helpers,
        "waiting": len(supply.waiting),
        "recentClaims": len(supply.recent),
        "createdAt": now,
        "expiresAt": now + ttl,
        "used": False,
        "requestId": None,
        "expireAt": now + KEEP_QUOTES,
    }


def answer(quote_id: str, quote: Mapping[str, Any]) -> dict[str, Any]:
    """`quote_wait`'s answer (`expiresAt` ISO 8601)."""
    return {
        "quoteId": quote_id,
        "category": quote["category"],
        "expectedMinutes": quote["expectedMinutes"],
        "p90Minutes": quote["p90Minutes"],
        "helpersAvailable": quote["helpersAvailable"],
        "overPromise": quote["overPromise"],
        "expiresAt": quote["expiresAt"].isoformat(),
    }


def count_quote(
    found: Mapping[str, Any] | None, path: str, limit: int, now: datetime
) -> DocumentWrite:
    """One more quote of a customer in the last hour (`quoteLimits/{uid}`: `asked`, moments),
    or `ResourceExhausted` past `limit` of them, saying when to ask again."""
    since = now - HOUR
    asked = sorted(m for m in (found or {}).get("asked") or [] if isinstance(m, datetime))
    asked = [m for m in asked if m > since]
    if len(asked) >= limit:
        retry_at = asked[-limit] + HOUR
        minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
        raise ResourceExhausted(
            f"at most {limit} waits asked an hour: ask again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}",
            retry_at,
        )
    data = {"asked": [*asked, now], "updatedAt": now, "expireAt": now + HOUR}
    return writes.create(path, data) if found is None else writes.update(path, data)


@dataclass(frozen=True)
class Shown:
    """The quote a request was created with, as it stores it (`quote`)."""

    quote_id: str
    expected_minutes: float
    p90_minutes: float
    shown_at: datetime

    def as_field(self) -> dict[str, Any]:
        return {
            "id": self.quote_id,
            "expectedMinutes": self.expected_minutes,
            "p90Minutes": self.p90_minutes,
            "shownAt": self.shown_at,
        }


EXPIRED = "the wait shown is out of date: ask again"


def shown(
    quote_id: str,
    quote: Mapping[str, Any] | None,
    customer_id: str,
    category: str,
    now: datetime,
) -> Shown:
    """The quote a customer creates a request of `category` with, checked: unknown, another
    customer's or another category's -> InvalidInput; expired -> FailedPrecondition."""
    if quote is None or quote.get("customerId") != customer_id:
        raise InvalidInput("quoteId", "no such quote of yours: ask for the wait first")
    if quote.get("category") != category:
        raise InvalidInput(
            "quoteId", f"this quote is for {quote.get('category')}, not {category}: ask again"
        )
    if now >= quote["expiresAt"]:
        raise FailedPrecondition(EXPIRED)
    return Shown(
        quote_id, float(quote["expectedMinutes"]), float(quote["p90Minutes"]), quote["createdAt"]
    )


def use(
    quote_id: str, quote: Mapping[str, Any] | None, request_id: str, now: datetime
) -> DocumentWrite:
    """Mark the quote used by `request_id` (read in the request's creating commit): a quote
    already used by another request is refused (one quote, one request)."""
    if quote is None:
        raise InvalidInput("quoteId", "no such quote of yours: ask for the wait first")
    used_by = quote.get("requestId")
    if used_by not in (None, request_id):
        raise FailedPrecondition("this wait was shown for another request: ask again")
    return writes.update(
        quote_path(quote_id), {"used": True, "requestId": request_id, "usedAt": now}
    )
