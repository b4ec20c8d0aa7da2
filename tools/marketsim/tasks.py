"""Cloud Tasks, played on the simulation's clock: each task runs at its schedule time.

The product schedules its work as tasks: a timer per deadline (`requesttimer`), the outbox's
backstop (`drainoutbox`), the bulk settlements (`settlepayment`). Here `enqueue` puts the task
in the simulation's event queue at its `schedule_time` (at once without one) and the handler is
the task function's own code, so escalations, expiries and claim timeouts happen when the
product makes them happen, not at a minute tick. As Cloud Tasks does, a named task is refused
the second time, and a handler that fails is retried with backoff.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

Handler = Callable[[Mapping[str, Any]], Any]
At = Callable[[datetime, str, Callable[[], None]], None]

# Retries of a failure the queue retries (each task function's own exceptions: a settlement
# still pending, an outbox entry held, a contended timer), as the settlement queue's
# RetryConfig: from 10 s, doubling, at most 5 minutes, 30 attempts. Any other exception is a
# bug, and ends the run.
FIRST_BACKOFF, LONGEST_BACKOFF, MAX_ATTEMPTS = timedelta(seconds=10), timedelta(minutes=5), 30


class SimTasks:
    """The TaskQueue port over the simulation's event queue."""

    def __init__(self, at: At, now: Callable[[], datetime]) -> None:
        self._at, self._now = at, now
        self._handlers: dict[str, Handler] = {}
        self._retryable: dict[str, tuple[type[Exception], ...]] = {}
        self._names: set[str] = set()
        self._count = 0
        self.ran: Counter[str] = Counter()  # handler runs by queue, retries included
        self.gave_up: Counter[str] = Counter()

    def handle(self, queue: str, handler: Handler, *retryable: type[Exception]) -> None:
        """`handler` runs `queue`'s tasks; the exceptions in `retryable` are retried."""
        self._handlers[queue] = handler
        self._retryable[queue] = retryable

    def enqueue(
        self,
        queue: str,
        payload: Mapping[str, Any],
        *,
        task_id: str | None = None,
        schedule_time: datetime | None = None,
    ) -> bool:
        if queue not in self._handlers:
            raise ValueError(f"no task queue function {queue!r} in the simulation")
        if task_id is not None:
            if task_id in self._names:
                return False
            self._names.add(task_id)
        now = self._now()
        due = now if schedule_time is None else max(schedule_time, now)
        self._count += 1
        self._later(due, self._count, queue, dict(payload), 1)
        return True

    def _later(
        self, due: datetime, number: int, queue: str, payload: dict[str, Any], attempt: int
    ) -> None:
        key = f"task-{number:09d}-{attempt:02d}"  # unique: the heap never compares actions
        self._at(due, key, lambda: self._run(number, queue, payload, attempt))

    def _run(self, number: int, queue: str, payload: dict[str, Any], attempt: int) -> None:
        self.ran[queue] += 1
        try:
            self._handlers[queue](payload)
        except self._retryable[queue]:
            if attempt >= MAX_ATTEMPTS:
                self.gave_up[queue] += 1
                return
            backoff = min(FIRST_BACKOFF * 2 ** (attempt - 1), LONGEST_BACKOFF)
            self._later(self._now() + backoff, number, queue, payload, attempt + 1)
