"""The dispatch directory: every available helper and their devices, partitioned by category.

A round must reach the helpers of one category within a second. Reading every helper profile
and every device document per round costs one read per document; the directory holds the same
facts in a few documents per category, so a round reads the one or two it needs:

- `dispatchDirectory/{category}`: `{shards: n}`, how many shards the category has;
- `dispatchShards/{category}-{index:04d}`: `{helpers: {uid: entry}, mod, updatedAt}`, an entry
  being the helper's profile fields and devices as compact JSON (one string per helper, cheap to
  decode by the thousand, and one index exemption for the whole map);
- `dispatchMembers/{uid}`: `{categories: [...]}`, the categories the helper has entries in (so a
  helper leaving a category is taken out of it), written by every refresh of the helper.

A helper serving three categories has an entry in each of the three; a helper with no
categories serves every category (`UserDoc.serves`), so has an entry in every one.

Shards grow by linear hashing on crc32(uid): with n shards (2^L <= n < 2^(L+1)) a helper's shard
is `h % 2^(L+1)`, or `h % 2^L` when that is not below n. Adding shard n splits one shard, n -
2^L, in two, moving only the entries whose hash says so; every other helper keeps their shard.
A refresh that leaves its shard over SHARD_SPLIT_BYTES splits the next shard until its own is
under it, so no shard passes the bound by more than one entry (and a split costs one shard's
read and two shards' writes, never a reshuffle of the category). Each shard records its modulus
(`mod`): a refresh that read a shard count older than the shard knows reads the count again.
The layout is a pure function of the shard count and the uids: the in-memory fake computes it
from profiles, and answers as Firestore does for the same data.

Entries are recomputed from the source documents, never patched, so a repeated or reordered
trigger converges on the truth.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from homepro.domain.models import Category, Device, Role, UserDoc

DIRECTORY = "dispatchDirectory"  # {category}: {shards}
SHARDS = "dispatchShards"  # {category}-{index:04d}: {helpers, mod, updatedAt}
MEMBERS = "dispatchMembers"  # {uid}: {categories, updatedAt}

# A shard splits when a write leaves it over this many bytes (Firestore's document size). A
# quarter of the 1 MiB limit: one helper's entry is at most ~7 KB (ten devices with 512-byte
# tokens), so a shard never comes near the limit even one entry past the bound; a typical entry
# (one or two devices) is ~350 B, so a shard holds ~700 helpers, and if each changes their
# availability, devices or settings ~20 times a day that is ~0.2 writes/s per shard, well under
# Firestore's sustained ~1 write/s per document. A first wave reads one shard of ~250 KB.
SHARD_SPLIT_BYTES = 256 * 1024
# Splits one refresh may make to bring its shard within the bound (enough to double a level of
# 64 shards; a shard past it is split by the next refresh that writes to it).
MAX_SPLITS_PER_REFRESH = 64

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

CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)


# ---------------------------------------------------------------- entries


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


def categories_of(profile: Mapping[str, Any] | None) -> list[str]:
    """The categories an available helper has entries in (none for anyone else): their own,
    or every category when they name none."""
    if (
        not profile
        or profile.get("role") != Role.HELPER.value
        or profile.get("isAvailable") is not True
    ):
        return []
    named = [c for c in profile.get("categories") or [] if c in CATEGORIES]
    if not named:
        return list(CATEGORIES)
    return sorted(set(named))


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


# ---------------------------------------------------------------- the layout


def category_path(category: str) -> str:
    return f"{DIRECTORY}/{category}"


def shard_path(category: str, index: int) -> str:
    return f"{SHARDS}/{category}-{index:04d}"


def member_path(uid: str) -> str:
    return f"{MEMBERS}/{uid}"


def uid_hash(uid: str) -> int:
    return zlib.crc32(uid.encode())


def _low(shards: int) -> int:
    """The largest power of two not above `shards`."""
    return 1 << (shards.bit_length() - 1)


def shard_index(uid: str, shards: int) -> int:
    """The shard of `uid` in a category of `shards` shards (linear hashing)."""
    low = _low(shards)
    index = uid_hash(uid) % (2 * low)
    return index if index < shards else uid_hash(uid) % low


def modulus(index: int, shards: int) -> int:
    """The modulus of shard `index` of `shards`: it holds the uids whose hash modulo this is
    `index` (twice the lowest for the shards split at this level and the new ones)."""
    low = _low(shards)
    return 2 * low if index < shards - low or index >= low else low


def next_split(shards: int) -> tuple[int, int]:
    """(the shard that the next split divides, the shard it opens)."""
    return shards - _low(shards), shards


def moves_on_split(uid: str, shards: int) -> bool:
    """Whether `uid`, in the shard `next_split(shards)` divides, moves to the new shard."""
    return uid_hash(uid) % (2 * _low(shards)) == shards


def read_order(shards: int, start: int) -> list[int]:
    """The shards a read visits: from `start % shards`, wrapping around."""
    if shards <= 0:
        return []
    first = start % shards
    return [(first + k) % shards for k in range(shards)]


def layout(uids: Iterable[str], shards: int) -> list[list[str]]:
    """The uids of each shard of a category of `shards` shards."""
    found: list[list[str]] = [[] for _ in range(shards)]
    for uid in uids:
        found[shard_index(uid, shards)].append(uid)
    return found


# ---------------------------------------------------------------- sizes (Firestore's rules)


def _string_bytes(value: str) -> int:
    return len(value.encode()) + 1


def document_name_bytes(path: str) -> int:
    """A document name: each collection and document id as a string, plus 16."""
    return sum(_string_bytes(part) for part in path.split("/")) + 16


def shard_bytes(path: str, helpers: Mapping[str, str]) -> int:
    """The stored size of a shard document: its name, `helpers` (a map of strings), `mod` (an
    integer), `updatedAt` (a timestamp), plus 32."""
    entries = sum(_string_bytes(uid) + _string_bytes(entry) for uid, entry in helpers.items())
    fields = _string_bytes("helpers") + entries + _string_bytes("mod") + 8
    fields += _string_bytes("updatedAt") + 8
    return document_name_bytes(path) + fields + 32


def shards_for(category: str, entries: Mapping[str, str]) -> int:
    """How many shards a rebuild gives a category: the fewest (grown by splits from an estimate)
    whose every shard is within SHARD_SPLIT_BYTES."""
    total = sum(_string_bytes(uid) + _string_bytes(e) + 2 for uid, e in entries.items())
    shards = max(1, math.ceil(total / SHARD_SPLIT_BYTES))
    while True:
        sizes = [0] * shards
        for uid, entry in entries.items():
            sizes[shard_index(uid, shards)] += _string_bytes(uid) + _string_bytes(entry)
        largest = max(sizes)
        path = shard_path(category, shards - 1)
        if shard_bytes(path, {}) + largest <= SHARD_SPLIT_BYTES or shards >= len(entries):
            return shards
        shards += 1
