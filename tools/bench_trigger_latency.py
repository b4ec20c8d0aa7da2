"""Benchmark: time from a Firestore write of `requests/{id}` to the trigger's own write.

Run on a fresh stack (the first write pays the functions' cold start), `make bench-trigger`:
    python3 tools/stack.py run -- .venv/bin/python tools/bench_trigger_latency.py [N]

Figures, with their dates: docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

from firebase_admin import firestore

from homepro import bootstrap


def one(db: firestore.firestore.Client) -> float:
    """Seconds from the request write to `analytics/request_created-{id}` (a snapshot listener)."""
    request_id = f"bench-{uuid.uuid4().hex[:10]}"
    seen = threading.Event()
    watch = db.collection("analytics").document(f"request_created-{request_id}")
    arrived: list[float] = []

    def on_snapshot(snaps, _changes, _read_time) -> None:  # type: ignore[no-untyped-def]
        if snaps and snaps[0].exists and not seen.is_set():
            arrived.append(time.perf_counter())
            seen.set()

    listener = watch.on_snapshot(on_snapshot)
    time.sleep(0.2)  # let the listener attach
    now = datetime.now(UTC)
    started = time.perf_counter()
    db.collection("requests").document(request_id).set(
        {
            "customerId": "bench",
            "category": "general",
            "description": "benchmark request, please ignore",
            "amount": 2900,
            "status": "pending",
            "paymentStatus": "requires_payment",
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
    )
    if not seen.wait(60):
        raise SystemExit("the trigger did not write within 60 s")
    listener.unsubscribe()
    return arrived[0] - started


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    db = firestore.client(bootstrap.app())
    cold = one(db)
    warm = sorted(one(db) for _ in range(n))
    p = statistics.quantiles(warm, n=100)
    print(f"write -> trigger effect, cold (first after start): {cold * 1000:.0f} ms")
    print(
        f"warm, n={n}: p50 {statistics.median(warm) * 1000:.0f} ms, "
        f"p90 {p[89] * 1000:.0f} ms, max {warm[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
