"""Benchmark: a dispatch round, from dispatchable to the last push accepted by FCM.

Runs on the local stack with the FCM stand-in answering each send after 50 ms (`make
bench-dispatch`). Ours: a request is written authorized, the `on_request_created` trigger in the
Functions emulator runs the round (the dispatch directory, then FCM v1 on libcurl's multi
interface, 500 in flight). The seed's way, in the same run on the same data: read the helpers and
their devices, then firebase-admin `send_each_for_multicast`, 500 tokens at a time, one call
after the other.

    phase 1: 1,000 helpers / 1,500 devices, N rounds: p50 / p95 dispatchable -> last message
    phase 2: 10,000 helpers / 15,000 devices: messages/s and time to the last message, both ways

Figures, with their dates: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import firebase_admin
from firebase_admin import credentials, firestore, messaging
from google.oauth2 import credentials as oauth2

import emulator_client as ec
from homepro import bootstrap
from homepro.domain import directory
from homepro.domain.models import Device

Db = Any


class StaticToken(credentials.Base):  # type: ignore[misc]
    """A credential that needs no network (an anonymous one aborts a whole multicast on 401)."""

    def get_credential(self) -> oauth2.Credentials:
        return oauth2.Credentials(token="local-fcm-token")


def fcm_stats() -> dict[str, Any]:
    with urllib.request.urlopen(f"{ec.FCM}/stats", timeout=30) as resp:
        result: dict[str, Any] = json.loads(resp.read())
    return result


def wait_for_messages(expected: int, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = fcm_stats()
        if stats["count"] >= expected:
            return stats
        time.sleep(0.02)
    raise SystemExit(f"only {fcm_stats()['count']} of {expected} messages arrived")


def seed_helpers(db: Db, start: int, count: int, shards: dict[str, dict[str, Any]]) -> int:
    """Helpers `start..start+count`, every other one with two devices; returns devices added.

    The seed's way reads profiles and devices (`benchUsers/{uid}` and its `devices`); ours
    reads the dispatch directory, which the triggers on `users` and `devices` keep current in
    steady state. Both are written here from the same helpers. (`benchUsers`, not `users`:
    25,000 writes to `users` would queue 25,000 trigger runs, one after the other, in the
    emulator.)"""
    writes: list[tuple[Any, dict[str, Any]]] = []
    devices = 0
    for n in range(start, start + count):
        uid = f"bench-helper-{n:05d}"
        profile = {"role": "helper", "isAvailable": True}
        writes.append((db.collection("benchUsers").document(uid), profile))
        found = []
        for d in range(2 if n % 2 else 1):
            token = f"bench-{n:05d}-{d}"
            ref = db.collection("benchUsers").document(uid).collection("devices").document(f"d{d}")
            writes.append((ref, {"token": token, "platform": "android"}))
            found.append(Device(uid, f"d{d}", token, "android"))
            devices += 1
        shards.setdefault(directory.shard_of(uid), {})[uid] = directory.entry_for(profile, found)
    for name, helpers in shards.items():
        writes.append((db.collection(directory.DIRECTORY).document(name), {"helpers": helpers}))
    for i in range(0, len(writes), 500):
        batch = db.batch()
        for ref, data in writes[i : i + 500]:
            batch.set(ref, data)
        batch.commit()
    return devices


def write_request(db: Db) -> tuple[str, float]:
    request_id = f"bench-{uuid.uuid4().hex[:10]}"
    now = datetime.now(UTC)
    data = {
        "customerId": "bench-customer",
        "category": "general",
        "description": "Benchmark request: a door that will not close.",
        "amount": 2900,
        "currency": "usd",
        "status": "pending",
        "paymentStatus": "authorized",
        "paymentIntentId": f"pi_{request_id}",
        "createdAt": now,
        "pendingSince": now,
        "updatedAt": now,
        "version": 1,
    }
    started = time.time()
    db.collection("requests").document(request_id).set(data)
    return request_id, started


def wait_round_finished(db: Db, request_id: str) -> None:
    ref = (
        db.collection("requests").document(request_id).collection("dispatches").document("initial")
    )
    for _ in range(6000):
        data = ref.get().to_dict()
        if data and data.get("finishedAt"):
            return
        time.sleep(0.05)
    raise SystemExit(f"round of {request_id} did not finish")


def ours(db: Db, devices: int) -> tuple[float, float]:
    """(seconds from dispatchable to the last message, messages/s from first to last)."""
    ec.clear_fcm()
    request_id, started = write_request(db)
    stats = wait_for_messages(devices)
    wait_round_finished(db, request_id)
    return stats["last"] - started, devices / (stats["last"] - stats["first"])


def seed_way(db: Db, app: firebase_admin.App, devices: int) -> tuple[float, float]:
    """The seed's sketch: read helpers and tokens, then one multicast of 500 after the other."""
    ec.clear_fcm()
    started = time.time()
    helpers = {
        snap.id
        for snap in db.collection("benchUsers")
        .where(filter=firestore.FieldFilter("role", "==", "helper"))
        .where(filter=firestore.FieldFilter("isAvailable", "==", True))
        .stream()
    }
    tokens = [
        snap.get("token")
        for snap in db.collection_group("devices").stream()
        if snap.reference.parent.parent.id in helpers
    ]
    for i in range(0, len(tokens), 500):
        messaging.send_each_for_multicast(
            messaging.MulticastMessage(
                tokens=tokens[i : i + 500],
                notification=messaging.Notification(title="New Job Available!", body="general"),
                data={"type": "new_request", "requestId": "seed", "category": "general"},
            ),
            app=app,
        )
    stats = wait_for_messages(devices)
    return stats["last"] - started, devices / (stats["last"] - stats["first"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="phase 1 rounds (p95)")
    parser.add_argument("--repeats", type=int, default=3, help="phase 2 runs of each approach")
    args = parser.parse_args()

    db = firestore.client(bootstrap.app())
    messaging._MessagingService.FCM_URL = f"{ec.FCM}/v1/projects/{{0}}/messages:send"
    seed_app = firebase_admin.initialize_app(
        StaticToken(), {"projectId": ec.PROJECT}, name="seed-bench"
    )
    ec.clear_firestore()

    shards: dict[str, dict[str, Any]] = {}
    devices = seed_helpers(db, 0, 1_000, shards)
    ours(db, devices)  # warm the function worker
    latencies = sorted(ours(db, devices)[0] for _ in range(args.rounds))
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[18]
    print(f"\nphase 1: 1,000 helpers, {devices:,} devices, {args.rounds} rounds (ours)")
    print(
        f"  dispatchable -> last message: p50 {statistics.median(latencies):.3f} s, "
        f"p95 {p95:.3f} s, max {latencies[-1]:.3f} s   (goal: p95 <= 1 s)"
    )

    devices += seed_helpers(db, 1_000, 9_000, shards)
    ours_runs = [ours(db, devices) for _ in range(args.repeats)]
    seed_runs = [seed_way(db, seed_app, devices) for _ in range(args.repeats)]
    o_time = statistics.median(t for t, _ in ours_runs)
    s_time = statistics.median(t for t, _ in seed_runs)
    o_rate = statistics.median(r for _, r in ours_runs)
    s_rate = statistics.median(r for _, r in seed_runs)
    print(
        f"\nphase 2: 10,000 helpers, {devices:,} devices, FCM answering after 50 ms, "
        f"median of {args.repeats}"
    )
    print(f"  {'approach':36} {'to last message':>15} {'end to end':>11} {'while sending':>14}")
    for name, elapsed, rate in (
        ("ours (trigger, FCM v1 on libcurl)", o_time, o_rate),
        ("seed (send_each_for_multicast x500)", s_time, s_rate),
    ):
        print(f"  {name:36} {elapsed:>13.2f} s {devices / elapsed:>9,.0f}/s {rate:>12,.0f}/s")
    print(
        f"  ratio (time to last message): ours is {s_time / o_time:.1f}x faster"
        "   (goal: >= 5,000 messages/s)"
    )


if __name__ == "__main__":
    main()
