"""The Stripe budget, held across every instance: STRIPE_MAX_RPS tokens a second in two pools.

Stripe's rate limit is the account's, and the callables a user waits on (authorize, cancel, end
of session, refund, admin_settle) run in as many instances as there are users; a pacer inside
each one cannot hold a project-wide rate. Nor can the settlement queue's rate alone: Cloud
Tasks dispatches from a token bucket whose `max_burst_size` it picks itself, so a queue at
10/s may dispatch more than 10 in one second after a quiet spell. So every Stripe call first
takes a token of its pool: `i` (inline: the callables and the jobs' few calls,
STRIPE_MAX_RPS - STRIPE_BULK_RPS a second) or `b` (bulk: the settlement tasks,
STRIPE_BULK_RPS a second). A token is one of `rate` documents
`stripeBudget/{epochSecond}-{pool}{slot}`, created if absent. A create either makes the
document or fails (it exists), atomically, so at most `rate` calls in all take a token in any
one second, whatever the number of instances, without a transaction or a hot document: each
slot is written once, and callers start at a random slot. A process remembers the slots it
found taken in the current second and skips them.

A full second waits for the next one, up to `max_wait` seconds; past it the call goes on (a
warning is logged): Stripe answers a burst over the limit 429 with `Stripe-Should-Retry`, and
the library retries it, so a user is delayed, never refused, by the budget. A token costs one
Firestore create (about 1 ms on the emulator, tens of ms in production). Seconds are the
instances' clocks' (synchronized by Google's NTP, well under the second).

The documents carry `expireAt` (a few minutes after their second): a TTL policy on the
`stripeBudget` collection group's `expireAt` field deletes them. Rules deny clients.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homepro.adapters.documents import Documents

log = logging.getLogger(__name__)

BUDGET_COLLECTION = "stripeBudget"
# How long after its second a token document is kept (the TTL policy deletes it after that).
TOKEN_TTL = timedelta(minutes=10)


INLINE, BULK = "i", "b"  # the pools


def token_path(second: int, slot: int, pool: str = INLINE) -> str:
    return f"{BUDGET_COLLECTION}/{second}-{pool}{slot}"


class SharedBudget:
    """At most `rate` tokens of `pool` in any one second of the clock, over every process that
    shares `docs`."""

    def __init__(
        self,
        docs: Documents,
        rate: int,
        *,
        pool: str = INLINE,
        max_wait: float = 5.0,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._docs = docs
        self._pool = pool
        self._rate = max(1, rate)
        self._max_wait = max_wait
        self._now = now
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._second = -1
        self._taken: set[int] = set()  # slots of `_second` seen taken by this process

    def take(self) -> bool:
        """Take a token, waiting for a second with one left (up to `max_wait`). False when
        the wait ran out (the caller goes on anyway)."""
        started = self._now()
        while True:
            second = int(self._now())
            for slot in self._free_slots(second):
                expire_at = datetime.fromtimestamp(second, UTC) + TOKEN_TTL
                token = {"second": second, "pool": self._pool, "slot": slot, "expireAt": expire_at}
                if self._docs.create(token_path(second, slot, self._pool), token):
                    self._mark_taken(second, slot)
                    return True
                self._mark_taken(second, slot)
                if int(self._now()) != second:
                    break  # a new second began: its slots are free
            now = self._now()
            if now - started >= self._max_wait:
                log.warning(
                    "stripe budget: no token within the wait, calling anyway",
                    extra={
                        "pool": self._pool,
                        "rate": self._rate,
                        "waited_seconds": round(now - started, 3),
                    },
                )
                return False
            if int(now) == second:  # every slot of this second is taken: wait for the next
                self._sleep(min(second + 1 - now, started + self._max_wait - now) + 0.001)

    def _free_slots(self, second: int) -> list[int]:
        with self._lock:
            if second != self._second:
                self._second, self._taken = second, set()
            free = [s for s in range(self._rate) if s not in self._taken]
        start = self._rng.randrange(self._rate)
        return sorted(free, key=lambda s: (s - start) % self._rate)

    def _mark_taken(self, second: int, slot: int) -> None:
        with self._lock:
            if second == self._second:
                self._taken.add(slot)
