"""The `Dispatch` port: a round reserved once, its counts and targets; the directory."""

from __future__ import annotations

from datetime import timedelta

from contract import NOW, request_doc
from homepro.domain.events import RoundCounts


def test_a_round_is_reserved_once_and_counted_on_the_request(backend):
    backend.seed("requests/r1", request_doc(dispatchableAt=None))
    dispatch = backend.stores.dispatch
    later = NOW + timedelta(seconds=1)

    reserved = dispatch.reserve_round("r1", "initial", later)
    assert reserved is not None and reserved.round == 1
    assert reserved.request.dispatchable_at == later
    assert dispatch.reserve_round("r1", "initial", later) is None  # a duplicate trigger

    dispatch.record_targets("r1", "initial", {"h1": 2, "h2": 1}, later)
    dispatch.finish_round("r1", "initial", RoundCounts(2, 3, 3, 0, 0), later)
    stored = backend.dump()
    assert stored["requests/r1/dispatches/initial"] == {
        "round": 1,
        "reason": "initial",
        "helpersTargeted": 2,
        "devicesTargeted": 3,
        "sent": 3,
        "failed": 0,
        "tokensPruned": 0,
        "smsSent": 0,
        "startedAt": later,
        "finishedAt": later,
    }
    assert stored["requests/r1/dispatches/initial/targets/h1"] == {"devices": 2, "at": later}
    assert (stored["requests/r1"]["dispatchRound"], stored["requests/r1"]["dispatchableAt"]) == (
        1,
        later,
    )
    assert stored["requests/r1"]["version"] == 1  # a round is not a transition
    assert dispatch.round_targets("r1") == {"h1", "h2"}


def test_no_round_for_a_request_that_is_not_dispatchable(backend):
    backend.seed("requests/r1", request_doc(status="claimed"))
    assert backend.stores.dispatch.reserve_round("r1", "initial", NOW) is None
    assert backend.stores.dispatch.reserve_round("missing", "initial", NOW) is None
    assert list(backend.dump()) == ["requests/r1"]


def test_the_directory_holds_available_helpers_with_their_devices(backend):
    backend.seed("users/h1", {"role": "helper", "isAvailable": True, "categories": ["hvac"]})
    backend.seed("users/h1/devices/d1", {"token": "t1", "platform": "android"})
    backend.seed("users/h2", {"role": "helper", "isAvailable": False})
    backend.seed("users/c1", {"role": "customer", "isAvailable": True})
    dispatch = backend.stores.dispatch
    for uid in ("h1", "h2", "c1"):
        dispatch.refresh_directory(uid, NOW)  # what the triggers on users and devices do

    found = {user.uid: [d.token for d in devices] for user, devices in dispatch.directory()}

    assert found == {"h1": ["t1"]}
    assert dispatch.rebuild_directory(NOW) == 1
