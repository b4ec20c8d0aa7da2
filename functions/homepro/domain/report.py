"""The 15-minute promise, measured: the KPIs of `dispatch_report` from counts and a paged scan.

The population of a window is the requests that became dispatchable in it (`dispatchableAt`
in `[since, until)`): the promise starts when a paid request can be dispatched, so a card
declined before that counts neither way. Pure: the service gathers the counts by status and
category (Firestore aggregation queries) and feeds the window's claimed requests one page at a
time into a `ClaimTally`; `build_report` shapes the contract's answer. Time to claim is
`claimedAt - dispatchableAt` of the request's first claim (`firstClaimedAt`: a released claim
clears `claimedAt`, and the promise was kept or broken by the first helper who answered);
"within 15 minutes" is at most 900 s. The histogram has one bucket per minute up to
`HISTOGRAM_MINUTES`, closed on the right like the promise (a claim at 900 s is in the 14–15
minute bucket, left of the line), then one open bucket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

PROMISE_SECONDS = 15 * 60
HISTOGRAM_MINUTES = 30


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank `q`-th percentile of values sorted ascending (None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class ClaimTally:
    """What the scan of claimed requests adds up, overall and per category."""

    seconds: list[float] = field(default_factory=list)
    rounds: int = 0
    by_category: dict[str, list[float]] = field(default_factory=dict)

    def add(self, category: str, time_to_claim: float, rounds: int) -> None:
        self.seconds.append(max(0.0, time_to_claim))
        self.rounds += rounds
        self.by_category.setdefault(category, []).append(max(0.0, time_to_claim))


@dataclass
class PromiseSide:
    """Requests shown one side of the promise (a wait <= 15 minutes, or more): how many, how
    many a helper claimed within 15 minutes, how many are not decided yet."""

    requests: int = 0
    kept: int = 0
    undecided: int = 0

    def as_data(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "claimedWithin15": self.kept,
            "undecided": self.undecided,
            "claimedWithin15Share": _share(self.kept, self.requests - self.undecided),
        }


@dataclass
class PromiseTally:
    """The promise shown before paying (`quote`), kept or not: the window's requests made with
    a quote, by the side of 15 minutes they were shown (issue 17, "promise kept")."""

    within: PromiseSide = field(default_factory=PromiseSide)
    over: PromiseSide = field(default_factory=PromiseSide)

    def add(self, expected_minutes: float, claim_seconds: float | None, undecided: bool) -> None:
        """One quoted request: `undecided` if it still waits and was dispatchable for less than
        15 minutes when the report is made (not kept, nor broken yet)."""
        side = self.within if expected_minutes <= PROMISE_SECONDS / 60 else self.over
        side.requests += 1
        if claim_seconds is not None and claim_seconds <= PROMISE_SECONDS:
            side.kept += 1
        elif undecided:
            side.undecided += 1


def promise_kept(
    tally: PromiseTally, quote_counts: Mapping[tuple[bool, bool], int]
) -> dict[str, object]:
    """The report's `promiseKept`: both sides, and the quotes shown in the window, with those
    no request used (customers who walked away, or asked again: an upper bound of
    walk-aways)."""
    shown = sum(quote_counts.values())
    return {
        "shownWithin15": tally.within.as_data(),
        "shownOver15": tally.over.as_data(),
        "quotes": {
            "shown": shown,
            "unused": quote_counts.get((False, False), 0) + quote_counts.get((True, False), 0),
            "shownWithin15": quote_counts.get((False, False), 0)
            + quote_counts.get((False, True), 0),
            "unusedWithin15": quote_counts.get((False, False), 0),
            "shownOver15": quote_counts.get((True, False), 0) + quote_counts.get((True, True), 0),
            "unusedOver15": quote_counts.get((True, False), 0),
        },
    }


@dataclass(frozen=True)
class Counts:
    """The window's requests: by status, and per category by status."""

    by_status: Mapping[str, int]
    by_category: Mapping[str, Mapping[str, int]]

    @classmethod
    def from_cells(cls, cells: Mapping[tuple[str, str], int]) -> Counts:
        """From counts per (category, status)."""
        by_status: dict[str, int] = {}
        by_category: dict[str, dict[str, int]] = {}
        for (category, status), n in sorted(cells.items()):
            by_status[status] = by_status.get(status, 0) + n
            by_category.setdefault(category, {})[status] = n
        return cls(by_status, by_category)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _within_promise(seconds: Sequence[float]) -> int:
    return sum(1 for s in seconds if s <= PROMISE_SECONDS)


