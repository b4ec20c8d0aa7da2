"""Devices through callables: one per token, at most MAX_DEVICES_PER_USER, the oldest replaced."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from homepro.domain.devices import device_id_of, plan_registration
from homepro.domain.errors import InvalidInput
from homepro.domain.models import (
    Actor,
    Device,
    RegisterDeviceInput,
    RemoveDeviceInput,
    parse_input,
)
from homepro.services import devices
from homepro.testing import FakeDocuments, fake_docs, make_context

USER = Actor(uid="u1", role="customer")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def register(ctx, token, platform="web"):
    data = parse_input(RegisterDeviceInput, {"token": token, "platform": platform})
    return devices.register_device(ctx, USER, data)


def remove(ctx, **data):
    return devices.remove_device(ctx, USER, parse_input(RemoveDeviceInput, data))


def stored_tokens(ctx):
    return sorted(d["token"] for d in fake_docs(ctx).devices("u1").values())


def index(ctx):
    return fake_docs(ctx).collection("deviceIndex")["u1"]["devices"]


@pytest.fixture
def ctx():
    return make_context()


def test_a_device_is_named_by_its_token_and_stored_whole(ctx):
    answer = register(ctx, "tok-a")
    device_id = device_id_of("tok-a")
    assert answer == {"deviceId": device_id, "created": True, "replaced": 0}
    assert fake_docs(ctx).devices("u1") == {
        device_id: {"token": "tok-a", "platform": "web", "createdAt": T0, "updatedAt": T0}
    }
    assert index(ctx) == {device_id: T0}


def test_registering_the_same_token_again_renews_the_same_device(ctx):
    register(ctx, "tok-a")
    later = ctx.clock.advance(hours=5)
    assert register(ctx, "tok-a", "android")["created"] is False
    assert fake_docs(ctx).devices("u1") == {
        device_id_of("tok-a"): {
            "token": "tok-a",
            "platform": "android",
            "createdAt": T0,
            "updatedAt": later,
        }
    }
    assert index(ctx) == {device_id_of("tok-a"): later}


def test_the_eleventh_token_replaces_the_least_recently_registered(ctx):
    for n in range(10):
        register(ctx, f"tok-{n}")
        ctx.clock.advance(minutes=1)
    register(ctx, "tok-0")  # used again today: tok-1 is now the stalest
    ctx.clock.advance(minutes=1)

    answer = register(ctx, "tok-new")

    assert answer["replaced"] == 1
    assert stored_tokens(ctx) == sorted([f"tok-{n}" for n in range(10) if n != 1] + ["tok-new"])
    assert set(index(ctx)) == set(fake_docs(ctx).devices("u1"))


def test_the_cap_is_a_parameter(ctx):
    small = make_context(max_devices_per_user=2)
    for token in ("a", "b", "c"):
        register(small, token)
        small.clock.advance(seconds=1)
    assert stored_tokens(small) == ["b", "c"]


def test_parallel_registrations_cannot_pass_the_cap():
    ctx = make_context(max_devices_per_user=10)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: register(ctx, f"tok-{n}"), range(30)))
    assert len(stored_tokens(ctx)) == 10 and len(index(ctx)) == 10


def test_devices_written_before_the_callables_count_and_the_oldest_go():
    docs = FakeDocuments()
    for n in range(12):
        docs.devices("u1")[f"web-{n}"] = {
            "token": f"old-{n}",
            "platform": "web",
            "createdAt": T0 - timedelta(days=30 - n),
        }
    ctx = make_context(docs)

    register(ctx, "tok-new")

    assert stored_tokens(ctx) == sorted([f"old-{n}" for n in range(3, 12)] + ["tok-new"])
    assert set(index(ctx)) == set(docs.devices("u1"))


def test_remove_by_token_or_id_and_again(ctx):
    register(ctx, "tok-a")
    device_id = register(ctx, "tok-b")["deviceId"]
    assert remove(ctx, token="tok-a") == {"deviceId": device_id_of("tok-a"), "removed": True}
    assert remove(ctx, deviceId=device_id) == {"deviceId": device_id, "removed": True}
    assert remove(ctx, deviceId=device_id)["removed"] is False
    assert stored_tokens(ctx) == [] and index(ctx) == {}


def test_a_device_written_before_the_index_is_removed_too(ctx):
    fake_docs(ctx).devices("u1")["web-legacy"] = {"token": "old", "platform": "web"}
    assert remove(ctx, deviceId="web-legacy")["removed"] is True
    assert stored_tokens(ctx) == []


def test_pruning_a_dead_token_takes_it_off_the_index(ctx):
    register(ctx, "tok-a")
    register(ctx, "tok-b")
    ctx.users.delete_devices([Device("u1", device_id_of("tok-a"), "tok-a")])
    assert stored_tokens(ctx) == ["tok-b"]
    assert set(index(ctx)) == {device_id_of("tok-b")}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"token": "t" * 513, "platform": "web"}, "token"),
        ({"token": "", "platform": "web"}, "token"),
        ({"token": "two words", "platform": "web"}, "token"),
        ({"token": "tok", "platform": "windows"}, "platform"),
        ({"token": "tok"}, "platform"),
        ({"token": "tok", "platform": "web", "owner": "u2"}, "owner"),
    ],
)
def test_a_malformed_registration_is_invalid_argument_and_writes_nothing(ctx, data, field):
    with pytest.raises(InvalidInput) as err:
        devices.register_device(ctx, USER, parse_input(RegisterDeviceInput, data))
    assert err.value.field == field
    assert fake_docs(ctx).devices("u1") == {}


def test_remove_needs_exactly_one_of_token_and_id():
    for data in ({}, {"token": "a", "deviceId": "b"}):
        with pytest.raises(InvalidInput, match="either token or deviceId"):
            parse_input(RemoveDeviceInput, data)


def test_a_512_character_token_is_accepted(ctx):
    assert register(ctx, "t" * 512)["created"] is True


def test_eviction_is_by_age_then_id_so_a_retry_plans_the_same():
    known = {"b": T0, "a": T0, "c": T0 + timedelta(seconds=1)}
    plan = plan_registration(known, "new", T0 + timedelta(minutes=1), max_devices=2)
    assert plan.evicted == ("a", "b") and set(plan.devices) == {"c", "new"}
