"""The Stripe budget, held across every instance: STRIPE_MAX_RPS tokens a second in two pools.

Stripe's rate limit is the account's, and the callables a user waits on (authorize, cancel, end
of session, refund, admin_settle) run in as many instances as there are users; a pacer inside
each one cannot hold a project-wide rate. Nor can the settlement queue's rate alone: Cloud
Tasks dispatches from a token bucket whose `max_burst_size` it picks itself, so a queue at
10/s may dispatch more than 10 in one second after a quiet spell. So every Stripe call first
takes a token of its pool: `i` (inline: the callables and the jobs' few calls,
STRIPE_MAX_RPS - STRIPE_BULK_RPS a second) or `b` (bulk: the settlement tasks,
STRIPE_BULK_RPS a second). A token is a slot of time: a pool at `rate` a second has a slot
every 1/(0.9 rate) s (`HEADROOM`), slot n starting at n times that on the clock, and the document
`stripeBudget/{pool}{rate}-{n}` is its token, created if absent. A create either makes the
document or fails (it exists), atomically, so each slot goes to one call whatever the number
of instances, without a transaction or a hot document (each slot is written once). A call
takes the first free slot from now on and sleeps until it starts: a project-wide pacer, whose
calls are spread evenly (no burst at the top of a second, which would cross into the next one
at Stripe with any network delay). A process remembers the slots it found taken and skips
them.

A call that finds no free slot within `max_wait` seconds, or finds Firestore failing (the
Stripe adapter catches it), goes on at once, logged: a user is delayed, never refused, by the
budget. Should Stripe then answer 429, the call fails as any Stripe error does (a settlement
task is retried by its queue; a callable answers `unavailable`). A token costs one Firestore create
(about 20 ms on the emulator; a slot found taken costs another). Slots are the instances'
clocks' (synchronized by Google's NTP to well under a slot).

The documents carry `expireAt` (a few minutes after their slot): a TTL policy on the
`stripeBudget` collection group's `expireAt` field deletes them. Rules deny clients.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homepro.adapters.documents import Documents

log = logging.getLogger(__name__)

BUDGET_COLLECTION = "stripeBudget"
# How long after its slot a token document is kept (the TTL policy deletes it after that).
TOKEN_TTL = timedelta(minutes=10)


INLINE, BULK = "i", "b"  # the pools
# A pool's slots come at 90 % of its rate. A call reaches Stripe some milliseconds after its
# slot starts, and that delay varies (network, a busy instance): a call late by more than the
# others moves into the next second there. At the full rate the two pools (20 a second) showed
# 21 in one second of 96 at localstripe, on the emulator under load (the stripe budget bench);
# at 90 % a call may be late by 1/9 s more than the others before a second holds more than
# STRIPE_MAX_RPS. The cost: an expiry storm drains at 9 a second instead of 10.
HEADROOM = 0.9


def token_path(slot: int, rate: int, pool: str = INLINE) -> str:
    return f"{BUDGET_COLLECTION}/{pool}{rate}-{slot}"


class SharedBudget:
    """At most one call of `pool` per slot of 1/(0.9 `rate`) s of the clock (so at most
    `rate` in any one second, with room for the calls' varying delays), over every process
    that shares `docs`."""

    def __init__(
        self,
        docs: Documents,
        rate: int,
        *,
        pool: str = INLINE,
        max_wait: float = 5.0,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._docs = docs
        self._pool = pool
        self._rate = max(1, rate)
        self._width = 1.0 / (self._rate * HEADROOM)  # seconds between two slots
        self._max_wait = max_wait
        self._now = now
        self._sleep = sleep
        self._lock = threading.Lock()
        self._taken: set[int] = set()  # slots this process saw taken (the recent ones)

    def take(self) -> bool:
        """Take the first free slot from now on and wait for it to start (up to `max_wait`).
        False when none was free within the wait (the caller goes on at once)."""
        now = self._now()
        slot = int(now / self._width)
        last = int((now + self._max_wait) / self._width)
        while slot <= last:
            if self._seen_taken(slot, now):
                slot += 1
                continue
            starts = slot * self._width
            token = {
                "pool": self._pool,
                "slot": slot,
                "second": int(starts),
                "expireAt": datetime.fromtimestamp(starts, UTC) + TOKEN_TTL,
            }
            taken = self._docs.create(token_path(slot, self._rate, self._pool), token)
            with self._lock:
                self._taken.add(slot)
            if taken:
                wait = starts - self._now()
                if wait > 0:
                    self._sleep(wait)
                return True
            slot = max(slot + 1, int(self._now() / self._width))
        log.warning(
            "stripe budget: no free slot within the wait, calling anyway",
            extra={"pool": self._pool, "rate": self._rate, "max_wait": self._max_wait},
        )
        return False

    def _seen_taken(self, slot: int, now: float) -> bool:
        with self._lock:
            if len(self._taken) > 4 * self._rate * (self._max_wait + 1):
                oldest = int(now / self._width) - self._rate
                self._taken = {s for s in self._taken if s >= oldest}
            return slot in self._taken
