"""The `Dispatch` port: a round reserved once, its counts and targets; the directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from contract import NOW, request_doc
from homepro.domain import directory
from homepro.domain.events import RoundCounts
from homepro.domain.models import Device


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


# ---------------------------------------------------------------- the directory by category


def helper_profile(*categories: str, **fields: Any) -> dict[str, Any]:
    return {"role": "helper", "isAvailable": True, "categories": list(categories), **fields}


def add(backend, uid: str, profile: dict[str, Any], *tokens: str) -> str:
    """Seed a helper and their devices, then refresh their entries (what the triggers do)."""
    backend.seed(f"users/{uid}", profile)
    for n, token in enumerate(tokens):
        backend.seed(f"users/{uid}/devices/d{n}", {"token": token, "platform": "android"})
    backend.stores.dispatch.refresh_directory(uid, NOW)
    return uid


def uids_of(found) -> list[str]:
    return [user.uid for user, _ in found]


def shard_count(backend, category: str) -> int:
    return int(backend.dump()[directory.category_path(category)]["shards"])


def test_each_category_holds_its_helpers(backend):
    add(backend, "h1", helper_profile("hvac"), "t1")
    add(backend, "h2", helper_profile("hvac", "plumbing"), "t2a", "t2b")
    add(backend, "h3", helper_profile(), "t3")  # names none: serves every category
    add(backend, "h4", helper_profile("hvac", isAvailable=False), "t4")
    add(backend, "c1", {"role": "customer", "isAvailable": True, "categories": ["hvac"]}, "t5")
    dispatch = backend.stores.dispatch

    def of(category: str) -> dict[str, list[str]]:
        found = dispatch.directory_of(category, start=0, want=None)
        return {user.uid: sorted(d.token for d in devices) for user, devices in found}

    assert of("hvac") == {"h1": ["t1"], "h2": ["t2a", "t2b"], "h3": ["t3"]}
    assert of("plumbing") == {"h2": ["t2a", "t2b"], "h3": ["t3"]}
    assert of("electrical") == {"h3": ["t3"]}
    assert sorted(uids_of(dispatch.directory())) == ["h1", "h2", "h3"]  # once each
    assert dispatch.rebuild_directory(NOW) == 3
    assert of("hvac") == {"h1": ["t1"], "h2": ["t2a", "t2b"], "h3": ["t3"]}
    assert of("carpentry") == {"h3": ["t3"]}


def test_a_helper_leaves_a_category_and_the_directory(backend):
    add(backend, "h1", helper_profile("hvac", "plumbing", maxJobAlertsPerHour=5), "t1", "t2")
    dispatch = backend.stores.dispatch
    [(user, devices)] = dispatch.directory_of("plumbing", start=0, want=None)
    assert user.max_job_alerts_per_hour == 5 and len(devices) == 2

    add(backend, "h1", helper_profile("hvac"), "t1", "t2")  # plumbing removed
    assert dispatch.directory_of("plumbing", start=0, want=None) == []
    [(user, devices)] = dispatch.directory_of("hvac", start=0, want=None)
    assert sorted(d.token for d in devices) == ["t1", "t2"]
    assert dispatch.refresh_directory("h1", NOW) in (False, True)  # a repeated trigger

    add(backend, "h1", helper_profile("hvac", isAvailable=False))
    assert dispatch.directory_of("hvac", start=0, want=None) == []
    assert dispatch.directory() == []


@pytest.fixture
def small_shards(monkeypatch):
    """Shards of ~2 KB (a few entries each), so a few dozen helpers make many shards."""
    monkeypatch.setattr(directory, "SHARD_SPLIT_BYTES", 2048)


def crowd(backend, count: int, category: str = "hvac") -> dict[str, str]:
    """`count` helpers of `category`, each added and refreshed in turn; their entries by uid."""
    entries = {}
    for n in range(count):
        uid = f"helper-{n:03d}"
        profile = helper_profile(category)
        tokens = [f"{uid}-token-{d}-" + "x" * 60 for d in range(2)]
        add(backend, uid, profile, *tokens)
        devices = [Device(uid, f"d{d}", token, "android") for d, token in enumerate(tokens)]
        entries[uid] = directory.entry_for(profile, devices)
    return entries


def test_many_helpers_make_more_shards_each_within_the_bound(backend, small_shards):
    entries = crowd(backend, 40)
    dispatch = backend.stores.dispatch
    shards = shard_count(backend, "hvac")
    assert shards >= 8
    assert sorted(uids_of(dispatch.directory_of("hvac", start=0, want=None))) == sorted(entries)

    largest = max(len(e) for e in entries.values()) + 20
    for start in range(shards):
        held = uids_of(dispatch.directory_of("hvac", start=start, want=0))  # that shard alone
        assert held == sorted(u for u in entries if directory.shard_index(u, shards) == start)
        path = directory.shard_path("hvac", start)
        size = directory.shard_bytes(path, {uid: entries[uid] for uid in held})
        assert size <= directory.SHARD_SPLIT_BYTES + largest

    if backend.name == "firestore":  # the stored shards are what the layout says
        stored = backend.dump()
        for index in range(shards):
            shard = stored[directory.shard_path("hvac", index)]
            assert shard["mod"] == directory.modulus(index, shards)
            assert sorted(shard["helpers"]) == uids_of(
                dispatch.directory_of("hvac", start=index, want=0)
            )

    assert dispatch.rebuild_directory(NOW) == 40
    assert sorted(uids_of(dispatch.directory_of("hvac", start=3, want=None))) == sorted(entries)
    assert shard_count(backend, "hvac") == directory.shards_for("hvac", entries)


def test_a_read_starts_at_a_shard_wraps_and_stops_once_it_has_enough(backend, small_shards):
    entries = crowd(backend, 30)
    dispatch = backend.stores.dispatch
    shards = shard_count(backend, "hvac")
    by_shard = directory.layout(sorted(entries), shards)
    last = shards - 1

    assert uids_of(dispatch.directory_of("hvac", start=last, want=1)) == by_shard[last]
    want = len(by_shard[last]) + 1  # the last shard is not enough: wrap to the first
    found = uids_of(dispatch.directory_of("hvac", start=last + shards, want=want))
    assert found == by_shard[last] + by_shard[0]
    found = uids_of(dispatch.directory_of("hvac", start=2, want=None))
    assert found == [u for i in directory.read_order(shards, 2) for u in by_shard[i]]
    assert uids_of(dispatch.directory_of("hvac", start=0, want=10_000)) == [
        u for shard in by_shard for u in shard
    ]
    assert dispatch.directory_of("plumbing", start=0, want=5) == []


def test_refreshes_of_one_category_at_once_converge(backend, small_shards):
    """Twelve helpers refreshed from eight threads at once, splitting shards as they go: every
    entry ends in the shard the layout names, once."""
    profiles = {f"racer-{n:02d}": helper_profile("hvac") for n in range(12)}
    for uid, profile in profiles.items():
        backend.seed(f"users/{uid}", profile)
        backend.seed(f"users/{uid}/devices/d0", {"token": f"{uid}-" + "y" * 150})
    dispatch = backend.stores.dispatch
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda uid: dispatch.refresh_directory(uid, NOW), sorted(profiles) * 2))
    shards = shard_count(backend, "hvac")
    found = uids_of(dispatch.directory_of("hvac", start=0, want=None))
    assert sorted(found) == sorted(profiles) and len(found) == len(set(found))
    if backend.name == "firestore":
        stored = backend.dump()
        for index in range(shards):
            for uid in stored[directory.shard_path("hvac", index)]["helpers"]:
                assert directory.shard_index(uid, shards) == index


# ---------------------------------------------------------------- waves: the alert budget


def test_rounds_charging_one_helper_s_last_alert_at_once_charge_it_once(backend):
    """Two requests' rounds race for the last alert of one helper's budget: one gets it."""
    from homepro.domain import waves

    dispatch = backend.stores.dispatch
    backend.seed(
        waves.alerts_path("h1"),
        {"alerts": [NOW - timedelta(minutes=m + 1) for m in range(3)], "limit": 4},
    )
    for n in range(6):
        backend.seed(f"requests/r{n}", request_doc())
        assert dispatch.reserve_round(f"r{n}", "initial", NOW) is not None

    def charge(n: int) -> list[str]:
        return dispatch.take_alerts(f"r{n}", "initial", {"h1": 4}, NOW + timedelta(seconds=n))

    with ThreadPoolExecutor(6) as pool:
        charged = list(pool.map(charge, range(6)))
    assert sorted(len(c) for c in charged) == [0, 0, 0, 0, 0, 1]
    assert len(backend.dump()[waves.alerts_path("h1")]["alerts"]) == 4
    # the round that won records its wave; the others record an empty one
    waves_recorded = [backend.dump()[f"requests/r{n}/dispatches/initial"]["wave"] for n in range(6)]
    assert sorted(map(len, waves_recorded)) == [0, 0, 0, 0, 0, 1]


def test_a_charged_wave_counts_as_asked_before_it_is_recorded(backend):
    backend.seed("requests/r1", request_doc())
    dispatch = backend.stores.dispatch
    assert dispatch.reserve_round("r1", "initial", NOW) is not None
    assert dispatch.take_alerts("r1", "initial", {"h1": 4, "h2": 4}, NOW) == ["h1", "h2"]
    # its worker is still sending (or died): the next round must not ask them again
    assert dispatch.round_targets("r1") == {"h1", "h2"}
