"""Benchmark: expiring 10,000 stale pending requests, ours vs the seed's one-at-a-time loop.

Runs the services code the functions run, in this process, against the Firestore emulator
(alone: no Functions emulator, whose one-event-at-a-time trigger delivery would measure the
emulator), localstripe and the FCM stand-in (`make bench-sweep`):

  (a) ours: the sweep's transitions (`Tuning.sweep_concurrency` at a time), with the customer
      notification the `on_request_updated` trigger sends run for each expiry as triggers run
      in production (in parallel, here 32 at a time); vs the seed's loop, one request after
      the other (notify, update, release), timed on a sample of the same population (the
      database as full for both) and extrapolated;
  (b) the holds released through the pacer at STRIPE_MAX_RPS=20, in runs with a time budget;
  (c) the rest released with the pacer lifted; then every hold checked released exactly once.

Figures, with their dates: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_admin import firestore

import emulator_client as ec
from homepro import bootstrap, config
from homepro.adapters.stripe_payments import StripePayments
from homepro.services import reactions, sweeps
from homepro.services.context import Context, Tuning
from homepro.services.ports import PushMessage

Db = Any


def real_holds(stripe: StripePayments, count: int, tag: str) -> list[tuple[str, str]]:
    """`count` request ids `{tag}-{n}-…`, each with a hold confirmed at localstripe for customer
    `{tag}-cust-{n}`: (request id, PaymentIntent id), in order."""

    def one(n: int) -> tuple[str, str]:
        request_id = f"{tag}-{n:05d}-{uuid.uuid4().hex[:6]}"
        intent = stripe.create_hold(request_id, 4900, "usd", "pm_card_visa", f"{tag}-cust-{n}")
        held = stripe.confirm_hold(request_id, intent)
        assert held.payment_intent_id
        return request_id, held.payment_intent_id

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(count)))


def seed(db: Db, stripe: StripePayments, count: int, tag: str) -> list[str]:
    """`count` authorized requests pending for 40 minutes, each with a real hold and a customer
    with one device."""
    old = datetime.now(UTC) - timedelta(minutes=40)
    held = real_holds(stripe, count, tag)
    writes: list[tuple[Any, dict[str, Any]]] = []
    for n, (request_id, intent) in enumerate(held):
        customer = f"{tag}-cust-{n}"
        writes.append((db.collection("users").document(customer), {"role": "customer"}))
        writes.append(
            (
                db.collection("users").document(customer).collection("devices").document("d"),
                {"token": f"{customer}-web", "platform": "web"},
            )
        )
        writes.append(
            (
                db.collection("requests").document(request_id),
                {
                    "customerId": customer,
                    "category": "general",
                    "description": "Benchmark: a stale request nobody claimed.",
                    "amount": 4900,
                    "currency": "usd",
                    "status": "pending",
                    "paymentStatus": "authorized",
                    "paymentIntentId": intent,
                    "createdAt": old,
                    "pendingSince": old,
                    "updatedAt": old,
                    "releaseCount": 0,
                    "dispatchRound": 1,
                    "escalation": 5,
                    "version": 2,
                },
            )
        )
    for i in range(0, len(writes), 500):
        batch = db.batch()
        for ref, data in writes[i : i + 500]:
            batch.set(ref, data)
        batch.commit()
    return [request_id for request_id, _ in held]


def seed_loop(db: Db, ctx: Context, stripe: StripePayments, request_ids: list[str]) -> float:
    """The seed's sweep: for each stale request, notify the customer, mark it expired, release
    the hold — one after the other. Returns requests/s."""
    started = time.perf_counter()
    for request_id in request_ids:
        ref = db.collection("requests").document(request_id)
        request = ref.get().to_dict()
        devices = db.collection("users").document(request["customerId"]).collection("devices")
        tokens = [d.to_dict()["token"] for d in devices.stream()]
        ctx.push.send(
            [PushMessage(t, {"type": "request_expired", "requestId": request_id}) for t in tokens]
        )
        ref.update(
            {"status": "expired", "expiredAt": datetime.now(UTC), "updatedAt": datetime.now(UTC)}
        )
        stripe.release(request_id, request["paymentIntentId"])
    return len(request_ids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed-sample", type=int, default=300, help="requests the seed loop runs")
    parser.add_argument("--paced-seconds", type=float, default=30, help="budget of each paced run")
    parser.add_argument("--paced-runs", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=Tuning().sweep_concurrency, help="transactions at once"
    )
    args = parser.parse_args()

    db = firestore.client(bootstrap.app())
    ec.clear_firestore()
    fast = StripePayments("sk_test_bench", base_url=config.stripe_base_url(), max_rps=0)
    base = bootstrap.context()
    # the pacer path measured here: the sweep settles inline (no settlement queue: the bench
    # runs no Tasks emulator)
    base = dataclasses.replace(
        base,
        tasks=None,
        tuning=dataclasses.replace(base.tuning, sweep_concurrency=args.concurrency),
    )

    print(
        f"seeding {args.seed_sample} + {args.requests:,} stale requests with holds ...", flush=True
    )
    # One population for both: the seed's loop runs on a sample of it first (so it meets a
    # database as full as ours does), then the sweep expires the rest.
    everything = seed(db, fast, args.seed_sample + args.requests, "stale")
    seed_rate = seed_loop(db, base, fast, everything[: args.seed_sample])

    # (a) expiry + the customer's notification, the Stripe calls left owed for (b) and (c)
    ctx = dataclasses.replace(base, payments=fast)
    notify_pool = ThreadPoolExecutor(max_workers=32)
    notified: list[Any] = []
    started = time.perf_counter()
    result = sweeps.expire_or_escalate(ctx)
    expired_at = time.perf_counter() - started
    for request in result.owed:
        before = {
            **request.model_dump(by_alias=True, exclude={"id"}),
            "status": "pending",
            "version": request.version - 1,
        }
        after = request.model_dump(by_alias=True, exclude={"id"})
        notified.append(
            notify_pool.submit(reactions.request_updated, ctx, request.id, before, after)
        )
    for future in notified:
        future.result()
    notified_at = time.perf_counter() - started
    notify_pool.shutdown()
    expired = result.counts.get("request_expired", 0)

    # (b) paced releases, run after run with a time budget
    paced = dataclasses.replace(
        base,
        payments=StripePayments("sk_test_bench", base_url=config.stripe_base_url(), max_rps=20),
    )
    owed = list(result.owed)
    paced_rates = []
    for _ in range(args.paced_runs):
        run = sweeps.SweepResult()
        t0 = time.perf_counter()
        sweeps.settle_owed(paced, run, owed, time.monotonic() + args.paced_seconds)
        done = run.counts.get("payment_released", 0)
        paced_rates.append(done / (time.perf_counter() - t0))
        owed = owed[done:]  # the pool takes them in order; a straggler is left to (c)

    # (c) the rest with the pacer lifted, as many runs as it takes
    t0 = time.perf_counter()
    runs, lifted_released = 0, 0
    while True:
        run = sweeps.SweepResult()
        sweeps.retry_owed_payments(ctx, run, time.monotonic() + 420)
        runs += 1
        lifted_released += run.counts.get("payment_released", 0)
        if not run.counts:
            break
    lifted_rate = lifted_released / max(time.perf_counter() - t0, 1e-9)

    statuses = [
        s.to_dict()
        for s in db.collection("requests").select(["paymentStatus", "paymentOwed"]).stream()
    ]
    released = sum(
        1 for s in statuses if s.get("paymentStatus") == "released" and not s.get("paymentOwed")
    )
    events = sum(
        1
        for _ in db.collection_group("events")
        .where(filter=firestore.FieldFilter("type", "==", "payment_released"))
        .stream()
    )
    print(
        f"\n(a) {args.requests:,} stale requests: all expired in {expired_at:.1f} s "
        f"({expired:,} expired), customers notified by {notified_at:.1f} s"
    )
    seed_time = args.requests / seed_rate
    print(
        f"    seed loop: {seed_rate:.1f} requests/s on {args.seed_sample} "
        f"(-> {seed_time:.0f} s for {args.requests:,}); "
        f"ours is {seed_time / notified_at:.0f}x faster   (goal >= 20x)"
    )
    print(
        f"(b) STRIPE_MAX_RPS=20: releases/s per run {', '.join(f'{r:.1f}' for r in paced_rates)} "
        f"(median {statistics.median(paced_rates):.1f}; goal within 10 % of 20)"
    )
    print(f"(c) pacer lifted: {lifted_rate:.0f} releases/s against localstripe")
    print(
        f"    every hold: {released:,} of {args.requests:,} released, {events:,} payment_released "
        f"events (none twice: {events == released == args.requests}) after {runs} unpaced runs"
    )


if __name__ == "__main__":
    main()
