"""Waves: each round of a request goes to the few helpers likeliest to take it.

A round used to go to every free matching helper: on a normal day a helper heard of a new job
every 1.6 minutes, and people mute an app like that. Now round `n` of a request goes to a wave
of `wave_size(n)` helpers: the first small, each later one `growth` wider, asking nobody twice
until every eligible helper has been asked; then it asks again those who are `rested` (asking
the same tired few again spends their attention on a job they passed on). Within a category
a wave takes,
from a random sample of the helpers this request has not asked, those who heard least in the
last hour and longest ago (a least-loaded choice among a random sample: alerts spread evenly,
nobody is asked twice a minute while another waits all day). It skips whoever holds a claim or
is in a session, and whoever used up their alert budget (`MAX_JOB_ALERTS_PER_HOUR`, or fewer if
they chose so): they still see every job on the board.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ALERTS = "helperAlerts"
ALERT_WINDOW = timedelta(hours=1)
# A wave is chosen among SAMPLE times its size of able candidates (free, under budget), drawn at
# random: enough that the least-loaded choice evens the load out (two choices already do, per
# the balls-into-bins results), few enough that the reads of a round stay a small multiple of
# its wave, whatever the pool.
SAMPLE = 3
# How many rounds of one request may ask one helper (asked again only once everyone eligible
# was asked): three texts about one job at most. The simulation (2 seeds, fatigue on and off)
# served as many or more at 3 than at 2 or without a cap: docs/simulation.md "Texts".
ASKS_AT_MOST = 3
# A round looks up at most this many times its wave of candidates: when nearly everyone is busy
# or spent (a storm), the wave is smaller rather than the reads the size of the pool.
LOOK_AT_MOST = 8


def alerts_path(uid: str) -> str:
    """`helperAlerts/{uid}` (server-written, read by its helper): the new-job alerts of the
    last hour, oldest first, and the budget in force."""
    return f"{ALERTS}/{uid}"


def wave_size(round_number: int, first: int, growth: int) -> int | None:
    """How many helpers round `round_number` (1, 2, ...) asks: `first`, then `growth` more
    each round; None: every eligible one (the broadcast of the first build, `first` = 0).
    Linear, not geometric: the simulation finds doubling waves spend the alert budgets on the
    few requests left waiting (docs/simulation.md, "Waves")."""
    if first <= 0:
        return None
    return first + max(0, growth) * max(0, round_number - 1)


def alert_limit(own: int | None, project: int) -> int:
    """A helper's alerts an hour: the project's cap, or fewer if they chose so."""
    if own is None:
        return project
    return max(0, min(own, project))


def recent(alerts: Iterable[datetime], now: datetime) -> list[datetime]:
    """The alerts of the last hour, oldest first (one stamped a moment after `now`, by a round
    that read the clock later, counts too)."""
    since = now - ALERT_WINDOW
    return sorted(a for a in alerts if a > since)


def alerts_of(data: Mapping[str, Any] | None) -> list[datetime]:
    return [a for a in (data or {}).get("alerts") or [] if isinstance(a, datetime)]


def budget_left(alerts: Sequence[datetime], limit: int, now: datetime) -> int:
    return max(0, limit - len(recent(alerts, now)))


def alerted(alerts: Sequence[datetime], limit: int, now: datetime) -> dict[str, Any]:
    """`helperAlerts/{uid}` after one more alert at `now` (older than an hour dropped)."""
    return {"alerts": sorted([*recent(alerts, now), now]), "limit": limit, "updatedAt": now}


@dataclass(frozen=True)
class Candidate:
    """A helper a wave may ask: their alerts of the last hour and whether they are busy."""

    uid: str
    alerts: tuple[datetime, ...]
    limit: int
    busy: bool = False

    def able(self, now: datetime) -> bool:
        """Free (no claim, no session) and under their alert budget."""
        return not self.busy and budget_left(self.alerts, self.limit, now) > 0


def may_ask_again(
    candidate: Candidate, asks: Mapping[str, int], picked: Collection[str], now: datetime
) -> bool:
    """Whether a helper this request asked already may be asked again by this wave: free and
    under budget, `rested`, not among the wave's `picked`, and asked fewer than ASKS_AT_MOST
    times of this request (a job nobody takes does not text the same person every round)."""
    return (
        candidate.able(now)
        and candidate.uid not in picked
        and asks.get(candidate.uid, 0) < ASKS_AT_MOST
        and rested(candidate, now)
    )


def rested(candidate: Candidate, now: datetime) -> bool:
    """Whether a helper this request asked already may be asked again: once everyone eligible
    was asked, only those who heard fewer than half their hour's budget of alerts (asking the
    same few again tires them for every other job: the simulation's evening served 48 % with
    fatigue asking anyone again, 55 % asking nobody, 59 % asking the rested)."""
    return 2 * len(recent(candidate.alerts, now)) < candidate.limit


def late(dispatchable_at: datetime | None, now: datetime, after_minutes: int) -> bool:
    """Whether a request dispatchable since `dispatchable_at` is late at `now`: it has waited
    longer than `after_minutes` (the promise), so its promise can no longer be kept. While a
    newer request of its category waits, a late one's rounds ask nobody: when helpers are
    short, their alerts go where a promise can still be kept, and the late one stays on the
    board (the simulation's storm: 46.9 -> 55.7 % within 15 with fatigue, 53.4 -> 63.7 %
    without; docs/simulation.md, "Promise first"). `after_minutes` 0: never late."""
    if after_minutes <= 0 or dispatchable_at is None:
        return False
    return now - dispatchable_at > timedelta(minutes=after_minutes)


def tiebreak(seed: str, uid: str) -> str:
    return hashlib.blake2b(f"{seed}/{uid}".encode(), digest_size=8).hexdigest()


def rank(candidates: Iterable[Candidate], seed: str, now: datetime) -> list[Candidate]:
    """Who is asked first: the fewest alerts in the last hour, then the longest since the last
    one, then a draw fixed by `seed` (the request and round: a retry ranks the same)."""

    def sortable(c: Candidate) -> tuple[int, float, str]:
        last_hour = recent(c.alerts, now)
        last = last_hour[-1].timestamp() if last_hour else 0.0
        return (len(last_hour), last, tiebreak(seed, c.uid))

    return sorted(candidates, key=sortable)


def choose(
    candidates: Iterable[Candidate], size: int | None, seed: str, now: datetime
) -> list[str]:
    """The wave: the best ranked of the candidates who are free and under budget (`size`
    None: all of them)."""
    ranked = rank([c for c in candidates if c.able(now)], seed, now)
    return [c.uid for c in (ranked if size is None else ranked[:size])]


def start_shard(request_id: str) -> int:
    """Where a request's waves start reading the directory: spread over the shards."""
    return int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=4).digest(), "big")
