"""Benchmark: a dispatch round over pools of 1k, 10k and 50k available helpers (`make
bench-dispatch`).

Runs the product's round (`homepro.services.dispatch.run_round`) in this process against the
Firestore emulator and the FCM stand-in (answering each send after 50 ms), through a Firestore
client that counts what the round costs: every document a read returns (or looks up and does
not find; an empty query counts one, as Firestore bills), every write a commit carries.

For each pool size the directory is loaded directly: the helpers' entries (one device each, a
163-character token, as FCM issues) laid out in `dispatchShards` exactly as `rebuild_directory`
lays them out, every helper serving the request's category. Then, per size:

- the product's round (waves, when they are on this branch; until then today's round, which
  asks everyone): dispatchable -> last push accepted p50 / p95 over several rounds, Firestore
  reads and writes per round;
- broadcast, every helper of the category asked (`--broadcast-only` runs just that; with waves
  on the branch it is the product's round with the first wave as large as the pool): measured
  at 1k and 10k, computed at 50k from its per-helper cost (the line through 1k and 10k); the
  emulator cannot take 150k writes a round;
- the largest directory document in bytes (Firestore's rule: its name, each field name and
  value, plus 32), against the 1 MiB limit.

Figures, with their dates: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import statistics
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

import emulator_client as ec
from homepro import bootstrap
from homepro.adapters.firestore import firestore_stores
from homepro.adapters.firestore.dispatch import rebuilt_documents
from homepro.domain import directory
from homepro.domain.models import Device
from homepro.services import dispatch
from homepro.services.context import Context

CATEGORY = "general"
SIZES = (1_000, 10_000, 50_000)
TOKEN = 163  # characters in an FCM registration token
WAVES = importlib.util.find_spec("homepro.domain.waves") is not None


class Counted:
    """Documents read and written through one Firestore client (its GAPIC calls wrapped)."""

    def __init__(self, db: firestore.Client) -> None:
        self.reads = 0
        self.writes = 0
        self._lock = threading.Lock()
        api = db._firestore_api
        commit, batch_get, run_query = api.commit, api.batch_get_documents, api.run_query

        def counted_commit(*args: Any, request: Any = None, **kwargs: Any) -> Any:
            self._add(writes=len(_field(request, "writes")))
            return commit(*args, request=request, **kwargs)

        def counted_batch_get(*args: Any, request: Any = None, **kwargs: Any) -> Any:
            self._add(reads=len(_field(request, "documents")))  # found or missing: one read
            return batch_get(*args, request=request, **kwargs)

        def counted_query(*args: Any, **kwargs: Any) -> Iterator[Any]:
            found = 0
            for response in run_query(*args, **kwargs):
                if response._pb.HasField("document"):
                    found += 1
                yield response
            self._add(reads=max(found, 1))  # a query that finds nothing costs one read

        api.commit = counted_commit
        api.batch_get_documents = counted_batch_get
        api.run_query = counted_query

    def _add(self, reads: int = 0, writes: int = 0) -> None:
        with self._lock:
            self.reads += reads
            self.writes += writes

    def take(self) -> tuple[int, int]:
        with self._lock:
            found, self.reads, self.writes = (self.reads, self.writes), 0, 0
        return found


def _field(request: Any, name: str) -> list[Any]:
    value = request.get(name) if isinstance(request, dict) else getattr(request, name, None)
    return list(value or [])


def fcm_stats() -> dict[str, Any]:
    with urllib.request.urlopen(f"{ec.FCM}/stats", timeout=30) as resp:
        result: dict[str, Any] = json.loads(resp.read())
    return result


def load(db: firestore.Client, size: int) -> int:
    """An emptied database with `size` available helpers of CATEGORY in the directory; the
    largest directory document's bytes."""
    ec.clear_firestore()
    profile = {"role": "helper", "isAvailable": True, "categories": [CATEGORY]}
    entries = {}
    for n in range(size):
        uid = f"bench-helper-{n:05d}"
        token = f"bench-{n:05d}-".ljust(TOKEN, "x")
        device = Device(uid, f"t{n:032x}", token, "android")
        entries[uid] = directory.entry_for(profile, [device]) or ""
    now = datetime.now(UTC)
    writes = rebuilt_documents({CATEGORY: entries}, {}, now)
    largest = max(
        directory.shard_bytes(path, data["helpers"])
        for path, data in writes.items()
        if path.startswith(directory.SHARDS)
    )
    items = list(writes.items())
    for i in range(0, len(items), 20):  # shards of ~256 KB: a few per batch (10 MiB a commit)
        batch = db.batch()
        for path, data in items[i : i + 20]:
            batch.set(db.document(path), data)
        batch.commit()
    return largest


