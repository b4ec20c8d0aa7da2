"""The dispatch directory: every available helper and their devices, in a few documents.

A round must reach thousands of helpers within a second. Reading every helper profile and
every device document per round costs one read per document; the directory holds the same
facts in `dispatchDirectory/{shard}` documents (`helpers.{uid}` = the entry as compact JSON,
one string per helper, cheap to decode by the thousand), kept current by the triggers on
`users/{uid}` and `users/{uid}/devices/{deviceId}`, so a round reads a few documents.
Entries are recomputed from the source documents, never patched, so a repeated or reordered
trigger converges on the truth.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from homepro.domain.models import Device, Role, UserDoc

DIRECTORY = "dispatchDirectory"
SHARDS = 16

# The profile fields an entry holds: a change to any other field leaves the directory alone.
ENTRY_FIELDS = (
    "role",
    "isAvailable",
    "categories",
    "quietHours",
    "phone",
    "fcmToken",
    "maxJobAlertsPerHour",
)


def shard_of(uid: str) -> str:
    return f"shard-{zlib.crc32(uid.encode()) % SHARDS:02d}"


def all_shards() -> list[str]:
    return [f"shard-{n:02d}" for n in range(SHARDS)]


def entry_for(profile: Mapping[str, Any] | None, devices: Sequence[Device]) -> str | None:
    """A helper's entry (compact JSON), or None when they are not an available helper."""
    if (
        not profile
        or profile.get("role") != Role.HELPER.value
        or profile.get("isAvailable") is not True
    ):
        return None
    entry = {name: profile.get(name) for name in ENTRY_FIELDS}
    entry["devices"] = {
        d.device_id: {"token": d.token, "platform": d.platform}
        for d in devices
        if d.device_id and d.token
    }
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)


def read_entry(entry: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(entry)
    return data


def from_entry(uid: str, raw: str) -> tuple[UserDoc, list[Device]]:
    """The helper and their devices (the legacy `fcmToken` included once) from an entry."""
    entry = read_entry(raw)
    user = UserDoc.model_validate({**entry, "uid": uid})
    devices = [
        Device(uid, device_id, str(d.get("token") or ""), str(d.get("platform") or "web"))
        for device_id, d in (entry.get("devices") or {}).items()
    ]
    if user.fcm_token and user.fcm_token not in {d.token for d in devices}:
        devices.append(Device(uid, None, user.fcm_token))
    return user, [d for d in devices if d.token]


def profile_change_matters(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> bool:
    """Whether a write to `users/{uid}` can change the helper's directory entry."""
    before, after = before or {}, after or {}
    return any(before.get(name) != after.get(name) for name in ENTRY_FIELDS)
