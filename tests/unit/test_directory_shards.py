"""The directory's layout: categories, linear hashing of shards, sizes (pure functions)."""

from datetime import UTC, datetime

import pytest

from homepro.adapters.firestore.dispatch import rebuilt_documents
from homepro.domain import directory
from homepro.domain.models import Device, UserDoc
from homepro.testing import FakeDispatch, FakeDocuments

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
UIDS = [f"helper-{n:05d}" for n in range(5000)]


def test_a_helper_has_entries_in_their_categories_or_every_one():
    helper = {"role": "helper", "isAvailable": True}
    assert directory.categories_of({**helper, "categories": ["hvac", "plumbing", "hvac"]}) == [
        "hvac",
        "plumbing",
    ]
    assert directory.categories_of({**helper, "categories": []}) == list(directory.CATEGORIES)
    assert directory.categories_of(helper) == list(directory.CATEGORIES)
    assert directory.categories_of({**helper, "isAvailable": False}) == []
    assert directory.categories_of({"role": "customer", "isAvailable": True}) == []
    assert directory.categories_of(None) == []


def test_the_budget_is_an_entry_field():
    profile = {"role": "helper", "isAvailable": True, "maxJobAlertsPerHour": 4}
    user, _ = directory.from_entry("u", directory.entry_for(profile, []))
    assert user.max_job_alerts_per_hour == 4
    assert UserDoc.model_validate({"maxJobAlertsPerHour": 7}).max_job_alerts_per_hour == 7
    assert directory.profile_change_matters(profile, {**profile, "maxJobAlertsPerHour": 2})


@pytest.mark.parametrize("shards", [1, 2, 3, 5, 8, 13, 64, 100])
def test_every_uid_lands_in_a_shard_whose_modulus_says_so(shards):
    for uid in UIDS[:1000]:
        index = directory.shard_index(uid, shards)
        assert 0 <= index < shards
        assert directory.uid_hash(uid) % directory.modulus(index, shards) == index


@pytest.mark.parametrize("shards", range(1, 70))
def test_a_split_moves_only_the_entries_of_the_shard_it_divides(shards):
    old, new = directory.next_split(shards)
    assert new == shards
    for uid in UIDS[:1000]:
        before, after = directory.shard_index(uid, shards), directory.shard_index(uid, shards + 1)
        if before != old:
            assert after == before
        else:
            assert after == (new if directory.moves_on_split(uid, shards) else old)


def test_the_read_order_starts_anywhere_and_wraps():
    assert directory.read_order(4, 6) == [2, 3, 0, 1]
    assert directory.read_order(1, 99) == [0]
    assert directory.read_order(0, 3) == []
    assert directory.read_order(3, -1) == [2, 0, 1]


def test_sizes_follow_firestores_rules():
    path = directory.shard_path("hvac", 3)
    assert path == "dispatchShards/hvac-0003"
    assert directory.document_name_bytes(path) == len("dispatchShards") + 1 + 10 + 16
    empty = directory.shard_bytes(path, {})
    assert empty == directory.document_name_bytes(path) + 8 + 4 + 8 + 10 + 8 + 32
    assert directory.shard_bytes(path, {"ab": "xyz"}) == empty + 3 + 4


def big_entries(count: int, tokens: int = 10) -> dict[str, str]:
    profile = {"role": "helper", "isAvailable": True, "categories": ["hvac"]}
    return {
        uid: directory.entry_for(
            profile, [Device(uid, f"d{d}", f"{uid}-{d}-" + "x" * 480) for d in range(tokens)]
        )
        for uid in UIDS[:count]
    }


def test_a_rebuild_gives_a_category_the_shards_its_size_needs():
    entries = big_entries(400)  # ~5.4 KB each: ~2.1 MB
    shards = directory.shards_for("hvac", entries)
    assert shards > 8
    sizes = [
        directory.shard_bytes(directory.shard_path("hvac", i), {u: entries[u] for u in uids})
        for i, uids in enumerate(directory.layout(entries, shards))
    ]
    assert max(sizes) <= directory.SHARD_SPLIT_BYTES
    assert directory.shards_for("hvac", {}) == 1
    assert directory.shards_for("hvac", big_entries(3)) == 1


def test_rebuilt_documents_hold_every_entry_once_per_category():
    entries = big_entries(400)
    writes = rebuilt_documents(
        {"hvac": entries, "general": {}}, {u: ["hvac"] for u in entries}, NOW
    )
    shards = writes["dispatchDirectory/hvac"]["shards"]
    held = {
        uid: index
        for index in range(shards)
        for uid in writes[directory.shard_path("hvac", index)]["helpers"]
    }
    assert held == {uid: directory.shard_index(uid, shards) for uid in entries}
    assert writes["dispatchDirectory/general"]["shards"] == 1
    assert writes[directory.shard_path("general", 0)]["helpers"] == {}
    assert writes[directory.member_path(UIDS[0])]["categories"] == ["hvac"]


def test_the_fake_reads_from_start_and_stops_after_the_shard_that_fills_want():
    docs = FakeDocuments()
    for uid in UIDS[:40]:
        docs.add_helper(uid, f"tok-{uid}", categories=["hvac"])
    docs.add_helper("plumber", "tok-p", categories=["plumbing"])
    docs.set_all({"dispatchDirectory/hvac": {"shards": 4}})
    dispatch = FakeDispatch(docs)
    by_shard = directory.layout(sorted(UIDS[:40]), 4)

    found = [u.uid for u, _ in dispatch.directory_of("hvac", start=5, want=1)]
    assert found == by_shard[1]
    found = [u.uid for u, _ in dispatch.directory_of("hvac", start=3, want=len(by_shard[3]) + 1)]
    assert found == by_shard[3] + by_shard[0]
    every = [u.uid for u, _ in dispatch.directory_of("hvac", start=2, want=None)]
    assert every == by_shard[2] + by_shard[3] + by_shard[0] + by_shard[1]
    assert [u.uid for u, _ in dispatch.directory_of("plumbing", start=0, want=None)] == ["plumber"]
    assert dispatch.directory_of("carpentry", start=0, want=None) == []
