"""The `Sessions` port: a session started with its request, joined and ended, each with its
audit event in the request's trail; the join-timeout query; the checklists."""

from __future__ import annotations

from datetime import timedelta

from contract import NOW, request_doc
from homepro.domain.models import Actor, Outcome
from homepro.domain.sessions import (
    DEFAULT_CHECKLISTS,
    JoinLinks,
    VideoRoom,
    plan_end,
    plan_join,
    plan_start,
)

HELPER = Actor(uid="h1", role="helper")
CUSTOMER = Actor(uid="cust-1", role="customer")
ROOM = VideoRoom("fake", "room-1", "https://v/c", "https://v/h")
CHECKLIST = dict.fromkeys(DEFAULT_CHECKLISTS["plumbing"], True)


def _started(backend):
    backend.seed(
        "requests/r1", request_doc(status="claimed", helperId="h1", claimedAt=NOW, version=2)
    )
    required = DEFAULT_CHECKLISTS["plumbing"]
    return backend.stores.requests.apply(
        "r1", lambda r: plan_start(r, HELPER, NOW, ROOM, CHECKLIST, required), NOW
    )


def test_a_started_session_is_created_in_the_request_s_commit(backend):
    request, _ = _started(backend)
    assert request.session_id == "s-r1"
    stored = backend.dump()
    assert stored["sessions/s-r1"] == {
        "requestId": "r1",
        "customerId": "cust-1",
        "helperId": "h1",
        "status": "waiting",
        "provider": "fake",
        "providerSessionId": "room-1",
        "checklist": CHECKLIST,
        "createdAt": NOW,
        "waitingAt": NOW,
        "version": 1,
    }
    # the provider's links, server only, in the same commit
    assert stored["sessionLinks/s-r1"] == {
        "customerJoinUrl": "https://v/c",
        "helperJoinUrl": "https://v/h",
        "createdAt": NOW,
    }
    assert backend.stores.sessions.get_links("s-r1") == JoinLinks("https://v/c", "https://v/h")
    assert stored["requests/r1"]["status"] == "in_session"
    assert stored["requests/r1/events/v000003-session_started"]["actor"] == {
        "uid": "h1",
        "role": "helper",
    }


def test_join_and_end_write_the_session_its_events_and_the_request(backend):
    _started(backend)
    joined = NOW + timedelta(minutes=1)
    ended = NOW + timedelta(minutes=15)
    sessions = backend.stores.sessions

    session, _ = sessions.apply_session(
        "s-r1", lambda s, r: plan_join(s, r, CUSTOMER, joined), joined
    )
    assert session.status == "active"

    def end(s, r):
        return plan_end(s, r, HELPER, ended, Outcome.RESOLVED)

    session, request = sessions.apply_session("s-r1", end, ended)
    assert (session.status, request.status, request.payment_owed) == (
        "ended",
        "completed",
        "capture",
    )
    stored = backend.dump()
    assert stored["requests/r1/events/s000002-session_joined"] == {
        "type": "session_joined",
        "from": "waiting",
        "to": "active",
        "actor": {"uid": "cust-1", "role": "customer"},
        "reason": None,
        "at": joined,
        "sessionId": "s-r1",
    }
    assert stored["requests/r1/events/s000003-session_ended"] == {
        "type": "session_ended",
        "from": "active",
        "to": "ended",
        "actor": {"uid": "h1", "role": "helper"},
        "reason": "resolved",
        "at": ended,
        "sessionId": "s-r1",
    }
    assert stored["requests/r1/events/v000004-request_completed"]["reason"] == "resolved"
    assert stored["sessions/s-r1"]["durationSeconds"] == 14 * 60
    assert stored["requests/r1"]["version"] == 4
    assert sessions.get_session("s-r1") == session


def test_only_sessions_waiting_since_before_the_cutoff_are_found(backend):
    for n, status in enumerate(["waiting", "waiting", "active", "waiting"]):
        backend.seed(
            f"sessions/s{n}",
            {"status": status, "waitingAt": NOW + timedelta(minutes=n), "requestId": f"r{n}"},
        )
    cutoff = NOW + timedelta(minutes=2)
    assert list(backend.stores.sessions.waiting_session_ids(cutoff, 10)) == ["s0", "s1"]
    # paged: every one, a page of one at a time
    assert list(backend.stores.sessions.waiting_session_ids(cutoff, 1)) == ["s0", "s1"]


def test_checklists_are_written_once_with_the_defaults_and_read_as_stored(backend):
    sessions = backend.stores.sessions
    sessions.ensure_checklists(DEFAULT_CHECKLISTS)
    assert backend.dump() == {"config/checklists": DEFAULT_CHECKLISTS}
    backend.seed("config/checklists", {"plumbing": ["gloves_on"]})
    sessions.ensure_checklists(DEFAULT_CHECKLISTS)  # known to exist: nothing written
    assert sessions.checklists(DEFAULT_CHECKLISTS) == {"plumbing": ["gloves_on"]}


def test_only_sessions_active_since_before_the_cutoff_are_found(backend):
    for n, status in enumerate(["active", "active", "waiting", "active", "ended"]):
        backend.seed(
            f"sessions/s{n}",
            {"status": status, "activeAt": NOW + timedelta(minutes=n), "requestId": f"r{n}"},
        )
    cutoff = NOW + timedelta(minutes=3)
    assert list(backend.stores.sessions.active_session_ids(cutoff, 10)) == ["s0", "s1", "s3"]
    assert list(backend.stores.sessions.active_session_ids(cutoff, 1)) == ["s0", "s1", "s3"]
