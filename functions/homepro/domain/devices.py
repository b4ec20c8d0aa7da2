"""A user's devices: registered and removed through callables, at most a few per user.

A device document (`users/{uid}/devices/{deviceId}`) is named by its token, so registering a
token again updates the same document. `deviceIndex/{uid}` (server only) lists the user's
device ids with when each was last registered; a registration reads it and writes it in one
commit, so parallel registrations cannot pass the cap. A new token beyond the cap replaces the
least recently registered device: a browser whose token went stale long ago gives way, and a
user is never locked out of push on a new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# FCM registration tokens are 140-200 characters (APNs device tokens 64 hex digits); 512 leaves
# room for a longer format while keeping a helper's ten devices a few KB of a dispatch
# directory shard (split past 256 KiB, domain/directory.py).
MAX_TOKEN_LENGTH = 512
# Printable ASCII, no spaces: every token format FCM and APNs issue.
TOKEN_PATTERN = r"^[\x21-\x7e]+$"
DEVICE_INDEX = "deviceIndex"
_NEVER = datetime.min.replace(tzinfo=UTC)


def device_id_of(token: str) -> str:
    """The device document's id: a digest of its token (the same token, the same device)."""
    return "t" + hashlib.sha256(token.encode()).hexdigest()[:32]


def device_path(uid: str, device_id: str) -> str:
    return f"users/{uid}/devices/{device_id}"


def device_index_path(uid: str) -> str:
    """`deviceIndex/{uid}` (server only): `devices`, device id -> when last registered."""
    return f"{DEVICE_INDEX}/{uid}"


def known_devices(index: Mapping[str, Any] | None) -> dict[str, datetime]:
    """The device ids of an index document with their registration times."""
    return {k: v or _NEVER for k, v in ((index or {}).get("devices") or {}).items()}


def legacy_devices(devices: Mapping[str, Mapping[str, Any]]) -> dict[str, datetime]:
    """Devices a client wrote before the index existed, with when each was last written."""
    return {
        device_id: data.get("updatedAt") or data.get("createdAt") or _NEVER
        for device_id, data in devices.items()
    }


@dataclass(frozen=True)
class Registration:
    """What registering one device writes: the index after it and the devices it replaces."""

    device_id: str
    devices: dict[str, datetime]
    evicted: tuple[str, ...]
    new: bool


def plan_registration(
    known: Mapping[str, datetime], device_id: str, now: datetime, max_devices: int
) -> Registration:
    """Register `device_id` now; if that makes more than `max_devices`, the least recently
    registered others go (ties: by id, so a retry plans the same)."""
    others = {k: v for k, v in known.items() if k != device_id}
    room = max(max_devices - 1, 0)
    by_age = sorted(others, key=lambda k: (others[k], k))
    evicted = tuple(by_age[: max(len(others) - room, 0)])
    kept = {k: v for k, v in others.items() if k not in evicted}
    return Registration(device_id, {**kept, device_id: now}, evicted, device_id not in known)
