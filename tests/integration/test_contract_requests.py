"""The `Requests` port: creation, transitions with their audit events, the sweeps' queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contract import NOW, request_doc
from homepro.domain.attention import plan_settle_failed
from homepro.domain.errors import InvalidTransition, NotFound
from homepro.domain.lifecycle import plan_authorized, plan_cancel, plan_claim, plan_release
from homepro.domain.models import Actor, PaymentOwed, UserDoc

CUSTOMER = Actor(uid="cust-1", role="customer")
HELPER = Actor(uid="h1", role="helper")
HANA = UserDoc(uid="h1", role="helper", display_name="Hana", is_available=True)


def _job(**fields):
    """`jobs/r1` of `request_doc()`: open, and nothing about its customer or its payment."""
    return {
        "category": "plumbing",
        "description": "The kitchen sink drips all night.",
        "amount": 4900,
        "currency": "usd",
        "status": "pending",
        "paymentStatus": "authorized",
        "open": True,
        "createdAt": NOW,
        "pendingSince": NOW,
        "updatedAt": NOW,
        **fields,
    }


def _created(backend):
    data = {
        "customerId": "cust-1",
        "category": "plumbing",
        "description": "The kitchen sink drips all night.",
        "amount": 4900,
        "currency": "usd",
        "status": "pending",
        "paymentStatus": "requires_payment",
        "clientRequestId": "c-1",
        "releaseCount": 0,
        "dispatchRound": 0,
        "escalation": 0,
    }
    return backend.stores.requests.create_request("r1", data, NOW), data


def test_create_request_stores_the_request_and_its_whole_audit_event(backend):
    (request, created), data = _created(backend)
    assert created and request.id == "r1" and request.version == 1

    stored = backend.dump()
    # what the creation owes (its trigger's work), in its commit: test_contract_outbox.py
    entry = stored.pop("outbox/r1-v1")
    assert (entry["before"], entry["after"]) == (None, stored["requests/r1"])
    assert stored == {
        "requests/r1": {**data, "version": 1, "createdAt": NOW, "updatedAt": NOW},
        "requests/r1/events/v000001-request_created": {
            "type": "request_created",
            "from": None,
            "to": "pending",
            "actor": {"uid": "cust-1", "role": "customer"},
            "reason": None,
            "at": NOW,
        },
        # what helpers may read of it, in the same commit (not open: no card held yet)
        "jobs/r1": {
            "category": "plumbing",
            "description": "The kitchen sink drips all night.",
            "amount": 4900,
            "currency": "usd",
            "status": "pending",
            "paymentStatus": "requires_payment",
            "open": False,
            "createdAt": NOW,
            "pendingSince": None,
            "updatedAt": NOW,
        },
    }


def test_a_second_create_returns_the_first_request_unchanged(backend):
    _created(backend)
    before = backend.dump()
    again, created = backend.stores.requests.create_request(
        "r1", {"customerId": "someone-else", "status": "pending"}, NOW + timedelta(minutes=1)
    )
    assert not created and again.customer_id == "cust-1"
    assert backend.dump() == before


def test_a_transition_writes_the_request_and_its_audit_event_in_one_commit(backend):
    backend.seed("requests/r1", request_doc())
    later = NOW + timedelta(minutes=2)

    request, transition = backend.stores.requests.apply(
        "r1", lambda r: plan_claim(r, HANA, HELPER, later), later
    )

    assert (request.status, request.version, transition.event_type) == (
        "claimed",
        2,
        "request_claimed",
    )
    stored = backend.dump()
    assert stored.pop("outbox/r1-v2")["after"]["status"] == "claimed"  # test_contract_outbox.py
    assert stored == {
        "requests/r1": request_doc(
            status="claimed",
            helperId="h1",
            helperDisplayName="Hana",
            claimedAt=later,
            firstClaimedAt=later,
            firstClaimRound=0,
            version=2,
            updatedAt=later,
        ),
        "requests/r1/events/v000002-request_claimed": {
            "type": "request_claimed",
            "from": "pending",
            "to": "claimed",
            "actor": {"uid": "h1", "role": "helper"},
            "reason": None,
            "at": later,
        },
        # the helper's open claims, counted in the same commit
        "helperClaims/h1": {"open": ["r1"]},
        # the job is no longer open
        "jobs/r1": {**_job(), "status": "claimed", "open": False, "updatedAt": later},
    }
    event = backend.stores.requests.get_event("r1", "v000002-request_claimed")
    assert event is not None and event.actor.uid == "h1" and event.from_ == "pending"


def test_a_refused_plan_writes_nothing(backend):
    backend.seed("requests/r1", request_doc(status="cancelled"))
    before = backend.dump()
    with pytest.raises(InvalidTransition):
        backend.stores.requests.apply("r1", lambda r: plan_claim(r, HANA, HELPER, NOW), NOW)
    with pytest.raises(NotFound):
        backend.stores.requests.apply("nope", lambda r: plan_claim(r, HANA, HELPER, NOW), NOW)
    assert backend.dump() == before


def test_a_transition_of_a_held_request_owes_the_release(backend):
    backend.seed("requests/r1", request_doc())
    request, _ = backend.stores.requests.apply(
        "r1", lambda r: plan_cancel(r, CUSTOMER, NOW, None), NOW
    )
    assert request.payment_owed == "release"
    stored = backend.dump()["requests/r1"]
    assert (stored["status"], stored["paymentOwed"], stored["cancelledBy"]) == (
        "cancelled",
        "release",
        "cust-1",
    )
    owed = list(backend.stores.requests.owed_requests(page_size=2))
    assert [r.id for r in owed] == ["r1"]


def test_stale_requests_are_found_oldest_first_across_pages(backend):
    for n in range(5):
        backend.seed(f"requests/p{n}", request_doc(pendingSince=NOW - timedelta(minutes=n)))
    backend.seed("requests/fresh", request_doc(pendingSince=NOW + timedelta(minutes=1)))
    backend.seed("requests/taken", request_doc(status="claimed", claimedAt=NOW))

    found = list(backend.stores.requests.stale_requests("pending", "pendingSince", NOW, 2))

    assert [q.request.id for q in found] == ["p4", "p3", "p2", "p1", "p0"]


def test_waiting_since_finds_only_a_pending_request_of_the_category_dispatchable_since(backend):
    requests = backend.stores.requests
    since = NOW - timedelta(minutes=15)
    backend.seed("requests/late", request_doc(dispatchableAt=since - timedelta(seconds=1)))
    backend.seed("requests/taken", request_doc(status="claimed", dispatchableAt=NOW))
    backend.seed("requests/other", request_doc(category="electrical", dispatchableAt=NOW))
    assert not requests.waiting_since("plumbing", since)
    assert requests.waiting_since("electrical", since)
    backend.seed("requests/on-time", request_doc(dispatchableAt=since))  # at `since`: counts
    assert requests.waiting_since("plumbing", since)
    assert not requests.waiting_since("plumbing", since + timedelta(seconds=1))


def test_a_request_changed_since_the_query_is_planned_again_on_what_it_is_now(backend):
    backend.seed("requests/r1", request_doc(status="claimed", helperId="h1", claimedAt=NOW))
    found = list(backend.stores.requests.stale_requests("claimed", "claimedAt", NOW, 10))
    # the helper releases it before the sweep's transaction runs
    backend.stores.requests.apply(
        "r1",
        lambda r: plan_release(r, HELPER, NOW, max_releases=3, reason="released_by_helper"),
        NOW,
    )
    planned_on = []

    def plan(r):
        planned_on.append(r.status.value)
        return plan_release(r, Actor.system(), NOW, max_releases=3, reason="claim_timeout")

    with pytest.raises(InvalidTransition):
        backend.stores.requests.apply("r1", plan, NOW, found[0])
    assert planned_on[-1] == "pending"
    stored = backend.dump()
    assert stored["requests/r1"]["version"] == 2
    assert stored["requests/r1"]["releasedBy"] == ["h1"]
    # the release took it off the helper's open claims (merged: made if it was missing)
    assert stored["helperClaims/h1"] == {"open": []}


def test_a_failed_settlement_is_counted_and_the_last_one_takes_it_off_the_retries(backend):
    backend.seed("requests/r1", {**request_doc(status="cancelled"), "paymentOwed": "release"})
    requests = backend.stores.requests
    for _ in range(2):
        requests.apply("r1", lambda r: plan_settle_failed(r, PaymentOwed.RELEASE, NOW, 2), NOW)
    stored = backend.dump()
    assert (stored["requests/r1"]["paymentAttempts"], stored["requests/r1"]["paymentOwed"]) == (
        2,
        None,
    )
    assert stored["requests/r1"]["paymentAttention"] == {
        "reason": "payment_attempts_exhausted",
        "since": NOW,
        "owed": "release",
        "attempts": 2,
    }
    assert stored["requests/r1/events/v000003-payment_attention"]["from"] == "authorized"
    assert list(requests.owed_requests(page_size=10)) == []  # nothing retries it


def test_undecided_holds_are_found_by_their_release_time_across_pages(backend):
    for n in range(3):
        attention = {"reason": "session_timed_out", "since": NOW, "releaseBy": NOW + timedelta(n)}
        backend.seed(f"requests/u{n}", request_doc(status="completed", paymentAttention=attention))
    backend.seed("requests/none", request_doc(status="completed", paymentAttention=None))
    later = {"reason": "session_timed_out", "since": NOW, "releaseBy": NOW + timedelta(days=9)}
    backend.seed("requests/later", request_doc(status="completed", paymentAttention=later))

    found = backend.stores.requests.undecided_requests(NOW + timedelta(days=2), 2)

    assert [q.request.id for q in found] == ["u0", "u1", "u2"]


def test_every_write_of_a_request_writes_its_job_in_the_same_commit(backend):
    _created(backend)
    requests = backend.stores.requests
    jobs = []
    for minutes, plan in (
        (1, lambda r, at: plan_authorized(r, "pi_1", at)),
        (2, lambda r, at: plan_claim(r, HANA, HELPER, at)),
        (3, lambda r, at: plan_release(r, HELPER, at, max_releases=3, reason="released")),
        (4, lambda r, at: plan_cancel(r, CUSTOMER, at, None)),
    ):
        at = NOW + timedelta(minutes=minutes)
        requests.apply("r1", lambda r, plan=plan, at=at: plan(r, at), at)
        stored = backend.dump()
        assert stored["jobs/r1"]["updatedAt"] == stored["requests/r1"]["updatedAt"] == at
        jobs.append(stored["jobs/r1"])

    assert [(j["status"], j["paymentStatus"], j["open"]) for j in jobs] == [
        ("pending", "authorized", True),
        ("claimed", "authorized", False),
        ("pending", "authorized", True),
        ("cancelled", "authorized", False),
    ]
    assert jobs[0]["pendingSince"] == NOW + timedelta(minutes=1)
    secret = {"customerId", "paymentIntentId", "clientRequestId", "helperId", "paymentOwed"}
    assert all(secret.isdisjoint(job) for job in jobs)
