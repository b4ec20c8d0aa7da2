"""The dispatch directory on Firestore: per category, `dispatchDirectory/{category}` counts the
shards and `dispatchShards/{category}-{index}` hold the entries; `dispatchMembers/{uid}` says
which categories hold a helper's entries. Each helper's entries are recomputed from their
profile and devices (see `homepro.domain.directory` for the layout)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.cloud.firestore_v1.field_path import FieldPath

from homepro.adapters.documents import Data, DocumentDispatch, Tx, device_of
from homepro.adapters.firestore import queries
from homepro.adapters.firestore.documents import FirestoreDocuments
from homepro.domain import directory
from homepro.domain.errors import Conflict
from homepro.domain.models import Device, UserDoc
from homepro.domain.writes import DELETE

# Times a refresh re-reads a shard count that a split made stale under it.
_MAX_RELOCATIONS = 8


def _helpers(shard: Data | None) -> dict[str, str]:
    return dict((shard or {}).get("helpers") or {})


def _shard_count(meta: Data | None) -> int:
    return int((meta or {}).get("shards") or 0)


class FirestoreDispatch(DocumentDispatch):
    def __init__(self, docs: FirestoreDocuments) -> None:
        super().__init__(docs)
        self._firestore = docs
        self._db = docs.db

    # -- reads

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        metas = self._firestore.get_all([directory.category_path(c) for c in directory.CATEGORIES])
        paths = [
            directory.shard_path(category, index)
            for category in directory.CATEGORIES
            for index in range(_shard_count(metas.get(directory.category_path(category))))
        ]
        seen: dict[str, tuple[UserDoc, list[Device]]] = {}
        for shard in self._firestore.get_all(paths).values():
            for uid, entry in sorted(_helpers(shard).items()):
                if uid not in seen:
                    seen[uid] = directory.from_entry(uid, entry)
        return list(seen.values())

    def directory_of(
        self, category: str, *, start: int, want: int | None
    ) -> list[tuple[UserDoc, list[Device]]]:
        shards = _shard_count(self._firestore.get(directory.category_path(category)))
        order = directory.read_order(shards, start)
        found: list[tuple[UserDoc, list[Device]]] = []
        if want is None:
            paths = [directory.shard_path(category, index) for index in order]
            read = self._firestore.get_all(paths)
            for path in paths:
                found.extend(_entries(read.get(path)))
            return found
        for index in order:  # one shard at a time: a wave reads only what it needs
            found.extend(_entries(self._firestore.get(directory.shard_path(category, index))))
            if len(found) >= want:
                break
        return found

    # -- writes

    def refresh_directory(self, uid: str, now: datetime) -> bool:
        member_path = directory.member_path(uid)
        profile_ref = self._db.document(f"users/{uid}")
        devices_query = self._db.collection(f"users/{uid}/devices").select(["token", "platform"])
        grown: set[str] = set()

        def work(tx: Tx) -> bool:
            # The helper's member document is read first and written by every refresh: two
            # refreshes of one helper are serializable, so the one that commits last read the
            # profile and devices last (a refresh that read older ones cannot commit over a
            # newer one, even one that changed no entry). Each shard is read before it is
            # written and written only if unchanged since: refreshes and splits of a shard are
            # serializable too.
            grown.clear()
            member = tx.get(member_path)
            before = list((member or {}).get("categories") or [])
            profile = profile_ref.get().to_dict()
            devices = [device_of(uid, d.id, d.to_dict() or {}) for d in devices_query.stream()]
            entry = directory.entry_for(profile, devices)
            after = directory.categories_of(profile) if entry is not None else []
            changed = False
            for category in sorted(set(before) | set(after)):
                wanted = entry if category in after else None
                if self._put_entry(tx, category, uid, wanted, now):
                    changed = True
                    if wanted is not None:
                        grown.add(category)
            if member is None:
                tx.create(member_path, {"categories": after, "updatedAt": now})
            else:
                tx.update(member_path, {"categories": after, "updatedAt": now})
            return changed

        changed = self._firestore.transact(work, f"directory entries of {uid}")
        for category in sorted(grown):
            self._split_while_over(category, uid, now)
        return changed

    def _locate(self, tx: Tx, category: str, uid: str) -> tuple[int, int, Data | None]:
        """(shard count, the helper's shard, that shard) read in `tx`; the count is read again
        if the shard was split after it was read."""
        for _ in range(_MAX_RELOCATIONS):
            shards = _shard_count(tx.get(directory.category_path(category)))
            if shards == 0:
                return 0, 0, None
            index = directory.shard_index(uid, shards)
            shard = tx.get(directory.shard_path(category, index))
            if shard is None or shard.get("mod") == directory.modulus(index, shards):
                return shards, index, shard
        raise Conflict(f"the directory of {category} is being resized, try again")

    def _put_entry(self, tx: Tx, category: str, uid: str, entry: str | None, now: datetime) -> bool:
        """Plan the helper's entry in `category` (None: none); False if it is already so."""
        shards, index, shard = self._locate(tx, category, uid)
        if _helpers(shard).get(uid) == entry:
            return False
        if shards == 0:
            if entry is None:
                return False
            tx.create(directory.category_path(category), {"shards": 1, "updatedAt": now})
            shards = 1
        path = directory.shard_path(category, index)
        if shard is None:
            mod = directory.modulus(index, shards)
            helpers = {uid: entry} if entry is not None else {}
            tx.create(path, {"helpers": helpers, "mod": mod, "updatedAt": now})
            return True
        # update() replaces the entry whole (a merge would keep removed devices)
        value: Any = entry if entry is not None else DELETE
        tx.update(path, {FieldPath("helpers", uid).to_api_repr(): value, "updatedAt": now})
        return True

    def _split_while_over(self, category: str, uid: str, now: datetime) -> None:
        """Split the category's next shard while `uid`'s shard is over the bound."""
        for _ in range(directory.MAX_SPLITS_PER_REFRESH):
            shards = _shard_count(self._firestore.get(directory.category_path(category)))
            if shards == 0:
                return
            path = directory.shard_path(category, directory.shard_index(uid, shards))
            shard = self._firestore.get(path)
            if directory.shard_bytes(path, _helpers(shard)) <= directory.SHARD_SPLIT_BYTES:
                return
            self._split(category, shards, now)

    def _split(self, category: str, seen: int, now: datetime) -> bool:
        """Open shard `seen` by splitting shard `seen - 2^L`, unless the category no longer has
        `seen` shards (another refresh split it first)."""
        meta_path = directory.category_path(category)

        def work(tx: Tx) -> bool:
            shards = _shard_count(tx.get(meta_path))
            if shards != seen:
                return False
            old, new = directory.next_split(shards)
            old_path = directory.shard_path(category, old)
            helpers = _helpers(tx.get(old_path))
            moving = {u: e for u, e in helpers.items() if directory.moves_on_split(u, shards)}
            staying = {u: e for u, e in helpers.items() if u not in moving}
            mod = directory.modulus(new, shards + 1)
            tx.update(old_path, {"helpers": staying, "mod": mod, "updatedAt": now})
            new_path = directory.shard_path(category, new)
            tx.create(new_path, {"helpers": moving, "mod": mod, "updatedAt": now})
            tx.update(meta_path, {"shards": shards + 1, "updatedAt": now})
            return True

        return self._firestore.transact(work, f"the directory of {category}")

    def rebuild_directory(self, now: datetime) -> int:
        devices: dict[str, list[Device]] = {}
        for snap in queries.all_devices(self._db).stream():
            owner = snap.reference.parent.parent
            if owner is not None:
                devices.setdefault(owner.id, []).append(
                    device_of(owner.id, snap.id, snap.to_dict() or {})
                )
        entries: dict[str, dict[str, str]] = {c: {} for c in directory.CATEGORIES}
        members: dict[str, list[str]] = {}
        for snap in queries.available_helpers(self._db).stream():
            profile = snap.to_dict()
            entry = directory.entry_for(profile, devices.get(snap.id, []))
            if entry is None:
                continue
            members[snap.id] = directory.categories_of(profile)
            for category in members[snap.id]:
                entries[category][snap.id] = entry
        writes = rebuilt_documents(entries, members, now)
        stale: list[str] = []
        old_metas = self._firestore.children(directory.DIRECTORY)
        for doc_id, meta in old_metas.items():
            if doc_id not in directory.CATEGORIES:
                stale.append(f"{directory.DIRECTORY}/{doc_id}")  # the 16 shards of before
                continue
            kept = _shard_count(writes[directory.category_path(doc_id)])
            stale.extend(
                directory.shard_path(doc_id, index) for index in range(kept, _shard_count(meta))
            )
        stale.extend(
            directory.member_path(uid)
            for uid in self._firestore.children(directory.MEMBERS, fields=[])
            if uid not in members
        )
        self._firestore.set_all(writes)
        self._firestore.delete_all(stale)
        return len(members)


def _entries(shard: Data | None) -> list[tuple[UserDoc, list[Device]]]:
    return [directory.from_entry(uid, entry) for uid, entry in sorted(_helpers(shard).items())]


def rebuilt_documents(
    entries: dict[str, dict[str, str]], members: dict[str, list[str]], now: datetime
) -> dict[str, dict[str, Any]]:
    """The directory's documents for these entries (by category, then uid) and categories (by
    helper): every category's shard count and shards, every helper's member document."""
    writes: dict[str, dict[str, Any]] = {}
    for category, found in entries.items():
        shards = directory.shards_for(category, found)
        writes[directory.category_path(category)] = {"shards": shards, "updatedAt": now}
        for index, uids in enumerate(directory.layout(found, shards)):
            writes[directory.shard_path(category, index)] = {
                "helpers": {uid: found[uid] for uid in uids},
                "mod": directory.modulus(index, shards),
                "updatedAt": now,
            }
    for uid, categories in members.items():
        writes[directory.member_path(uid)] = {"categories": categories, "updatedAt": now}
    return writes
