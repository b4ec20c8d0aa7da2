"""Benchmark: `dispatch_report` over a day of N requests on the Firestore emulator.

Writes N request documents of one day (every status and category, most claimed, times drawn
with a seed) and N notification_sent events into a project of its own, then times the report
(the code behind the callable: 36 aggregation counts, the paged scan of first claims, the push
sums) and checks its counts against what was written (`make bench-report`).

Figures, with their dates: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

import emulator_client as ec
from homepro.adapters.firestore import firestore_stores
from homepro.services import reports
from homepro.services.context import Tuning

PROJECT = "demo-homepro-bench-report"
DAY = datetime(2026, 4, 1, tzinfo=UTC)
STATUSES = ["completed"] * 6 + ["cancelled", "expired", "claimed", "in_session", "pending"]
CATEGORIES = ["plumbing", "electrical", "hvac", "appliance", "carpentry", "general"]


def seed(db: firestore.Client, count: int, rng: random.Random) -> dict[str, int]:
    """`count` requests and as many notification events; the counts written, to check."""
    written = {"requests": 0, "claimed": 0, "sent": 0}
    batch = db.batch()
    for n in range(count):
        status = rng.choice(STATUSES)
        dispatchable = DAY + timedelta(seconds=rng.uniform(0, 86_000))
        doc: dict[str, Any] = {
            "category": rng.choice(CATEGORIES),
            "status": status,
            "dispatchableAt": dispatchable,
            "dispatchRound": 1,
        }
        if status not in ("pending", "expired") or rng.random() < 0.2:
            doc["firstClaimedAt"] = dispatchable + timedelta(seconds=rng.expovariate(1 / 240))
            doc["firstClaimRound"] = rng.randint(1, 3)
            written["claimed"] += 1
        batch.set(db.collection("requests").document(f"bench-{n:06d}"), doc)
        sent = rng.randint(0, 3)
        written["sent"] += sent
        batch.set(
            db.collection("analytics").document(f"notification_sent-bench-{n:06d}"),
            {
                "type": "notification_sent",
                "timestamp": dispatchable,
                "metadata": {"recipients": 1, "sent": sent, "failed": 0, "pruned": 0, "sms": 0},
                "source": "server",
            },
        )
        written["requests"] += 1
        if len(batch) >= 400:
            batch.commit()
            batch = db.batch()
    if len(batch):
        batch.commit()
    return written


def clear() -> None:
    url = f"{ec.FIRESTORE}/emulator/v1/projects/{PROJECT}/databases/(default)/documents"
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=60).read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    clear()
    db = firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
    started = time.perf_counter()
    written = seed(db, args.requests, random.Random(7))
    print(f"seeded {written['requests']} requests in {time.perf_counter() - started:.1f} s")
    tuning = Tuning()
    views = firestore_stores(db, tuning).views
    seconds = []
    report: dict[str, Any] = {}
    for _ in range(args.runs):
        started = time.perf_counter()
        report = reports.report(views, DAY, DAY + timedelta(days=1), as_of=DAY + timedelta(days=2))
        seconds.append(time.perf_counter() - started)
    assert report["requests"]["total"] == written["requests"], report["requests"]
    assert report["claimed"] == written["claimed"], report["claimed"]
    assert report["push"]["sent"] == written["sent"], report["push"]
    print(
        f"dispatch_report over {written['requests']} requests ({written['claimed']} claimed,"
        f" scanned {tuning.report_page_size} a page): median {statistics.median(seconds):.2f} s,"
        f" best {min(seconds):.2f} s over {args.runs} runs; counts match what was written"
    )
    clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
