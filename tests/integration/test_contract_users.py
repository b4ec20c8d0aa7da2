"""The `Users` port: profiles, roles, devices (the legacy single token too), pruning."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from contract import NOW
from homepro.domain.devices import device_id_of
from homepro.domain.errors import NotFound
from homepro.domain.models import Device, Role


def test_a_profile_is_created_once_and_updated_in_place(backend):
    users = backend.stores.users
    assert users.ensure_user("u1", {"role": "customer", "displayName": "ann"})
    assert not users.ensure_user("u1", {"role": "admin"})
    users.update_user("u1", {"isAvailable": True, "updatedAt": NOW})
    users.set_user_role("u1", Role.HELPER, NOW)
    users.set_user_role("u2", Role.ADMIN, NOW)  # no profile yet: one is made
    assert backend.dump() == {
        "users/u1": {"role": "helper", "displayName": "ann", "isAvailable": True, "updatedAt": NOW},
        "users/u2": {"role": "admin", "createdAt": NOW, "updatedAt": NOW},
    }
    with pytest.raises(NotFound):
        users.update_user("nobody", {"isAvailable": True})
    found = users.get_users(["u1", "nobody", "u2"])
    assert sorted(found) == ["u1", "u2"] and found["u1"].display_name == "ann"


def test_devices_include_the_legacy_token_once_and_dead_ones_are_forgotten(backend):
    backend.seed("users/u1", {"role": "helper", "fcmToken": "legacy"})
    backend.seed("users/u1/devices/d1", {"token": "t1", "platform": "android"})
    backend.seed("users/u1/devices/d2", {"token": "legacy", "platform": "web"})
    backend.seed("users/u2", {"role": "helper", "fcmToken": "only"})
    users = backend.stores.users
    profiles = users.get_users(["u1", "u2"])

    found = users.devices_of([profiles["u1"], profiles["u2"]])

    assert sorted(d.token for d in found["u1"]) == ["legacy", "t1"]
    assert found["u2"] == [Device("u2", None, "only")]
    users.delete_devices([Device("u1", "d1", "t1"), Device("u2", None, "only")])
    stored = backend.dump()
    assert "users/u1/devices/d1" not in stored and "users/u1/devices/d2" in stored
    assert stored["users/u2"] == {"role": "helper"}


def test_registered_devices_are_capped_and_the_least_recently_registered_goes(backend):
    backend.seed("users/u1/devices/web-old", {"token": "old", "platform": "web", "createdAt": NOW})
    users = backend.stores.users
    later = [NOW + timedelta(minutes=n) for n in range(1, 5)]

    first = users.register_device("u1", "tok-a", "web", later[0], max_devices=2)
    users.register_device("u1", "tok-b", "android", later[1], max_devices=2)
    again = users.register_device("u1", "tok-a", "web", later[2], max_devices=2)

    assert (first.new, first.evicted) == (True, ())
    assert (again.new, again.evicted, again.device_id) == (False, (), first.device_id)
    a, b = device_id_of("tok-a"), device_id_of("tok-b")
    stored = backend.dump()
    # the device clients wrote before the callables counted, and went first
    assert stored == {
        f"users/u1/devices/{a}": {
            "token": "tok-a",
            "platform": "web",
            "createdAt": later[0],
            "updatedAt": later[2],
        },
        f"users/u1/devices/{b}": {
            "token": "tok-b",
            "platform": "android",
            "createdAt": later[1],
            "updatedAt": later[1],
        },
        "deviceIndex/u1": {"devices": {a: later[2], b: later[1]}, "updatedAt": later[2]},
    }

    c = users.register_device("u1", "tok-c", "ios", later[3], max_devices=2)
    assert c.evicted == (b,)
    assert users.remove_device("u1", a) is True
    assert users.remove_device("u1", a) is False
    stored = backend.dump()
    assert [p for p in stored if "/devices/" in p] == [f"users/u1/devices/{c.device_id}"]
    assert stored["deviceIndex/u1"]["devices"] == {c.device_id: later[3]}

    users.delete_devices([Device("u1", c.device_id, "tok-c")])  # FCM said it is dead
    assert backend.dump() == {"deviceIndex/u1": {"devices": {}, "updatedAt": later[3]}}


def test_parallel_registrations_of_one_user_count_one_by_one(backend):
    users = backend.stores.users
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(
            pool.map(
                lambda n: users.register_device("u1", f"tok-{n}", "web", NOW, max_devices=3),
                range(12),
            )
        )
    stored = backend.dump()
    assert len([p for p in stored if "/devices/" in p]) == 3
    assert len(stored["deviceIndex/u1"]["devices"]) == 3
