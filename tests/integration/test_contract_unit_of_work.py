"""One unit of work across ports: a transition reads and writes other ports' documents in its
commit, conditioned like the request itself; concurrent writers each land exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from contract import NOW, request_doc
from homepro.domain import writes
from homepro.domain.errors import InvalidTransition, NotFound
from homepro.domain.lifecycle import plan_claim
from homepro.domain.models import Actor, UserDoc
from homepro.domain.writes import Increment

LOAD = "helperLoads/h1"  # a document of another port, for these cases only


def _helper(uid: str) -> tuple[Actor, UserDoc]:
    helper = UserDoc(uid=uid, role="helper", display_name=uid, is_available=True)
    return Actor(uid=uid, role="helper"), helper


def _claim_counting(uid: str):
    actor, helper = _helper(uid)

    def plan(request, read):
        load = read[LOAD]
        count = (load or {}).get("claims", 0)
        counted = (
            writes.create(LOAD, {"claims": 1})
            if load is None
            else writes.update(LOAD, {"claims": count + 1})
        )
        return replace(plan_claim(request, helper, actor, NOW), writes=(counted,))

    return plan


def test_a_transition_reads_and_writes_another_port_s_document_in_its_commit(backend):
    backend.seed("requests/r1", request_doc())
    backend.seed("requests/r2", request_doc())
    requests = backend.stores.requests

    requests.apply_reading("r1", [LOAD], _claim_counting("h1"), NOW)
    requests.apply_reading("r2", [LOAD], _claim_counting("h1"), NOW)

    stored = backend.dump()
    assert stored[LOAD] == {"claims": 2}
    assert stored["requests/r1"]["status"] == stored["requests/r2"]["status"] == "claimed"


def test_concurrent_transitions_count_a_shared_document_once_each(backend):
    ids = [f"r{n}" for n in range(6)]
    for request_id in ids:
        backend.seed(f"requests/{request_id}", request_doc())
    requests = backend.stores.requests

    def claim(request_id: str) -> str:
        _, transition = requests.apply_reading(request_id, [LOAD], _claim_counting("h1"), NOW)
        return transition.event_type

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(claim, ids)) == ["request_claimed"] * 6
    # each commit read the count and wrote it on condition that nobody had since
    assert backend.dump()[LOAD] == {"claims": 6}


def test_of_many_helpers_claiming_at_once_exactly_one_wins(backend):
    backend.seed("requests/r1", request_doc())
    requests = backend.stores.requests

    def claim(uid: str) -> str:
        actor, helper = _helper(uid)
        try:
            requests.apply("r1", lambda r: plan_claim(r, helper, actor, NOW), NOW)
        except InvalidTransition:
            return "lost"
        return "won"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(claim, [f"h{n}" for n in range(6)]))
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]
    stored = backend.dump()
    assert [p for p in stored if "/events/" in p] == ["requests/r1/events/v000002-request_claimed"]


def test_increments_and_a_failed_write_leave_nothing_half_done(backend):
    backend.seed("requests/r1", request_doc())
    backend.seed("requests/r2", request_doc())
    backend.seed("counters/c1", {"claims": 1})
    actor, helper = _helper("h1")
    requests = backend.stores.requests

    def counted(request):
        step = writes.update("counters/c1", {"claims": Increment(2)})
        return replace(plan_claim(request, helper, actor, NOW), writes=(step,))

    requests.apply("r1", counted, NOW)
    assert backend.dump()["counters/c1"] == {"claims": 3}

    def broken(request):
        missing = writes.update("counters/missing", {"claims": Increment()})
        return replace(plan_claim(request, helper, actor, NOW), writes=(missing,))

    before = backend.dump()
    with pytest.raises(NotFound):
        requests.apply("r2", broken, NOW)
    assert backend.dump() == before  # neither the request, nor its audit event
