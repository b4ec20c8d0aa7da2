"""Devices through the callables, with real ID tokens: at most MAX_DEVICES_PER_USER (10) per
user, the least recently registered replaced; the dispatch directory follows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import emulator_client as ec
from conftest import directory_entry, wait_for
from homepro.domain.devices import device_id_of


def devices_of(db, uid: str) -> dict[str, str]:
    return {d.id: d.to_dict()["token"] for d in db.collection(f"users/{uid}/devices").stream()}


def test_eleven_registrations_leave_ten_devices_the_oldest_replaced(clean, make_account):
    customer = make_account("customer")
    answers = [
        ec.call("register_device", {"token": f"tok-{n:02d}", "platform": "web"}, customer.id_token)
        for n in range(11)
    ]

    assert [a["replaced"] for a in answers] == [0] * 10 + [1]
    assert answers[0]["deviceId"] == device_id_of("tok-00")
    found = devices_of(clean, customer.uid)
    assert sorted(found.values()) == [f"tok-{n:02d}" for n in range(1, 11)]
    index = clean.document(f"deviceIndex/{customer.uid}").get().to_dict()
    assert set(index["devices"]) == set(found)

    # the same token again renews the same device
    again = ec.call("register_device", {"token": "tok-05", "platform": "web"}, customer.id_token)
    assert (again["deviceId"], again["created"], again["replaced"]) == (
        device_id_of("tok-05"),
        False,
        0,
    )
    assert len(devices_of(clean, customer.uid)) == 10

    # removed by token or id; the user reads their own devices, never writes them
    ec.call("remove_device", {"token": "tok-05"}, customer.id_token)
    gone = ec.call("remove_device", {"deviceId": device_id_of("tok-05")}, customer.id_token)
    assert gone["removed"] is False
    assert len(devices_of(clean, customer.uid)) == 9
    some = device_id_of("tok-06")
    assert ec.read_as(f"users/{customer.uid}/devices/{some}", customer.id_token)[0] == 200


def test_parallel_registrations_cannot_pass_the_cap(clean, make_account):
    customer = make_account("customer")

    def register(n: int) -> dict:
        return ec.call(
            "register_device", {"token": f"par-{n}", "platform": "web"}, customer.id_token
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(register, range(16)))
    assert len(devices_of(clean, customer.uid)) == 10


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"token": "t" * 513, "platform": "web"}, "token"),
        ({"token": "tok", "platform": "windows"}, "platform"),
        ({"token": "tok", "platform": "web", "owner": "x"}, "owner"),
    ],
)
def test_a_malformed_registration_is_invalid_argument(clean, make_account, data, field):
    customer = make_account("customer")
    with pytest.raises(ec.CallError) as err:
        ec.call("register_device", data, customer.id_token)
    assert err.value.status == "INVALID_ARGUMENT" and field in err.value.message
    assert devices_of(clean, customer.uid) == {}


def test_a_registered_helper_device_reaches_the_dispatch_directory(clean, make_account):
    helper = make_account("helper")
    ec.call("register_device", {"token": "dir-tok", "platform": "android"}, helper.id_token)

    def entry() -> dict | None:
        return directory_entry(clean, helper.uid)

    found = wait_for(lambda: (e := entry()) and e["devices"] and e)
    assert [d["token"] for d in found["devices"].values()] == ["dir-tok"]

    ec.call("remove_device", {"token": "dir-tok"}, helper.id_token)
    wait_for(lambda: (e := entry()) is not None and not e["devices"])