def histogram(seconds: Sequence[float]) -> list[dict[str, int | None]]:
    """Counts per minute of time to claim, `(m, m+1]` minutes (the first from 0 itself), then
    more than `HISTOGRAM_MINUTES`."""
    counts = [0] * (HISTOGRAM_MINUTES + 1)
    for value in seconds:
        counts[min(HISTOGRAM_MINUTES, max(0, math.ceil(value / 60) - 1))] += 1
    return [
        {
            "fromSeconds": minute * 60,
            "toSeconds": (minute + 1) * 60 if minute < HISTOGRAM_MINUTES else None,
            "count": count,
        }
        for minute, count in enumerate(counts)
    ]


def build_report(
    since: datetime,
    until: datetime,
    counts: Counts,
    claims: ClaimTally,
    push: Mapping[str, int],
    undecided: Mapping[str, int] | None = None,
    promise: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The contract's `dispatch_report` answer. `undecided` (per category): requests still
    waiting for their first claim and dispatchable for less than 15 minutes when the report is
    made; they count in the totals but not in the 15-minute share, which is not decided yet."""
    undecided = undecided or {}
    total = sum(counts.by_status.values())
    ordered = sorted(claims.seconds)
    by_category: dict[str, dict[str, object]] = {}
    for category, statuses in sorted(counts.by_category.items()):
        in_category = sum(statuses.values())
        seconds = sorted(claims.by_category.get(category, []))
        by_category[category] = {
            "total": in_category,
            "byStatus": dict(statuses),
            "claimed": len(seconds),
            "undecided": undecided.get(category, 0),
            "claimedWithin15MinShare": _share(
                _within_promise(seconds), in_category - undecided.get(category, 0)
            ),
            "timeToClaimSeconds": {"p50": percentile(seconds, 50), "p90": percentile(seconds, 90)},
            "expiryRate": _share(statuses.get("expired", 0), in_category),
            "cancellationRate": _share(statuses.get("cancelled", 0), in_category),
        }
    return {
        "window": {"since": since.isoformat(), "until": until.isoformat()},
        "promiseSeconds": PROMISE_SECONDS,
        "requests": {"total": total, "byStatus": dict(counts.by_status)},
        "claimed": len(ordered),
        "undecided": sum(undecided.values()),
        "timeToClaimSeconds": {
            "p50": percentile(ordered, 50),
            "p90": percentile(ordered, 90),
            "p99": percentile(ordered, 99),
        },
        "claimedWithin15MinShare": _share(
            _within_promise(ordered), total - sum(undecided.values())
        ),
        "expiryRate": _share(counts.by_status.get("expired", 0), total),
        "cancellationRate": _share(counts.by_status.get("cancelled", 0), total),
        "byCategory": by_category,
        "roundsPerClaim": round(claims.rounds / len(ordered), 3) if ordered else None,
        # every notification of the window: recipients told, pushes, dead tokens, texts
        "push": {
            "notifications": push.get("notifications", 0),
            "sent": push.get("sent", 0),
            "failed": push.get("failed", 0),
            "pruned": push.get("pruned", 0),
            "sms": push.get("sms", 0),
        },
        "timeToClaimHistogram": histogram(ordered),
        # the wait shown before paying, kept or not (`promise_kept`)
        "promiseKept": dict(promise) if promise is not None else promise_kept(PromiseTally(), {}),
    }
