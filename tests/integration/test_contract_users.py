"""The `Users` port: profiles, roles, devices (the legacy single token too), pruning."""

from __future__ import annotations

import pytest

from contract import NOW
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
