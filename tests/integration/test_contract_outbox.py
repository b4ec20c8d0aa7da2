"""The `Outbox` port: what a transition or a reserved round owes, written in its commit, taken
by one drainer at a time after the grace, deleted when done, found by the sweep's query."""

from __future__ import annotations

from datetime import timedelta

from contract import NOW, request_doc
from homepro.domain.events import RoundCounts
from homepro.domain.lifecycle import plan_claim
from homepro.domain.models import Actor, UserDoc

HANA = UserDoc(uid="h1", role="helper", display_name="Hana", is_available=True)
HELPER = Actor(uid="h1", role="helper")
GRACE, LEASE = timedelta(seconds=10), timedelta(seconds=30)


def test_a_transition_owes_its_work_in_its_commit(backend):
    backend.seed("requests/r1", request_doc())
    later = NOW + timedelta(minutes=2)

    backend.stores.requests.apply("r1", lambda r: plan_claim(r, HANA, HELPER, later), later)

    entry = backend.dump()["outbox/r1-v2"]
    assert {k: entry[k] for k in ("kind", "requestId", "version", "owedAt", "attempts")} == {
        "kind": "transition",
        "requestId": "r1",
        "version": 2,
        "owedAt": later,
        "attempts": 0,
    }
    assert entry["leaseUntil"] is None
    assert (entry["before"]["status"], entry["before"]["version"]) == ("pending", 1)
    assert (entry["after"]["status"], entry["after"]["helperId"]) == ("claimed", "h1")
    assert entry["after"]["claimedAt"] == later
    stored = backend.stores.outbox.get_entry("r1-v2")
    assert stored is not None and stored.before is not None and stored.after is not None
    assert (stored.before["status"], stored.after["status"]) == ("pending", "claimed")


def test_a_round_owes_its_pushes_from_its_reservation_until_it_finishes(backend):
    backend.seed("requests/r1", request_doc())
    dispatch = backend.stores.dispatch
    dispatch.reserve_round("r1", "initial", NOW)
    assert backend.dump()["outbox/r1-round-initial"] == {
        "kind": "round",
        "requestId": "r1",
        "roundKey": "initial",
        "owedAt": NOW,
        "attempts": 0,
        "leaseUntil": None,
    }
    resumed = dispatch.resume_round("r1", "initial")
    assert resumed is not None and resumed.round == 1
    assert dispatch.recorded_targets("r1", "initial") == set()
    dispatch.record_targets("r1", "initial", {"h1": 1}, NOW)
    assert dispatch.recorded_targets("r1", "initial") == {"h1"}

    dispatch.finish_round("r1", "initial", RoundCounts(1, 1, 1, 0, 0), NOW)

    assert "outbox/r1-round-initial" not in backend.dump()
    assert dispatch.resume_round("r1", "initial") is None  # finished: nothing to resume
    assert dispatch.resume_round("r1", "missing") is None


def test_one_drainer_takes_an_entry_after_the_grace_and_holds_it_for_its_lease(backend):
    backend.seed("requests/r1", request_doc())
    backend.stores.dispatch.reserve_round("r1", "initial", NOW)
    outbox = backend.stores.outbox
    entry_id = "r1-round-initial"

    assert outbox.take(entry_id, NOW + timedelta(seconds=9), GRACE, LEASE) is None  # its trigger's
    taken = outbox.take(entry_id, NOW + GRACE, GRACE, LEASE)
    assert taken is not None and (taken.attempts, taken.round_key) == (1, "initial")
    assert taken.lease_until == NOW + GRACE + LEASE
    assert outbox.take(entry_id, NOW + GRACE + LEASE / 2, GRACE, LEASE) is None  # held
    again = outbox.take(entry_id, NOW + GRACE + LEASE, GRACE, LEASE)  # the holder died
    assert again is not None and again.attempts == 2
    assert backend.dump()[f"outbox/{entry_id}"]["attempts"] == 2

    outbox.finish(entry_id)
    outbox.finish(entry_id)  # twice: nothing
    assert outbox.take(entry_id, NOW + timedelta(hours=1), GRACE, LEASE) is None
    assert outbox.get_entry(entry_id) is None


def test_the_owed_query_finds_entries_owed_long_enough_oldest_first(backend):
    for n, seconds in enumerate((30, 0, 20)):
        backend.seed(f"requests/r{n}", request_doc())
        backend.stores.dispatch.reserve_round(f"r{n}", "initial", NOW + timedelta(seconds=seconds))

    owed = list(backend.stores.outbox.owed(NOW + timedelta(seconds=25), page_size=1))

    assert [e.id for e in owed] == ["r1-round-initial", "r2-round-initial"]
