"""Fault injection for tests: named points where a worker dies (`os._exit(1)`), so that the
emulator tests can show what recovers the work it was doing.

Off unless the environment variable `HOMEPRO_FAULTS` is `1`; only the local test stack sets it
(tools/emulator_stack/environment.py writes it into functions/.env.local). Off, `fault()` is one
dictionary lookup: no I/O, and this module imports nothing but `os` (cold start).

On, a point is armed ONCE by a token: the document `testFaults/{point}` that a test writes with
the Admin SDK (`arm(db, point)`). The first worker that reaches the point deletes the token with
a delete conditioned on the update time it read (only one deleter can win), logs, flushes and
exits; the retry or the sweep that follows finds no token and goes on. The token is read and
deleted with the Firestore client directly, not through the stores: it is test machinery, not a
port of the product, and it must not count as one of the request's writes. `firestore.rules`
denies `testFaults` to every client.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

ENV = "HOMEPRO_FAULTS"
COLLECTION = "testFaults"

# The points (issue 16, item 5). Each names the moment the worker dies.
AFTER_ROUND_RESERVED = "after_round_reserved"  # services/dispatch.py: round reserved, none sent
MID_FANOUT = "mid_fanout"  # adapters/fcm.py: the first push answered, the others in flight
AFTER_COMMIT_BEFORE_OUTBOX = "after_commit_before_outbox"  # reactions.py: committed, no work done
BEFORE_STRIPE_CALL = "before_stripe_call"  # services/payments.py settle: owed, not called
AFTER_STRIPE_CALL = "after_stripe_call"  # settle: Stripe settled, `paymentOwed` not cleared
POINTS = frozenset(
    {
        AFTER_ROUND_RESERVED,
        MID_FANOUT,
        AFTER_COMMIT_BEFORE_OUTBOX,
        BEFORE_STRIPE_CALL,
        AFTER_STRIPE_CALL,
    }
)


class Tokens(Protocol):
    def take(self, point: str) -> bool:
        """Consume the token of `point` atomically: True for the one caller that took it."""
        ...


_tokens: Tokens | None = None  # built on the first armed check (tests may install their own)


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


def fault(point: str) -> None:
    """Die here if faults are on and `point` is armed (once); otherwise return at once."""
    if os.environ.get(ENV) != "1":
        return
    _maybe_die(point)


def _maybe_die(point: str) -> None:
    if point not in POINTS:
        raise ValueError(f"unknown fault point {point!r}: the points are {sorted(POINTS)}")
    global _tokens
    if _tokens is None:
        _tokens = FirestoreTokens()
    if not _tokens.take(point):
        return
    import logging
    import sys

    logging.getLogger("homepro.faults").error(
        "FAULT: the worker dies here (an armed test fault)", extra={"fault_point": point}
    )
    for handler in logging.getLogger("homepro").handlers + logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    _exit(1)


_exit: Callable[[int], Any] = os._exit  # a unit test replaces it


def use_tokens(tokens: Tokens | None) -> None:
    """Install a token store (unit tests); None goes back to Firestore's, built when needed."""
    global _tokens
    _tokens = tokens


class FirestoreTokens:
    """`testFaults/{point}`, taken by a delete conditioned on the update time that was read."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def _db(self) -> Any:
        if self._client is None:
            from firebase_admin import firestore

            from homepro import bootstrap

            self._client = firestore.client(bootstrap.app())
        return self._client

    def take(self, point: str) -> bool:
        from google.api_core import exceptions

        db = self._db()
        ref = db.collection(COLLECTION).document(point)
        snapshot = ref.get()
        if not snapshot.exists:
            return False
        try:
            ref.delete(option=db.write_option(last_update_time=snapshot.update_time))
        except (exceptions.FailedPrecondition, exceptions.NotFound):
            return False  # another worker took it first
        return True


class MemoryTokens:
    """The in-memory token store of the unit tests."""

    def __init__(self) -> None:
        self.armed: set[str] = set()

    def arm(self, point: str) -> None:
        self.armed.add(point)

    def take(self, point: str) -> bool:
        try:
            self.armed.remove(point)
        except KeyError:
            return False
        return True


def arm(db: Any, point: str) -> None:
    """Arm `point` once (tests, with an Admin SDK Firestore client)."""
    if point not in POINTS:
        raise ValueError(f"unknown fault point {point!r}")
    db.collection(COLLECTION).document(point).set({"point": point})


def armed(db: Any, point: str) -> bool:
    """Whether the token of `point` is still there (tests: did the worker reach the point?)."""
    return bool(db.collection(COLLECTION).document(point).get().exists)
