"""The wait shown before paying (issue 17 item 3): known supply -> known answer.

`quote_wait {category}` answers the expected wait to a helper's claim and its p90, from the
category's live supply (`Supply`: helpers available and holding no claim, and how the waits of
the category's requests of the last hour went) through `estimate`, a pure function the
simulation justifies (README "The wait shown"). What was shown is kept for a short while
in `quotes/{quoteId}` (server only); `create_request {quoteId}` checks it (`shown`) and the
request stores it (`quote: {id, expectedMinutes, p90Minutes, shownAt}`) in its creating
commit, which also marks the quote used (`use`): one quote, one request.
"""

from __future__ import annotations

import hashlib
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
# How far back the recent requests of a category are read (the waits move over hours; an hour
# holds a few dozen requests of a category on a weekday, and forgets the morning rush).
RECENT = timedelta(hours=1)
# A quote document is kept this long after it was shown, for the report's count of quotes never
# used (its window is a day by default); Firestore's TTL policy on `expireAt` deletes it then.
KEEP_QUOTES = timedelta(days=8)
HOUR = timedelta(hours=1)

# ---------------------------------------------------------------- the estimator
# Constants fitted on the simulation (`make simulate` prints the expected wait's error beside a
# constant guess; README "The wait shown" has the figures), never on the people it models.
# With no free helper, the wait is that of a helper coming on duty or finishing a job: shown
# over the promise. The p90 then: an hour (shifts change, sessions end, within it).
NO_HELPER_P90_MINUTES = 60.0
# The median wait with n free helpers, before any recent request says otherwise:
# FLOOR + (ONE - FLOOR) / n ** SHRINK (one helper: 12 minutes; three: 6.4; twenty: 2.8). The
# simulated weekdays' medians were 2-3 minutes with 20+ helpers free and nobody tired, 6-9 with
# fatigue, longer with fewer helpers; the recent requests, once there are a few, outweigh it.
ONE_HELPER_MINUTES = 12.0
FLOOR_MINUTES = 1.5
SHRINK = 0.7
# p90 / median of the time to claim when the recent requests cannot say (2.35-2.8 simulated).
P90_RATIO = 2.4
# The prior weighs as much as this many recent requests: an hour of a weekday's plumbing (20+
# requests) outweighs it; a quiet category at night (two or three) does not. Of (FLOOR 1.5,
# 2.5) x (weight 1, 2, 4, 8), this pair kept the weekday's error lowest across dispatch with
# and without fatigue (README "The wait shown": the grid).
PRIOR_WEIGHT = 4
# The free helpers are counted in a sample of the category's directory this large: the prior
# hardly moves past it (1.5 + 10.5 / 100^0.7 = 1.9 minutes; at 1,000, 1.6), and a quote reads
# one or two directory shards and this many helpers' `helperClaims`, whatever the pool.
SUPPLY_SAMPLE = 100


@dataclass(frozen=True)
class Supply:
    """What the wait of a new request of one category depends on, as read now."""

    free_helpers: int  # available, serving the category, holding no claim
    # the category's requests dispatchable in the last hour: (minutes waited, whether the wait
    # is over: claimed, or ended unclaimed); a request still waiting has waited at least that
    recent: tuple[tuple[float, bool], ...] = ()
    # a request pending this long expires (PENDING_TIMEOUT_MINUTES): no wait is longer
    horizon_minutes: float = 30.0


@dataclass(frozen=True)
class Estimate:
    expected_minutes: float
    p90_minutes: float

    @property
    def over_promise(self) -> bool:
        return self.expected_minutes > PROMISE_MINUTES


def prior_minutes(free_helpers: int) -> float:
    """The median wait with `free_helpers` free (at least one), before any recent request."""
    return FLOOR_MINUTES + (ONE_HELPER_MINUTES - FLOOR_MINUTES) / math.pow(free_helpers, SHRINK)


def waited_quantile(recent: Sequence[tuple[float, bool]], share: float, horizon: float) -> float:
    """The wait by which `share` of requests are over (claimed or ended), from the recent ones
    (Kaplan-Meier: a request still waiting counts only as long as it has waited). When too few
    are over to say, the longest seen or the horizon, whichever is longer."""
    ordered = sorted(recent)
    at_risk, left, i = len(ordered), 1.0, 0
    while i < len(ordered):
        moment, ended, seen = ordered[i][0], 0, 0
        while i < len(ordered) and ordered[i][0] == moment:
            ended += ordered[i][1]
            seen += 1
            i += 1
        if ended:
            left *= 1 - ended / at_risk
        at_risk -= seen
        if left <= 1 - share + 1e-9:  # (1 - 1/10)(1 - 1/9)... is 0.1 give or take a bit
            return moment
    return max(horizon, ordered[-1][0]) if ordered else horizon


def estimate(supply: Supply) -> Estimate:
    """The expected wait (minutes, a median) and its p90 for a request made now.

    No free helper: over the promise (the horizon, a pending request's life), whatever was
    recent. Else the prior of the free helpers, weighed against what the category's requests of
    the last hour went through (their median and p90, those still waiting counted as far as they
    got), each recent request weighing one, the prior PRIOR_WEIGHT."""
    if supply.free_helpers <= 0:
        expected = max(supply.horizon_minutes, PROMISE_MINUTES + 1)
        return Estimate(_round(expected), _round(max(NO_HELPER_P90_MINUTES, expected)))
    prior = prior_minutes(supply.free_helpers)
    n = len(supply.recent)
    if not n:
        return Estimate(_round(prior), _round(prior * P90_RATIO))
    horizon = supply.horizon_minutes
    median = waited_quantile(supply.recent, 0.5, horizon)
    p90 = waited_quantile(supply.recent, 0.9, horizon)
    expected = (PRIOR_WEIGHT * prior + n * median) / (PRIOR_WEIGHT + n)
    tail = (PRIOR_WEIGHT * prior * P90_RATIO + n * p90) / (PRIOR_WEIGHT + n)
    return Estimate(_round(expected), _round(max(tail, expected)))


def _round(minutes: float) -> float:
    """Tenths of a minute, at least 1 (nobody is promised a helper within seconds)."""
    return max(1.0, math.ceil(minutes * 10) / 10)


# ---------------------------------------------------------------- the quote document


def quote_id_for(customer_id: str, now: datetime) -> str:
    """A quote's id: its customer's and its moment's digest (the same customer twice in one
    microsecond is refused as busy; a replayed simulation makes the same ids)."""
    digest = hashlib.sha256(f"{customer_id}\x00{now.isoformat()}".encode()).hexdigest()
    return f"q{digest[:19]}"


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
        "recentRequests": len(supply.recent),
        "stillWaiting": sum(1 for _, over in supply.recent if not over),
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
