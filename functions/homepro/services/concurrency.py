"""Bounded concurrency for I/O-bound fan-outs (Firestore, Stripe), in the order given."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """`fn` over `items`, `workers` at a time, results in order; one worker runs inline.

    `items` is read as the work goes (at most twice `workers` ahead of the results taken), so
    a paged query is read page by page, never held whole: `Executor.map` would submit every
    item first."""
    if workers <= 1:
        yield from map(fn, items)
        return
    window = 2 * workers
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # a failure or a consumer that stopped: what has not started never will
            for future in pending:
                future.cancel()
