"""The dispatch directory on Firestore: `dispatchDirectory/{shard}` documents, each helper's
entry recomputed from their profile and devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.cloud.firestore_v1.field_path import FieldPath

from homepro.adapters.documents import DocumentDispatch, Tx, device_of
from homepro.adapters.firestore import queries
from homepro.adapters.firestore.documents import FirestoreDocuments
from homepro.domain import directory
from homepro.domain.models import Device, UserDoc
from homepro.domain.writes import DELETE


class FirestoreDispatch(DocumentDispatch):
    def __init__(self, docs: FirestoreDocuments) -> None:
        super().__init__(docs)
        self._firestore = docs
        self._db = docs.db

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        shards = self._db.collection(directory.DIRECTORY)
        found: list[tuple[UserDoc, list[Device]]] = []
        for snap in self._db.get_all([shards.document(name) for name in directory.all_shards()]):
            for uid, entry in ((snap.to_dict() or {}).get("helpers") or {}).items():
                found.append(directory.from_entry(uid, entry))
        return found

    def refresh_directory(self, uid: str, now: datetime) -> bool:
        shard_path = f"{directory.DIRECTORY}/{directory.shard_of(uid)}"
        devices_query = self._db.collection(f"users/{uid}/devices").select(["token", "platform"])

        def work(tx: Tx) -> bool:
            # The shard is read first and written only if unchanged since: refreshes of one
            # shard are serializable, a refresh that read older devices cannot commit over a
            # newer one.
            shard = tx.get(shard_path)
            profile = self._db.document(f"users/{uid}").get().to_dict()
            devices = [device_of(uid, d.id, d.to_dict() or {}) for d in devices_query.stream()]
            entry = directory.entry_for(profile, devices)
            current = ((shard or {}).get("helpers") or {}).get(uid)
            if entry == current:
                return False
            if shard is None:
                tx.create(shard_path, {"helpers": {uid: entry} if entry else {}, "updatedAt": now})
                return True
            # update() replaces the entry whole (a merge would keep removed devices)
            path = FieldPath("helpers", uid).to_api_repr()
            value: Any = entry if entry is not None else DELETE
            tx.update(shard_path, {path: value, "updatedAt": now})
            return True

        return self._firestore.transact(work, f"directory shard of {uid}")

    def rebuild_directory(self, now: datetime) -> int:
        devices: dict[str, list[Device]] = {}
        for snap in queries.all_devices(self._db).stream():
            owner = snap.reference.parent.parent
            if owner is not None:
                devices.setdefault(owner.id, []).append(
                    device_of(owner.id, snap.id, snap.to_dict() or {})
                )
        shards: dict[str, dict[str, Any]] = {name: {} for name in directory.all_shards()}
        for snap in queries.available_helpers(self._db).stream():
            entry = directory.entry_for(snap.to_dict(), devices.get(snap.id, []))
            if entry is not None:
                shards[directory.shard_of(snap.id)][snap.id] = entry
        self._firestore.set_all(
            {
                f"{directory.DIRECTORY}/{name}": {"helpers": helpers, "updatedAt": now}
                for name, helpers in shards.items()
            }
        )
        return sum(len(helpers) for helpers in shards.values())