def write_request(db: firestore.Client) -> str:
    request_id = f"bench-{uuid.uuid4().hex[:10]}"
    now = datetime.now(UTC)
    db.collection("requests").document(request_id).set(
        {
            "customerId": "bench-customer",
            "category": CATEGORY,
            "description": "Benchmark request: a door that will not close.",
            "amount": 2900,
            "currency": "usd",
            "status": "pending",
            "paymentStatus": "authorized",
            "paymentIntentId": f"pi_{request_id}",
            "createdAt": now,
            "pendingSince": now,
            "updatedAt": now,
            "releaseCount": 0,
            "dispatchRound": 0,
            "version": 1,
        }
    )
    return request_id


@dataclasses.dataclass
class Rounds:
    latencies: list[float]
    reads: list[int]
    writes: list[int]
    targeted: list[int]

    def row(self) -> tuple[float, float, float, float, float]:
        ordered = sorted(self.latencies)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return (
            statistics.median(ordered),
            p95,
            statistics.mean(self.reads),
            statistics.mean(self.writes),
            statistics.mean(self.targeted),
        )


def run_rounds(ctx: Context, loader: firestore.Client, counted: Counted, rounds: int) -> Rounds:
    """`rounds` rounds of new requests, one after the other: dispatchable (the round starts)
    -> the last push the FCM stand-in accepted."""
    found = Rounds([], [], [], [])
    for _ in range(rounds):
        request_id = write_request(loader)
        ec.clear_fcm()
        counted.take()
        started = time.time()
        report = dispatch.run_round(ctx, request_id, "initial")
        reads, writes = counted.take()
        assert report is not None, "the round was not reserved"
        stats = fcm_stats()
        if stats["count"]:
            found.latencies.append(stats["last"] - started)
        else:
            found.latencies.append(time.time() - started)
        found.reads.append(reads)
        found.writes.append(writes)
        found.targeted.append(report.counts.helpers_targeted)
    return found


def directory_reads(ctx: Context, counted: Counted) -> dict[str, tuple[float, int, int]]:
    """The directory's part of a round alone: `directory_of` for a first wave (10 helpers) and
    for every helper, and today's `directory()`: (median seconds of 5, documents read, entries)."""
    found = {}
    calls = {
        "directory_of(want=10)": lambda: ctx.dispatch.directory_of(CATEGORY, start=7, want=10),
        "directory_of(want=None)": lambda: ctx.dispatch.directory_of(CATEGORY, start=7, want=None),
        "directory()": ctx.dispatch.directory,
    }
    for name, call in calls.items():
        times, reads, entries = [], 0, 0
        for _ in range(5):
            counted.take()
            started = time.perf_counter()
            entries = len(call())
            times.append(time.perf_counter() - started)
            reads = counted.take()[0]
        found[name] = (statistics.median(times), reads, entries)
    return found


