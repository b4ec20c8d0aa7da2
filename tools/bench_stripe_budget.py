"""Benchmark: one Stripe budget for the project (issue 16), on the local stack.

N paid requests pending past their expiry (holds made straight at localstripe, documents
written with the Admin SDK) are expired by `sweep_stale_requests`, run every `--sweep-every`
seconds as Cloud Scheduler would (a run may overlap the next), while 16 clients use the real
callables with real ID tokens: the even ones create a request and cancel it, the odd ones
create one, have their helper claim it, start the session, join it and end it `resolved` (a
capture). A worker is killed once, `--kill-after` seconds in: the fault point
`after_stripe_call` is armed (homepro/faults.py), and the next settlement past its Stripe call
(a queued task's, a sweep's or a callable's, whichever comes first) dies before recording it.

localstripe counts every API call it receives, whatever sends it
(tools/localstripe_server.py, `GET /_config/homepro-calls`), reset once the holds are seeded.
Printed: Stripe calls per second (the most in any one second, the median second) against
STRIPE_MAX_RPS; holds left neither captured nor released; holds settled twice (at
localstripe: a cancel or capture done more than once; in the audit trail: more than one
`payment_released`/`payment_captured` per request); the time until every hold is settled.

It uses nothing but the callables, the scheduled functions, the Admin SDK and localstripe, so
it runs unchanged against an older commit (copy it and tools/localstripe_server.py there):

    HOMEPRO_STACK_FAULTS=1 HOMEPRO_FAULTS=1 flock /tmp/homepro-stack.lock \\
        python3 tools/stack.py run -- .venv/bin/python tools/bench_stripe_budget.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_sweep import real_holds
from firebase_admin import firestore

import emulator_client as ec
from homepro import bootstrap
from homepro.adapters.stripe_payments import StripePayments
from homepro.services.roles import assign_role

Db = Any
STRIPE_MAX_RPS = 20  # the default, which the local stack keeps
CHECKLIST = {"water_shutoff_located": True, "area_clear": True, "customer_ready": True}
BODY = {
    "category": "plumbing",
    "description": "Benchmark: the kitchen sink drips all night long.",
    "paymentMethodId": "pm_card_visa",
}
CUSTOMERS_PER_CLIENT = 4  # MAX_REQUESTS_PER_CUSTOMER_PER_HOUR is 6: 24 rounds a client


def seed(db: Db, count: int, tag: str) -> dict[str, str]:
    """`count` authorized requests pending for 40 minutes (past PENDING_TIMEOUT_MINUTES), each
    with a real hold at localstripe; request id -> PaymentIntent id."""
    stripe = StripePayments(ec.STRIPE_KEY, base_url=ec.STRIPE, max_rps=0)
    old = datetime.now(UTC) - timedelta(minutes=40)
    held = dict(real_holds(stripe, count, tag))
    batch = db.batch()
    for n, (request_id, intent) in enumerate(held.items(), start=1):
        batch.set(
            db.collection("requests").document(request_id),
            {
                "customerId": f"{tag}-cust-{n - 1}",
                "category": "general",
                "description": "Benchmark: a stale request nobody claimed.",
                "amount": 4900,
                "currency": "usd",
                "status": "pending",
                "paymentStatus": "authorized",
                "paymentIntentId": intent,
                "createdAt": old,
                "dispatchableAt": old,
                "pendingSince": old,
                "updatedAt": old,
                "releaseCount": 0,
                "dispatchRound": 1,
                "escalation": 5,
                "version": 2,
            },
        )
        if n % 400 == 0:
            batch.commit()
            batch = db.batch()
    batch.commit()
    return held


def account(role: str, tag: str, n: int) -> ec.Account:
    email = f"{tag}-{role}-{n}@homepro.test"
    made = ec.sign_up(email)
    if role == "customer":
        return made
    assign_role(bootstrap.context(), bootstrap.identity(), email, role)
    firestore.client(bootstrap.app()).collection("users").document(made.uid).update(
        {"isAvailable": True}
    )
    return ec.sign_in(email)


class Client(threading.Thread):
    """One of the 16: rounds of create + cancel (even) or create + session + end (odd)."""

    def __init__(self, n: int, customers: list[ec.Account], helper: ec.Account) -> None:
        super().__init__(daemon=True)
        self.n, self.customers, self.helper = n, customers, helper
        self.stop = threading.Event()
        self.request_ids: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.latencies: list[float] = []

    def timed(self, name: str, data: dict[str, Any], token: str) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return ec.call(name, data, token)
        finally:
            self.latencies.append(time.perf_counter() - started)

    def run(self) -> None:
        rounds = 0
        while not self.stop.is_set() and rounds < 6 * len(self.customers):
            customer = self.customers[rounds % len(self.customers)]
            rounds += 1
            try:
                self.one_round(customer)
            except ec.CallError as err:
                self.outcomes[f"error {err.status}"] += 1
                time.sleep(1)
            except Exception as err:  # a worker killed under a call: the client goes on
                self.outcomes[f"error {type(err).__name__}"] += 1
                time.sleep(1)

    def one_round(self, customer: ec.Account) -> None:
        created = self.timed("create_request", BODY, customer.id_token)
        request_id = created["requestId"]
        self.request_ids.append(request_id)
        if created["paymentStatus"] != "authorized":
            self.outcomes[f"created {created['paymentStatus']}"] += 1
            return
        if self.n % 2 == 0:
            answer = self.timed("cancel_request", {"requestId": request_id}, customer.id_token)
            self.outcomes[f"cancel {answer['paymentStatus']}"] += 1
            return
        try:
            self.timed("claim_request", {"requestId": request_id}, self.helper.id_token)
            started = self.timed(
                "start_session",
                {"requestId": request_id, "checklist": CHECKLIST},
                self.helper.id_token,
            )
        except ec.CallError:  # not claimed or not started: the customer cancels it instead
            self.timed("cancel_request", {"requestId": request_id}, customer.id_token)
            raise
        self.timed("join_session", {"sessionId": started["sessionId"]}, customer.id_token)
        ended = self.timed(
            "end_session",
            {"sessionId": started["sessionId"], "outcome": "resolved"},
            self.helper.id_token,
        )
        self.outcomes[f"session {ended['paymentStatus']}"] += 1


def stripe_counts() -> dict[str, Any]:
    with urllib.request.urlopen(f"{ec.STRIPE}/_config/homepro-calls", timeout=30) as resp:
        result: dict[str, Any] = json.loads(resp.read())
    return result


def reset_stripe_counts() -> None:
    req = urllib.request.Request(f"{ec.STRIPE}/_config/homepro-calls", method="DELETE")
    urllib.request.urlopen(req, timeout=30).read()


def unsettled(db: Db, request_ids: list[str]) -> list[str]:
    refs = [db.collection("requests").document(r) for r in request_ids]
    left = []
    for i in range(0, len(refs), 300):
        for snap in db.get_all(refs[i : i + 300], field_paths=["paymentStatus", "paymentOwed"]):
            doc = snap.to_dict() or {}
            if doc.get("paymentOwed") or doc.get("paymentStatus") in ("authorized",):
                left.append(snap.id)
    return left


def settle_events(db: Db, request_ids: set[str]) -> Counter[str]:
    """`payment_released` + `payment_captured` audit events per request (of `request_ids`)."""
    found: Counter[str] = Counter()
    for kind in ("payment_released", "payment_captured"):
        query = db.collection_group("events").where(
            filter=firestore.FieldFilter("type", "==", kind)
        )
        for snap in query.select([]).stream():
            request_id = snap.reference.parent.parent.id
            if request_id in request_ids:
                found[request_id] += 1
    return found


def budget_latency(db: Db, calls: int = 200) -> str:
    """What a token of the shared budget adds to an inline call: `SharedBudget.take()` against
    the Firestore emulator, a rate high enough that nothing waits (an older commit has none)."""
    try:
        from homepro.adapters.firestore.documents import FirestoreDocuments
        from homepro.adapters.stripe_budget import SharedBudget
    except ImportError:
        return "no shared budget in this commit"
    budget = SharedBudget(FirestoreDocuments(db, bootstrap.TUNING), 100_000)
    took = []
    for _ in range(calls):
        started = time.perf_counter()
        budget.take()
        took.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(took, n=20)
    return f"p50 {statistics.median(took):.1f} ms, p95 {cuts[18]:.1f} ms ({calls} tokens)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--sweep-every", type=float, default=60, help="seconds between sweeps")
    parser.add_argument("--kill-after", type=float, default=10, help="seconds before the fault")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this long")
    parser.add_argument("--label", default="this commit")
    args = parser.parse_args()

    db = firestore.client(bootstrap.app())
    ec.clear_firestore()
    tag = f"sb{uuid.uuid4().hex[:4]}"
    print(f"[{args.label}] seeding {args.requests} expired holds and {args.clients} clients ...")
    latency = budget_latency(db)
    held = seed(db, args.requests, tag)
    clients = []
    for n in range(args.clients):
        customers = [account("customer", tag, n * 10 + c) for c in range(CUSTOMERS_PER_CLIENT)]
        clients.append(Client(n, customers, account("helper", tag, n)))
    # warm: every callable's worker started, as a running product's are
    warm = clients[1]
    warm.one_round(warm.customers[0])
    warm.request_ids.clear()
    warm.outcomes.clear()
    warm.latencies.clear()
    time.sleep(2)
    reset_stripe_counts()

    started = time.monotonic()
    sweeps: list[threading.Thread] = []

    def sweep() -> None:
        status = ec.run_scheduled("sweep_stale_requests")
        print(f"  sweep at {time.monotonic() - started:5.1f} s answered {status}", flush=True)

    def sweeper(stop: threading.Event) -> None:
        while not stop.is_set():
            thread = threading.Thread(target=sweep, daemon=True)
            thread.start()
            sweeps.append(thread)
            stop.wait(args.sweep_every)

    stop_sweeps = threading.Event()
    threading.Thread(target=sweeper, args=(stop_sweeps,), daemon=True).start()
    for client in clients:
        client.start()
    time.sleep(args.kill_after)
    db.collection("testFaults").document("after_stripe_call").set({"point": "after_stripe_call"})
    print(f"  fault after_stripe_call armed at {time.monotonic() - started:.1f} s", flush=True)

    seeded = list(held)
    while time.monotonic() - started < args.timeout:
        left = unsettled(db, seeded)
        if not left:
            break
        print(
            f"  {time.monotonic() - started:5.1f} s: {len(left)} of {len(seeded)} holds left",
            flush=True,
        )
        time.sleep(5)
    expired_done = time.monotonic() - started
    for client in clients:
        client.stop.set()
    for client in clients:
        client.join(timeout=120)
    # the clients' own requests: settled too (one killed under a call is left owed: the sweep)
    mine = [r for c in clients for r in c.request_ids]
    while time.monotonic() - started < args.timeout and unsettled(db, mine):
        time.sleep(2)
    duration = time.monotonic() - started
    stop_sweeps.set()
    counts = stripe_counts()
    killed = not db.collection("testFaults").document("after_stripe_call").get().exists

    # every hold: at localstripe, and in the audit trail
    everything = set(seeded) | set(mine)
    per_second = {int(s): sum(by.values()) for s, by in counts["seconds"].items()}
    first, last = min(per_second), max(per_second)
    window = [per_second.get(s, 0) for s in range(first, last + 1)]
    busy = [c for c in window if c]
    by_endpoint: Counter[str] = Counter()
    for by in counts["seconds"].values():
        by_endpoint.update(by)
    intents = {**{held[r]: r for r in seeded}}
    for request_id in mine:
        doc = db.collection("requests").document(request_id).get().to_dict() or {}
        if doc.get("paymentIntentId"):
            intents[doc["paymentIntentId"]] = request_id
    live = {
        r
        for r in mine
        if (db.collection("requests").document(r).get().to_dict() or {}).get("status")
        in ("pending", "claimed", "in_session")
    }
    statuses = Counter(
        ec.payment_intent(pi)["status"] for pi, r in intents.items() if r not in live
    )
    left_held = statuses.get("requires_capture", 0)
    twice_at_stripe = sum(
        1 for pi, done in counts["settled"].items() if pi in intents and sum(done.values()) > 1
    )
    events = settle_events(db, everything)
    twice_in_audit = sum(1 for n in events.values() if n > 1)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    for client in clients:
        outcomes.update(client.outcomes)
        latencies += client.latencies

    print(f"\n== Stripe budget bench: {args.label} ==")
    print(
        f"load: {len(seeded)} expiries + {args.clients} clients ({len(mine)} requests: "
        f"{dict(sorted(outcomes.items()))}); a worker killed: {killed}"
    )
    print(
        f"Stripe calls/s at localstripe (all sources): max {max(window)} in any one second, "
        f"p50 {statistics.median(busy):.0f} (busy seconds), vs STRIPE_MAX_RPS = {STRIPE_MAX_RPS}; "
        f"seconds over it: {sum(1 for c in window if c > STRIPE_MAX_RPS)} of {len(window)}"
    )
    print(f"  calls by endpoint: {dict(by_endpoint.most_common())}")
    print(f"  per second: {window}")
    busiest = max(counts["seconds"].items(), key=lambda item: sum(item[1].values()))
    print(f"  the busiest second: {busiest[1]}")
    print(
        f"holds left uncaptured/unreleased: {left_held} (of {len(intents) - len(live)} "
        f"whose request is over: {dict(statuses)}; {len(live)} requests still live, not counted)"
    )
    print(
        f"settled twice: {twice_at_stripe} at localstripe, {twice_in_audit} in the audit trail "
        f"({sum(events.values())} settle events for {len(everything)} requests)"
    )
    print(
        f"duration: the {len(seeded)} expiries settled in {expired_done:.0f} s, everything in "
        f"{duration:.0f} s; callable p50 {statistics.median(latencies):.2f} s, "
        f"p95 {statistics.quantiles(latencies, n=20)[18]:.2f} s"
    )
    print(f"a shared-budget token (Firestore emulator, one process, no waiting): {latency}")
    for thread in sweeps:
        thread.join(timeout=1)


if __name__ == "__main__":
    main()
