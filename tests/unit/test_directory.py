"""The dispatch directory: entries recomputed from the source documents."""

from homepro.domain import directory
from homepro.domain.models import Device


def test_only_available_helpers_have_an_entry():
    devices = [Device("u", "d1", "tok-1", "web")]
    assert directory.entry_for(None, devices) is None
    assert directory.entry_for({"role": "customer", "isAvailable": True}, devices) is None
    assert directory.entry_for({"role": "helper", "isAvailable": False}, devices) is None
    assert directory.entry_for({"role": "helper", "isAvailable": True}, devices) is not None


def test_an_entry_round_trips_with_the_legacy_token_once():
    profile = {
        "role": "helper",
        "isAvailable": True,
        "categories": ["hvac"],
        "quietHours": {"start": "22:00", "end": "07:00", "tz": "America/Chicago"},
        "phone": "+15125550100",
        "fcmToken": "legacy",
        "displayName": "not kept",
    }
    devices = [Device("u", "d1", "tok-1", "android"), Device("u", "d2", "legacy", "web")]
    entry = directory.entry_for(profile, devices)
    user, found = directory.from_entry("u", entry)
    assert user.categories == ["hvac"] and user.quiet_hours.tz == "America/Chicago"
    assert sorted(d.token for d in found) == ["legacy", "tok-1"]  # not twice
    assert "displayName" not in directory.read_entry(entry)


def test_entries_are_deterministic_so_unchanged_ones_are_not_rewritten():
    profile = {"role": "helper", "isAvailable": True, "categories": ["a", "b"]}
    one = directory.entry_for(profile, [Device("u", "x", "t1"), Device("u", "y", "t2")])
    two = directory.entry_for(
        dict(reversed(profile.items())), [Device("u", "y", "t2"), Device("u", "x", "t1")]
    )
    assert one == two


def test_only_entry_fields_matter():
    before = {"role": "helper", "isAvailable": True, "displayName": "A", "updatedAt": 1}
    assert not directory.profile_change_matters(
        before, {**before, "displayName": "B", "updatedAt": 2}
    )
    assert directory.profile_change_matters(before, {**before, "isAvailable": False})
    assert directory.profile_change_matters(None, before)