def broadcast_policy(ctx: Context) -> Context:
    """The first build's round, asking every matching helper (WAVE_FIRST 0)."""
    return dataclasses.replace(ctx, policy=dataclasses.replace(ctx.policy, wave_first=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10, help="product rounds per size")
    parser.add_argument("--broadcast-rounds", type=int, default=3, help="at 1k (10k: 2)")
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--broadcast-only", action="store_true", help="skip the product rounds")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    loader = firestore.Client(project=ec.PROJECT, credentials=AnonymousCredentials())
    db = firestore.Client(project=ec.PROJECT, credentials=AnonymousCredentials())
    counted = Counted(db)
    base = bootstrap.context()
    ctx = dataclasses.replace(base, stores=firestore_stores(db, base.tuning))
    wide = broadcast_policy(ctx)
    print(
        f"dispatch round, FCM answering after 50 ms; product round: "
        f"{'waves' if WAVES else 'today (no waves on this branch: every helper)'}"
    )

    results: dict[int, dict[str, Any]] = {}
    for size in sizes:
        largest = load(loader, size)
        row: dict[str, Any] = {"largest": largest, "read": directory_reads(ctx, counted)}
        broadcast = size <= 10_000
        if WAVES and not args.broadcast_only:
            run_rounds(ctx, loader, counted, 1)  # warm the clients
            row["product"] = run_rounds(ctx, loader, counted, args.rounds).row()
        if broadcast:
            run_rounds(wide, loader, counted, 1)
            count = args.broadcast_rounds if size <= 1_000 else max(2, args.broadcast_rounds - 1)
            row["broadcast"] = run_rounds(wide, loader, counted, count).row()
            if row["broadcast"][4] < size:
                print(f"  warning: the broadcast asked {row['broadcast'][4]:,.0f} of {size:,}")
        results[size] = row
        print(f"  ran {size:,} helpers")

    # Broadcast where it was not measured: latency and writes per helper, the line through the
    # smallest and largest measured pools; reads, today's round's outside the directory (the
    # largest pool's) plus what `directory()` read at this size.
    measured = sorted(s for s, r in results.items() if "broadcast" in r)
    if len(measured) >= 2:
        a, b = measured[0], measured[-1]
        first, last = results[a]["broadcast"], results[b]["broadcast"]
        outside = last[2] - results[b]["read"]["directory()"][1]
        for size in sizes:
            if "broadcast" in results[size]:
                continue
            line = [
                lo + (hi - lo) * (size - a) / (b - a) for lo, hi in zip(first, last, strict=True)
            ]
            line[2] = outside + results[size]["read"]["directory()"][1]
            results[size]["broadcast_computed"] = tuple(line)

    print(f"\n  {'helpers':>8} {'directory read':24} {'median s':>9} {'reads':>6} {'entries':>8}")
    for size in sizes:
        for name, (seconds, reads, entries) in results[size]["read"].items():
            print(f"  {size:>8,} {name:24} {seconds:>9.4f} {reads:>6,} {entries:>8,}")

    print(
        f"\n  {'helpers':>8} {'round':22} {'p50 s':>7} {'p95 s':>7} {'reads':>8} "
        f"{'writes':>8} {'asked':>7} {'largest doc B':>14}"
    )
    for size in sizes:
        row = results[size]
        for name, key in (
            ("product (waves)", "product"),
            ("broadcast (measured)", "broadcast"),
            ("broadcast (computed)", "broadcast_computed"),
        ):
            if key not in row:
                continue
            p50, p95, reads, writes, asked = row[key]
            print(
                f"  {size:>8,} {name:22} {p50:>7.3f} {p95:>7.3f} {reads:>8,.0f} "
                f"{writes:>8,.0f} {asked:>7,.0f} {row['largest']:>14,}"
            )
    if not WAVES:
        print("  (no waves on this branch: the product's round is today's, i.e. the broadcast)")
    print(
        f"\n  largest directory document: "
        f"{max(r['largest'] for r in results.values()):,} B of 1,048,576 "
        f"(split at {directory.SHARD_SPLIT_BYTES:,})"
    )


if __name__ == "__main__":
    main()
