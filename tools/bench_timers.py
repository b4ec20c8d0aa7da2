"""Benchmark: a deadline done by its own timer task vs by the one-minute sweep.

Run on a fresh stack (the first task pays the `requesttimer` worker's cold start),
`make bench-timers`:
    python3 tools/stack.py run -- .venv/bin/python tools/bench_timers.py [N] [SWEEP_N]

(a) A timer task, delivered as Cloud Tasks delivers it (a POST of `{"data": …}` to the task
    function; the emulator runs tasks at once, so "at its due time" is "now"): a session
    nobody joined, past its join timeout, ends `no_show`. Measured from the task's start (the
    time `run_timer` read its clock, written as the audit event's `at`) to the commit
    (Firestore's update time of that event), and from the bench's POST to the commit; the
    first delivery after the stack started is cold (a fresh worker), the next N warm.
(b) The product's own path: a request written already past its expiry; its creation trigger
    schedules the timer, the task expires it. From the write to the commit.
(c) The sweep: a pending request due at t is done at the next run (up to 60 s later: the
    schedule) plus the time the run takes to reach it. The sweep's code runs here, in this
    process, against the Firestore emulator in a project of its own (no trigger or timer
    there), over SWEEP_N pending requests: a scan where none is due (what every run re-reads
    today) and a run where all are due (escalation). Bound: due -> done <= 60 s + that time.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_admin import firestore
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore as gcf

import emulator_client as ec
from homepro import bootstrap
from homepro.adapters.clock import SystemClock
from homepro.adapters.firestore import firestore_stores
from homepro.domain.policy import Policy
from homepro.services import sweeps
from homepro.services.context import Context, Tuning
from homepro.testing import FakePayments, FakePush, FakeSms, FakeVideo, paid_request

SWEEP_PROJECT = "demo-homepro-bench-timers"
Db = Any


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def summary(values: list[float]) -> str:
    values = sorted(values)
    p = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
    return (
        f"n={len(values)}: p50 {ms(statistics.median(values))}, p90 {ms(p[89])}, "
        f"max {ms(values[-1])}"
    )


def event_of(db: Db, request_id: str, kind: str) -> Any:
    for snap in db.collection("requests").document(request_id).collection("events").stream():
        if snap.to_dict().get("type") == kind:
            return snap
    return None


def waiting_session(db: Db) -> tuple[str, datetime]:
    """An in-session request whose session has been waiting for 16 minutes; no card held (no
    settlement to queue). The session is written once the request's creation trigger is done,
    so that the trigger schedules nothing (it would schedule the join timeout of a session it
    finds, and the emulator would run it at once): the delivery below is the only timer."""
    request_id = f"bt-{uuid.uuid4().hex[:12]}"
    session_id = f"s-{request_id}"
    now = datetime.now(UTC)
    waiting_at = now - timedelta(minutes=16)
    doc = paid_request(
        request_id,
        now,
        customerId="bench-customer",
        status="in_session",
        helperId="bench-helper",
        sessionId=session_id,
        paymentIntentId=None,
    )
    db.collection("requests").document(request_id).set(doc)
    created = db.collection("analytics").document(f"request_created-{request_id}")
    deadline = time.monotonic() + 30
    while not created.get().exists:
        if time.monotonic() > deadline:
            raise SystemExit("the creation trigger did not run within 30 s")
        time.sleep(0.05)
    time.sleep(1.0)  # the trigger's last step (its timers) is done
    db.collection("sessions").document(session_id).set(
        {
            "requestId": request_id,
            "customerId": "bench-customer",
            "helperId": "bench-helper",
            "status": "waiting",
            "createdAt": waiting_at,
            "waitingAt": waiting_at,
            "version": 1,
        }
    )
    return request_id, waiting_at + timedelta(minutes=15)


def one_timer(db: Db) -> tuple[float, float]:
    """(task start -> commit, POST -> commit) of one join-timeout timer."""
    request_id, due = waiting_session(db)
    payload = {"requestId": request_id, "kind": "join-timeout", "due": due.isoformat()}
    posted = datetime.now(UTC)
    status, answer = ec.deliver_task("requesttimer", payload)
    if status != 200 or answer.get("result", {}).get("outcome") != "session_no_show":
        raise SystemExit(f"the timer answered {status} {answer}")
    snap = event_of(db, request_id, "session_ended")
    if snap is None:
        raise SystemExit("no session_ended event")
    committed = snap.update_time
    started = snap.to_dict()["at"]
    return (committed - started).total_seconds(), (committed - posted).total_seconds()


def one_product_path(db: Db) -> float:
    """Write -> commit of a request written past its expiry (trigger, enqueue, task)."""
    request_id = f"bx-{uuid.uuid4().hex[:12]}"
    old = datetime.now(UTC) - timedelta(minutes=31)
    doc = paid_request(request_id, old, customerId="bench-customer", paymentIntentId=None)
    written = datetime.now(UTC)
    db.collection("requests").document(request_id).set(doc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snap = event_of(db, request_id, "request_expired")
        if snap is not None:
            return float((snap.update_time - written).total_seconds())
        time.sleep(0.02)
    raise SystemExit("the request was not expired by its timer within 60 s")


def sweep_context() -> tuple[Db, Context]:
    db = gcf.Client(project=SWEEP_PROJECT, credentials=AnonymousCredentials())
    tuning = Tuning()
    ctx = Context(
        firestore_stores(db, tuning),
        SystemClock(),
        Policy(),
        FakePush(),
        FakeSms(),
        FakePayments(),
        FakeVideo(),
        tuning=tuning,
    )
    return db, ctx


def seed_pending(db: Db, count: int, escalation: int) -> None:
    """`count` pending requests for 6 minutes (escalation 1 due), `escalation` made already."""
    since = datetime.now(UTC) - timedelta(minutes=6)
    batch, n = db.batch(), 0
    for i in range(count):
        request_id = f"sw-{i:05d}-{uuid.uuid4().hex[:6]}"
        doc = paid_request(request_id, since, escalation=escalation, paymentIntentId=None)
        batch.set(db.collection("requests").document(request_id), doc)
        n += 1
        if n == 400:
            batch.commit()
            batch, n = db.batch(), 0
    if n:
        batch.commit()


def timed_sweep(ctx: Context) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    result = sweeps.expire_or_escalate(ctx)
    return time.perf_counter() - started, result.counts


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    sweep_n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    db = firestore.client(bootstrap.app())

    cold_run, cold_post = one_timer(db)
    warm = [one_timer(db) for _ in range(n)]
    product = [one_product_path(db) for _ in range(min(n, 10))]

    ec.clear_firestore(SWEEP_PROJECT)
    sweep_db, ctx = sweep_context()
    seed_pending(sweep_db, sweep_n, escalation=1)
    scan, scan_counts = timed_sweep(ctx)
    ec.clear_firestore(SWEEP_PROJECT)
    seed_pending(sweep_db, sweep_n, escalation=0)
    acting, act_counts = timed_sweep(ctx)
    ec.clear_firestore(SWEEP_PROJECT)

    print("timer task (join timeout -> no_show), the Functions emulator:")
    print(
        f"  cold (first after start): start -> commit {ms(cold_run)}, "
        f"POST -> commit {ms(cold_post)}"
    )
    print(f"  warm start -> commit, {summary([w[0] for w in warm])}")
    print(f"  warm POST -> commit,  {summary([w[1] for w in warm])}")
    print(
        "product path (written past expiry: trigger, enqueue, task), write -> commit, "
        + summary(product)
    )
    print(f"sweep over {sweep_n} pending requests (in this process, Firestore emulator):")
    print(f"  none due (a scan: {scan_counts}): {scan:.2f} s")
    print(f"  all due (escalation: {act_counts}): {acting:.2f} s")
    print(
        f"  due -> done by the sweep: up to 60 s (the schedule) + up to {acting:.1f} s "
        f"(the run) = {60 + acting:.1f} s at {sweep_n} due; by the timer: the warm figures above"
    )


if __name__ == "__main__":
    main()
