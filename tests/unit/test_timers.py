"""Timers per request on the fakes: every deadline of every state is a named task scheduled for
exactly the moment the sweep would act; a task run early, or after the state moved on,
changes nothing; a due one does what the sweep does, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from homepro.domain.errors import InvalidInput
from homepro.domain.models import Actor, RequestDoc, RequestRef, SessionRef, StartSessionInput
from homepro.domain.timers import TimerKind
from homepro.services import claims, reactions, sessions, sweeps, timers
from homepro.services.concurrency import bounded_map
from homepro.testing import FakeDocuments, FakeTaskQueue, make_context, with_timer_queue

T0 = make_context().clock.now()
HELPER = Actor(uid="h1", role="helper")
CUSTOMER = Actor(uid="cust-1", role="customer")
CHECKLIST = {"water_shutoff_located": True, "area_clear": True, "customer_ready": True}
UNPAID = {"paymentStatus": "requires_payment", "pendingSince": None, "dispatchableAt": None}
CLAIMED = {"status": "claimed", "helperId": "h1", "claimedAt": T0 + timedelta(minutes=3)}

# Each state of a request and the deadlines it has (minutes after T0), by the default policy:
# ESCALATION_MINUTES 5, PENDING_TIMEOUT_MINUTES 30, CLAIM_TIMEOUT_MINUTES 15.
REQUEST_STATES: dict[str, tuple[dict[str, Any], list[tuple[TimerKind, int]]]] = {
    "dispatchable": ({}, [(TimerKind.ESCALATION, 5), (TimerKind.EXPIRY, 30)]),
    "escalated twice": ({"escalation": 2}, [(TimerKind.ESCALATION, 15), (TimerKind.EXPIRY, 30)]),
    "last escalation made": ({"escalation": 5}, [(TimerKind.EXPIRY, 30)]),
    "card not held yet": (UNPAID, [(TimerKind.UNPAID_EXPIRY, 30)]),
    "claimed": (CLAIMED, [(TimerKind.CLAIM_TIMEOUT, 18)]),
    "in session": ({"status": "in_session", "helperId": "h1"}, []),
    "expired": ({"status": "expired", "paymentStatus": "released"}, []),
    "cancelled": ({"status": "cancelled", "paymentStatus": "released"}, []),
    "completed": ({"status": "completed", "paymentStatus": "captured"}, []),
}


def queued_context(**fields: Any):
    store = FakeDocuments()
    store.add_request("r", **fields)
    ctx, queue = with_timer_queue(make_context(store, escalation_minutes=5))
    return store, ctx, queue


def request(store: FakeDocuments, request_id: str = "r") -> RequestDoc:
    return RequestDoc.model_validate({**store.requests[request_id], "id": request_id})


def timer_tasks(queue: FakeTaskQueue) -> list[tuple[str, Any]]:
    return [
        (t.payload["kind"], t.schedule_time) for t in queue.enqueued if t.queue == "requesttimer"
    ]


def payload(kind: TimerKind, minutes: float, request_id: str = "r") -> dict[str, str]:
    due = T0 + timedelta(minutes=minutes)
    return {"requestId": request_id, "kind": kind.value, "due": due.isoformat()}


# ---------------------------------------------------------------- scheduling


@pytest.mark.parametrize("state", REQUEST_STATES, ids=list(REQUEST_STATES))
def test_every_deadline_of_a_request_state_is_scheduled_for_exactly_its_due_time(state):
    fields, expected = REQUEST_STATES[state]
    store, ctx, queue = queued_context(**fields)

    assert timers.schedule_timers(ctx, None, request(store)) == len(expected)

    dues = [(kind.value, T0 + timedelta(minutes=m)) for kind, m in expected]
    assert timer_tasks(queue) == dues
    for task, (kind, due) in zip(queue.enqueued, dues, strict=True):
        assert task.payload == {"requestId": "r", "kind": kind, "due": due.isoformat()}
        assert task.task_id == f"timer-r-{kind}-{int(due.timestamp()) * 1000}"


ACTS = {
    TimerKind.ESCALATION: "request_escalated",
    TimerKind.EXPIRY: "request_expired",
    TimerKind.UNPAID_EXPIRY: "request_expired",
    TimerKind.CLAIM_TIMEOUT: "request_released",
}


@pytest.mark.parametrize("state", REQUEST_STATES, ids=list(REQUEST_STATES))
def test_each_due_time_is_the_sweep_s_own_moment(state):
    """A millisecond before a deadline the sweep does not do its action; at it, it does: the
    timers and the sweeps read the same policy fields the same way."""
    fields, expected = REQUEST_STATES[state]
    for kind, minutes in expected:
        due = T0 + timedelta(minutes=minutes)
        store = FakeDocuments()
        store.add_request("r", **fields)
        ctx = make_context(store, escalation_minutes=5)
        claim = kind == TimerKind.CLAIM_TIMEOUT
        run = sweeps.sweep_stale_claims if claim else sweeps.sweep_stale_requests
        ctx.clock.set(due - timedelta(milliseconds=1))
        run(ctx)
        assert ACTS[kind] not in store.event_types("r"), (kind, "the sweep acted early")
        ctx.clock.set(due)
        run(ctx)
        assert ACTS[kind] in store.event_types("r"), (kind, "the sweep did not act")


def test_session_deadlines_are_scheduled_when_it_waits_and_when_it_becomes_active():
    store, ctx, queue = queued_context(customerId="cust-1", **CLAIMED)
    before = dict(store.requests["r"])
    started = sessions.start_session(
        ctx, HELPER, StartSessionInput(request_id="r", checklist=CHECKLIST)
    )
    assert timer_tasks(queue) == []  # the callable answers without waiting on Cloud Tasks
    reactions.request_updated(ctx, "r", before, store.requests["r"])  # in_session: its trigger
    assert timer_tasks(queue) == [("join-timeout", T0 + timedelta(minutes=15))]

    ctx.clock.advance(minutes=4)
    sessions.join_session(ctx, CUSTOMER, SessionRef(session_id=started["sessionId"]))
    assert timer_tasks(queue)[1:] == [
        ("session-warning", T0 + timedelta(minutes=4 + 110)),
        ("session-max", T0 + timedelta(minutes=4 + 120)),
    ]
    sessions.join_session(ctx, CUSTOMER, SessionRef(session_id=started["sessionId"]))  # rejoin
    assert len(timer_tasks(queue)) == 3


def test_the_triggers_schedule_the_deadlines_of_the_state_just_entered():
    store, ctx, queue = queued_context()
    reactions.request_created(ctx, "r", store.requests["r"])
    assert [k for k, _ in timer_tasks(queue)] == ["escalation", "expiry"]

    before = dict(store.requests["r"])
    store.add_helper("h1", "tok-h1")
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r"))
    reactions.request_updated(ctx, "r", before, store.requests["r"])
    assert timer_tasks(queue)[-1] == ("claim-timeout", T0 + timedelta(minutes=15))

    # the same change delivered again: the same names, refused
    reactions.request_updated(ctx, "r", before, store.requests["r"])
    assert len(timer_tasks(queue)) == 3


def test_a_duplicate_schedule_is_refused_by_its_name():
    store, ctx, queue = queued_context()
    assert timers.schedule_timers(ctx, None, request(store)) == 2
    assert timers.schedule_timers(ctx, None, request(store)) == 0
    assert len(queue.enqueued) == 2


def test_a_document_edited_outside_a_transition_schedules_nothing():
    store, ctx, queue = queued_context()
    before = request(store)
    after = before.model_copy(update={"pending_since": T0 - timedelta(minutes=40)})
    assert timers.schedule_timers(ctx, before, after) == 0  # same version: not a transition
    assert queue.enqueued == []


def test_no_queue_schedules_nothing_and_a_failing_queue_is_left_to_the_sweep(caplog):
    store = FakeDocuments()
    store.add_request("r")
    assert timers.schedule_timers(make_context(store), None, request(store)) == 0

    store, ctx, queue = queued_context()
    queue.down = True
    assert timers.schedule_timers(ctx, None, request(store)) == 0
    assert "left to the sweep" in caplog.text


def test_task_ids_are_only_letters_digits_and_dashes():
    odd = "a_b/c:d"
    store, ctx, queue = queued_context()
    store.add_request(odd)
    timers.schedule_timers(ctx, None, request(store, odd))
    for task in queue.enqueued:
        assert task.task_id is not None
        assert all(c.isalnum() or c == "-" for c in task.task_id), task.task_id
        assert task.payload["requestId"] == odd


# ---------------------------------------------------------------- running


def test_a_timer_run_early_changes_nothing():
    store, ctx, _ = queued_context()
    ctx.clock.set(T0 + timedelta(minutes=30) - timedelta(seconds=2))
    assert timers.run_timer(ctx, payload(TimerKind.EXPIRY, 30)) == "early"
    assert store.event_types("r") == [] and store.requests["r"]["status"] == "pending"


def test_a_timer_a_hair_early_runs_as_at_its_due_time():
    store, ctx, _ = queued_context()
    ctx.clock.set(T0 + timedelta(minutes=30) - timedelta(milliseconds=400))
    assert timers.run_timer(ctx, payload(TimerKind.EXPIRY, 30)) == "request_expired"
    assert store.requests["r"]["expiredAt"] == T0 + timedelta(minutes=30)


def test_a_due_timer_does_the_transition_once_and_queues_its_settlement():
    store, ctx, queue = queued_context()
    ctx.clock.set(T0 + timedelta(minutes=30))
    assert timers.run_timer(ctx, payload(TimerKind.EXPIRY, 30)) == "request_expired"
    assert timers.run_timer(ctx, payload(TimerKind.EXPIRY, 30)) == "moved_on"

    assert store.event_types("r") == ["request_expired"]
    settle = [t for t in queue.enqueued if t.queue == "settlepayment"]
    assert [t.payload for t in settle] == [{"requestId": "r"}]
    assert ctx.payments.calls == []  # the settle queue calls Stripe, not the timer
    queue.run_all()
    assert store.requests["r"]["paymentStatus"] == "released"


def test_a_timer_after_the_state_moved_on_changes_nothing():
    store, ctx, _ = queued_context()
    store.add_helper("h1", "tok-h1")
    ctx.clock.set(T0 + timedelta(minutes=4))
    claims.claim_request(ctx, HELPER, RequestRef(request_id="r"))
    ctx.clock.set(T0 + timedelta(minutes=30))

    for kind, minutes in ((TimerKind.ESCALATION, 5), (TimerKind.EXPIRY, 30)):
        assert timers.run_timer(ctx, payload(kind, minutes)) == "moved_on"
    assert store.event_types("r") == ["request_claimed"]
    assert store.requests["r"]["status"] == "claimed"


def test_a_timer_of_an_earlier_pending_spell_does_nothing_after_a_release():
    """Released at minute 20 (pendingSince reset): minute 30 is no longer its expiry."""
    store, ctx, _ = queued_context(**CLAIMED)
    ctx.clock.set(T0 + timedelta(minutes=18))
    assert timers.run_timer(ctx, payload(TimerKind.CLAIM_TIMEOUT, 18)) == "request_released"
    assert timers.run_timer(ctx, payload(TimerKind.CLAIM_TIMEOUT, 18)) == "moved_on"
    ctx.clock.set(T0 + timedelta(minutes=30))
    assert timers.run_timer(ctx, payload(TimerKind.EXPIRY, 30)) == "moved_on"
    assert store.requests["r"]["status"] == "pending"


def test_a_released_claim_schedules_its_new_pending_deadlines():
    _store, ctx, queue = queued_context(**CLAIMED)
    ctx.clock.set(T0 + timedelta(minutes=18))
    timers.run_timer(ctx, payload(TimerKind.CLAIM_TIMEOUT, 18))
    assert timer_tasks(queue) == [
        ("escalation", T0 + timedelta(minutes=18 + 5)),
        ("expiry", T0 + timedelta(minutes=18 + 30)),
    ]


def test_an_escalation_timer_escalates_and_schedules_the_next_one():
    store, ctx, queue = queued_context()
    ctx.clock.set(T0 + timedelta(minutes=5))
    assert timers.run_timer(ctx, payload(TimerKind.ESCALATION, 5)) == "request_escalated"
    assert store.requests["r"]["escalation"] == 1
    assert timer_tasks(queue) == [("escalation", T0 + timedelta(minutes=10))]
    assert timers.run_timer(ctx, payload(TimerKind.ESCALATION, 5)) == "moved_on"

    # the sweep got to the second one first: the timer finds it made
    ctx.clock.set(T0 + timedelta(minutes=10, seconds=20))
    assert sweeps.sweep_stale_requests(ctx).counts["request_escalated"] == 1
    assert timers.run_timer(ctx, payload(TimerKind.ESCALATION, 10)) == "moved_on"
    assert store.event_types("r") == ["request_escalated", "request_escalated"]


def test_an_unpaid_request_expires_at_its_deadline():
    store, ctx, _ = queued_context(**UNPAID)
    ctx.clock.set(T0 + timedelta(minutes=30))
    assert timers.run_timer(ctx, payload(TimerKind.UNPAID_EXPIRY, 30)) == "request_expired"
    assert store.requests["r"]["status"] == "expired"


def test_session_timers_end_warn_and_time_out_as_the_sweep_does():
    store, ctx, _queue = queued_context(customerId="cust-1", **CLAIMED)
    store.add_helper("h1", "tok-h1")
    started = sessions.start_session(
        ctx, HELPER, StartSessionInput(request_id="r", checklist=CHECKLIST)
    )
    sessions.join_session(ctx, CUSTOMER, SessionRef(session_id=started["sessionId"]))
    # the join timeout of a session that was joined: moved on
    ctx.clock.set(T0 + timedelta(minutes=15))
    assert timers.run_timer(ctx, payload(TimerKind.JOIN_TIMEOUT, 15)) == "moved_on"

    ctx.clock.set(T0 + timedelta(minutes=110))
    assert timers.run_timer(ctx, payload(TimerKind.SESSION_WARNING, 110)) == "session_ending_warned"
    assert timers.run_timer(ctx, payload(TimerKind.SESSION_WARNING, 110)) == "moved_on"
    assert store.inbox("h1") and store.inbox("cust-1")

    ctx.clock.set(T0 + timedelta(minutes=120))
    assert timers.run_timer(ctx, payload(TimerKind.SESSION_MAX, 120)) == "session_timed_out"
    assert timers.run_timer(ctx, payload(TimerKind.SESSION_MAX, 120)) == "moved_on"
    assert store.requests["r"]["outcome"] == "timed_out"
    assert store.requests["r"]["paymentAttention"] is not None  # held for an admin's decision
    assert sweeps.sweep_stale_claims(ctx).counts == {}


def test_a_session_nobody_joined_ends_no_show_at_its_timer_and_its_hold_is_queued():
    store, ctx, queue = queued_context(customerId="cust-1", **CLAIMED)
    sessions.start_session(ctx, HELPER, StartSessionInput(request_id="r", checklist=CHECKLIST))
    ctx.clock.set(T0 + timedelta(minutes=15))
    assert timers.run_timer(ctx, payload(TimerKind.JOIN_TIMEOUT, 15)) == "session_no_show"
    assert timers.run_timer(ctx, payload(TimerKind.JOIN_TIMEOUT, 15)) == "moved_on"
    assert store.requests["r"]["outcome"] == "no_show"
    assert [t.payload for t in queue.enqueued if t.queue == "settlepayment"] == [{"requestId": "r"}]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"kind": "expiry", "due": T0.isoformat()}, "requestId"),
        ({"requestId": "r", "kind": "nap", "due": T0.isoformat()}, "kind"),
        ({"requestId": "r", "kind": "expiry", "due": "tomorrow"}, "due"),
        ({"requestId": "r", "kind": "expiry", "due": "2026-11-25T09:30:00"}, "due"),
    ],
)
def test_a_bad_payload_is_refused_naming_the_field(bad, field):
    _, ctx, _ = queued_context()
    with pytest.raises(InvalidInput) as err:
        timers.run_timer(ctx, bad)
    assert err.value.field == field


def test_a_missing_request_is_moved_on():
    _, ctx, _ = queued_context()
    ctx.clock.set(T0 + timedelta(minutes=30))
    assert timers.run_timer(ctx, payload(TimerKind.EXPIRY, 30, "gone")) == "moved_on"


def test_the_queue_runs_what_the_trigger_scheduled_at_its_time():
    """End to end on the fakes: created, the timers queued; at minute 30, run: expired once."""
    store, ctx, queue = queued_context()
    reactions.request_created(ctx, "r", store.requests["r"])
    scheduled = [t for t in queue.enqueued if t.queue == "requesttimer"]
    # as the emulator runs them: at once
    assert [queue.deliver(task) for task in scheduled] == ["early", "early"]
    for task in scheduled:  # Cloud Tasks: each at its schedule_time
        assert task.schedule_time is not None
        ctx.clock.set(max(ctx.clock.now(), task.schedule_time))
        queue.deliver(task)
    assert store.requests["r"]["status"] == "expired"
    assert store.event_types("r") == ["request_escalated", "request_expired"]


# ---------------------------------------------------------------- sweeps page as they go


def test_bounded_map_reads_its_items_as_the_work_goes():
    read = []

    def items():
        for n in range(1000):
            read.append(n)
            yield n

    results = bounded_map(lambda n: n * 2, items(), 4)
    assert next(results) == 0
    assert len(read) <= 2 * 4 + 1  # not the whole list
    assert list(results) == [n * 2 for n in range(1, 1000)]


def test_the_no_show_sweep_pages_through_more_sessions_than_a_page():
    store = FakeDocuments()
    for n in range(5):
        store.add_request(f"r{n}", customerId="cust-1", status="in_session", helperId="h1")
        store.sessions[f"s-r{n}"] = {
            "requestId": f"r{n}",
            "customerId": "cust-1",
            "helperId": "h1",
            "status": "waiting",
            "waitingAt": T0,
            "version": 1,
        }
    ctx = make_context(store, tuning=sweeps_tuning(page=2))
    ctx.clock.set(T0 + timedelta(minutes=15))
    assert sweeps.sweep_stale_claims(ctx).counts["session_no_show"] == 5


def sweeps_tuning(page: int):
    from homepro.services.context import Tuning

    return Tuning(waiting_page_size=page, sweep_page_size=page, sweep_concurrency=2)
