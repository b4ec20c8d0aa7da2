"""The Store port on Cloud Firestore: one atomic commit per transition, with its audit event.

Every state change is an optimistic transaction: read, plan on what was read, then one atomic
commit whose writes are conditioned on the documents being unchanged since the read (their
update time; `create` for documents that must not exist yet). When another writer got there
first, a condition fails, nothing is written, and the change is planned again on a fresh read.
That is the isolation of `run_transaction` without its read locks: the server client's
transactions lock what they read, and in the Firestore emulator two of them upgrading the same
read lock wait on each other until the callable times out (firebase-tools#2452, #3969; seen
here as a cancel and a claim both stuck for 60 s). One round trip per attempt instead of three.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.aggregation import AggregationQuery
from google.cloud.firestore_v1.field_path import FieldPath

from homepro.adapters import queries
from homepro.domain import directory
from homepro.domain.errors import Conflict, NotFound
from homepro.domain.lifecycle import Transition, audit_event_id
from homepro.domain.models import (
    AnalyticsDoc,
    AuditEvent,
    Category,
    Device,
    RequestDoc,
    Role,
    SessionDoc,
    UserDoc,
)
from homepro.domain.notifications import Notification
from homepro.domain.states import RequestStatus
from homepro.services.concurrency import bounded_map
from homepro.services.ports import (
    FirstClaim,
    Planner,
    RoundClaim,
    RoundCounts,
    Seen,
    SessionPlanner,
)

# Many helpers may claim one request at once: each loser must get to re-read the winner's
# write (and fail its precondition) rather than run out of attempts.
TRANSACTION_ATTEMPTS = 30
# A commit whose condition failed: another writer changed (or created) a document first.
_LOST_RACE = (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.Aborted, gexc.Conflict)

_SHAPE_BY_FIELD = {
    "pendingSince": queries.STALE_PENDING,
    "claimedAt": queries.STALE_CLAIMS,
    "createdAt": queries.UNPAID,
}

BATCH_LIMIT = 500  # writes per batch commit
IO_CONCURRENCY = 16  # batch commits / small queries in flight at once

Write = Callable[[firestore.WriteBatch], None]
T = TypeVar("T")


def inbox_data(note: Notification, now: datetime) -> dict[str, Any]:
    return {
        "type": note.type.value,
        "title": note.title,
        "body": note.body,
        "data": note.data,
        "createdAt": now,
        "readAt": None,
    }


class FirestoreStore:
    """Firestore through the server SDK (rules do not apply; the services enforce them)."""

    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._checklists_exist = False

    def _transact(self, attempt: Callable[[firestore.WriteBatch], T], what: str) -> T:
        """Run `attempt` (read, plan, put conditioned writes in the batch; it may run several
        times, keep it pure) and commit its writes atomically. A failed condition means another
        writer came first: read and plan again. Contention past every attempt is a Conflict
        (`aborted`) naming `what`; a domain error from the plan stops at once."""
        lost: Exception | None = None
        for tried in range(TRANSACTION_ATTEMPTS):
            batch = self._db.batch()
            result = attempt(batch)
            if len(batch) == 0:
                return result
            try:
                batch.commit()
                return result
            except _LOST_RACE as err:
                lost = err
                time.sleep(random.uniform(0, min(0.25, 0.004 * 2**tried)))
        raise Conflict(f"{what} is busy, try again") from lost

    def _unchanged(self, snap: firestore.DocumentSnapshot) -> Any:
        """The condition of a write to `snap`'s document: nobody wrote it since it was read."""
        return self._db.write_option(last_update_time=snap.update_time)

    def _request_ref(self, request_id: str) -> firestore.DocumentReference:
        return self._db.collection("requests").document(request_id)

    def get_request(self, request_id: str) -> RequestDoc | None:
        snap = self._request_ref(request_id).get()
        if not snap.exists:
            return None
        return RequestDoc.model_validate({**(snap.to_dict() or {}), "id": request_id})

    def apply(
        self, request_id: str, plan: Planner, now: datetime, seen: Seen | None = None
    ) -> tuple[RequestDoc, Transition]:
        ref = self._request_ref(request_id)
        first = [seen.read] if seen is not None and seen.read is not None else []

        def run(txn: firestore.WriteBatch) -> tuple[RequestDoc, Transition]:
            # What the query read first (parsed already); after a refused write, the document
            # as it is now.
            snap = first.pop() if first else ref.get()
            if not snap.exists:
                raise NotFound(f"request {request_id} does not exist")
            current = snap.to_dict() or {}
            if seen is not None and snap is seen.read:
                request = seen.request
            else:
                request = RequestDoc.model_validate({**current, "id": request_id})
            done = plan(request)
            updates = self._write_transition(txn, snap, request, done, now)
            return RequestDoc.model_validate({**current, **updates, "id": request_id}), done

        return self._transact(run, f"request {request_id}")

    def _write_transition(
        self,
        txn: firestore.WriteBatch,
        snap: firestore.DocumentSnapshot,
        request: RequestDoc,
        done: Transition,
        now: datetime,
    ) -> dict[str, Any]:
        """Write a planned transition of the request read as `snap`: its fields with
        `version` + 1, its audit event, the documents it creates. Returns the fields written."""
        version = request.version + 1
        updates = done.updates(version, now)
        # The document read must still be the one written last: state and version hold.
        txn.update(snap.reference, updates, option=self._unchanged(snap))
        txn.create(
            snap.reference.collection("events").document(audit_event_id(version, done.event_type)),
            done.audit_event(now),
        )
        for path, data in done.creates.items():
            txn.create(self._db.document(path), dict(data))
        return updates

    def create_request(
        self, request_id: str, data: Mapping[str, Any], now: datetime
    ) -> tuple[RequestDoc, bool]:
        ref = self._request_ref(request_id)

        def run(txn: firestore.WriteBatch) -> tuple[RequestDoc, bool]:
            snap = ref.get()  # `create` below fails if a twin got there first: read it then
            if snap.exists:
                return RequestDoc.model_validate(
                    {**(snap.to_dict() or {}), "id": request_id}
                ), False
            doc = {**data, "version": 1, "createdAt": now, "updatedAt": now}
            txn.create(ref, doc)
            txn.create(
                ref.collection("events").document(audit_event_id(1, "request_created")),
                {
                    "type": "request_created",
                    "from": None,
                    "to": doc["status"],
                    "actor": {"uid": doc["customerId"], "role": "customer"},
                    "reason": None,
                    "at": now,
                },
            )
            return RequestDoc.model_validate({**doc, "id": request_id}), True

        return self._transact(run, f"request {request_id}")

    def owed_requests(self, page_size: int) -> Iterator[RequestDoc]:
        for snap in _pages(queries.payment_owed(self._db, page_size), page_size):
            yield RequestDoc.model_validate({**(snap.to_dict() or {}), "id": snap.id})

    def stale_requests(
        self, state: str, time_field: str, before: datetime, page_size: int
    ) -> Iterator[Seen]:
        shape = _SHAPE_BY_FIELD[time_field]
        query = queries.older_than(self._db, shape, (state,), before, page_size)
        for snap in _pages(query, page_size):
            yield Seen(RequestDoc.model_validate({**(snap.to_dict() or {}), "id": snap.id}), snap)

    def apply_session(
        self, session_id: str, plan: SessionPlanner, now: datetime
    ) -> tuple[SessionDoc, RequestDoc]:
        session_ref = self._db.collection("sessions").document(session_id)

        def run(txn: firestore.WriteBatch) -> tuple[SessionDoc, RequestDoc]:
            session_snap = session_ref.get()
            if not session_snap.exists:
                raise NotFound(f"session {session_id} does not exist")
            session_data = session_snap.to_dict() or {}
            session = SessionDoc.model_validate({**session_data, "id": session_id})
            request_ref = self._request_ref(session.request_id)
            request_snap = request_ref.get()
            request_data = request_snap.to_dict() or {}
            request = RequestDoc.model_validate({**request_data, "id": session.request_id})
            change = plan(session, request)
            session_version = session.version + 1
            session_updates = {
                **change.changes,
                "status": change.to_status.value,
                "version": session_version,
            }
            txn.update(session_ref, session_updates, option=self._unchanged(session_snap))
            events = request_ref.collection("events")
            txn.create(
                events.document(f"s{session_version:06d}-{change.event_type}"),
                {
                    "type": change.event_type,
                    "from": change.from_status.value,
                    "to": change.to_status.value,
                    "actor": change.actor.as_data(),
                    "reason": change.changes.get("outcome"),
                    "at": now,
                    "sessionId": session_id,
                },
            )
            if change.request is not None:
                request_updates = self._write_transition(
                    txn, request_snap, request, change.request, now
                )
                request_data = {**request_data, **request_updates}
            return (
                SessionDoc.model_validate({**session_data, **session_updates, "id": session_id}),
                RequestDoc.model_validate({**request_data, "id": session.request_id}),
            )

        return self._transact(run, f"session {session_id}")

    def waiting_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        query = queries.older_than(
            self._db, queries.WAITING_SESSIONS, ("waiting",), before, page_size
        )
        yield from (snap.id for snap in query.stream())

    def checklists(self, defaults: Mapping[str, list[str]]) -> dict[str, list[str]]:
        ref = self._db.collection("config").document("checklists")
        snap = ref.get()
        self._checklists_exist = snap.exists  # deleted since? write it again
        if not snap.exists:
            self.ensure_checklists(defaults)
            snap = ref.get()
        return {k: list(v) for k, v in (snap.to_dict() or dict(defaults)).items()}

    def ensure_checklists(self, defaults: Mapping[str, list[str]]) -> None:
        if self._checklists_exist:
            return
        with contextlib.suppress(gexc.AlreadyExists):  # written already, or by a twin just now
            self._db.collection("config").document("checklists").create(dict(defaults))
        self._checklists_exist = True

    def get_user(self, uid: str) -> UserDoc | None:
        snap = self._db.collection("users").document(uid).get()
        if not snap.exists:
            return None
        return UserDoc.model_validate({**(snap.to_dict() or {}), "uid": uid})

    def update_user(self, uid: str, fields: Mapping[str, Any]) -> None:
        try:
            self._db.collection("users").document(uid).update(dict(fields))
        except gexc.NotFound:
            raise NotFound(f"user {uid} has no profile") from None

    def ensure_user(self, uid: str, fields: Mapping[str, Any]) -> bool:
        try:
            self._db.collection("users").document(uid).create(dict(fields))
        except gexc.AlreadyExists:
            return False
        return True

    def set_user_role(self, uid: str, role: Role, now: datetime) -> None:
        ref = self._db.collection("users").document(uid)
        if not self.ensure_user(uid, {"role": role.value, "createdAt": now, "updatedAt": now}):
            ref.update({"role": role.value, "updatedAt": now})

    def record_analytics_once(self, event_id: str, event: AnalyticsDoc) -> bool:
        try:
            self._db.collection("analytics").document(event_id).create(
                event.model_dump(by_alias=True, mode="python")
            )
        except gexc.AlreadyExists:
            return False
        return True

    def record_analytics(self, events: Mapping[str, AnalyticsDoc]) -> None:
        analytics = self._db.collection("analytics")
        self._commit(
            [
                _set(analytics.document(key), event.model_dump(by_alias=True, mode="python"))
                for key, event in events.items()
            ]
        )

    def get_event(self, request_id: str, event_id: str) -> AuditEvent | None:
        snap = self._request_ref(request_id).collection("events").document(event_id).get()
        return AuditEvent.model_validate(snap.to_dict()) if snap.exists else None

    def get_session(self, session_id: str) -> SessionDoc | None:
        snap = self._db.collection("sessions").document(session_id).get()
        if not snap.exists:
            return None
        return SessionDoc.model_validate({**(snap.to_dict() or {}), "id": session_id})

    # -- dispatch

    def claim_round(self, request_id: str, round_key: str, now: datetime) -> RoundClaim | None:
        ref = self._request_ref(request_id)
        round_ref = ref.collection("dispatches").document(round_key)

        def run(txn: firestore.WriteBatch) -> RoundClaim | None:
            snap, round_snap = self._get_both(ref, round_ref)
            if not snap.exists or round_snap.exists:
                return None
            data = snap.to_dict() or {}
            request = RequestDoc.model_validate({**data, "id": request_id})
            if not request.dispatchable:
                return None
            number = request.dispatch_round + 1
            txn.create(
                round_ref,
                {
                    "round": number,
                    "reason": round_key.split("-")[0],
                    "helpersTargeted": 0,
                    "devicesTargeted": 0,
                    "sent": 0,
                    "failed": 0,
                    "tokensPruned": 0,
                    "startedAt": now,
                    "finishedAt": None,
                },
            )
            updates: dict[str, Any] = {"dispatchRound": number}
            if request.dispatchable_at is None:
                updates["dispatchableAt"] = now
            txn.update(ref, updates, option=self._unchanged(snap))
            return RoundClaim(
                RequestDoc.model_validate({**data, **updates, "id": request_id}), number
            )

        return self._transact(run, f"request {request_id}")

    def _get_both(
        self, first: firestore.DocumentReference, second: firestore.DocumentReference
    ) -> tuple[firestore.DocumentSnapshot, firestore.DocumentSnapshot]:
        """Two documents in one read, as of the same moment."""
        found = {snap.reference.path: snap for snap in self._db.get_all([first, second])}
        return found[first.path], found[second.path]

    def finish_round(
        self, request_id: str, round_key: str, counts: RoundCounts, now: datetime
    ) -> None:
        self._request_ref(request_id).collection("dispatches").document(round_key).update(
            {**counts.as_data(), "finishedAt": now}
        )

    def record_targets(
        self, request_id: str, round_key: str, devices_by_uid: Mapping[str, int], now: datetime
    ) -> None:
        targets = (
            self._request_ref(request_id)
            .collection("dispatches")
            .document(round_key)
            .collection("targets")
        )
        self._commit(
            [
                _set(targets.document(uid), {"devices": count, "at": now})
                for uid, count in devices_by_uid.items()
            ]
        )

    def round_targets(self, request_id: str) -> set[str]:
        rounds = self._request_ref(request_id).collection("dispatches")
        found: set[str] = set()
        for round_snap in rounds.select([]).stream():
            targets = round_snap.reference.collection("targets").select([]).stream()
            found.update(t.id for t in targets)
        return found

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        shards = self._db.collection(directory.DIRECTORY)
        found: list[tuple[UserDoc, list[Device]]] = []
        for snap in self._db.get_all([shards.document(name) for name in directory.all_shards()]):
            for uid, entry in ((snap.to_dict() or {}).get("helpers") or {}).items():
                found.append(directory.from_entry(uid, entry))
        return found

    def refresh_directory(self, uid: str, now: datetime) -> bool:
        user_ref = self._db.collection("users").document(uid)
        shard_ref = self._db.collection(directory.DIRECTORY).document(directory.shard_of(uid))

        def run(txn: firestore.WriteBatch) -> bool:
            # The shard is read first and written only if unchanged since: refreshes of one
            # shard are serializable, a refresh that read older devices cannot commit over a
            # newer one.
            shard_snap = shard_ref.get()
            shard = shard_snap.to_dict() or {}
            profile = user_ref.get().to_dict()
            query = user_ref.collection("devices").select(["token", "platform"])
            devices = [_device(uid, d) for d in query.stream()]
            entry = directory.entry_for(profile, devices)
            current = (shard.get("helpers") or {}).get(uid)
            if entry == current:
                return False
            if not shard_snap.exists:
                txn.create(shard_ref, {"helpers": {uid: entry} if entry else {}, "updatedAt": now})
                return True
            # update() replaces the entry whole (a merge would keep removed devices)
            path = FieldPath("helpers", uid).to_api_repr()
            value: Any = entry if entry is not None else firestore.DELETE_FIELD
            txn.update(
                shard_ref, {path: value, "updatedAt": now}, option=self._unchanged(shard_snap)
            )
            return True

        return self._transact(run, f"directory shard of {uid}")

    def rebuild_directory(self, now: datetime) -> int:
        devices: dict[str, list[Device]] = {}
        for snap in queries.all_devices(self._db).stream():
            owner = snap.reference.parent.parent
            if owner is not None:
                devices.setdefault(owner.id, []).append(_device(owner.id, snap))
        shards: dict[str, dict[str, Any]] = {name: {} for name in directory.all_shards()}
        for snap in queries.available_helpers(self._db).stream():
            entry = directory.entry_for(snap.to_dict(), devices.get(snap.id, []))
            if entry is not None:
                shards[directory.shard_of(snap.id)][snap.id] = entry
        collection = self._db.collection(directory.DIRECTORY)
        self._commit(
            [
                _set(collection.document(name), {"helpers": helpers, "updatedAt": now})
                for name, helpers in shards.items()
            ]
        )
        return sum(len(helpers) for helpers in shards.values())

    def get_users(self, uids: Sequence[str]) -> dict[str, UserDoc]:
        refs = [self._db.collection("users").document(uid) for uid in uids]
        return {
            snap.id: UserDoc.model_validate({**(snap.to_dict() or {}), "uid": snap.id})
            for snap in self._db.get_all(refs)
            if snap.exists
        }

    def devices_of(self, users: Sequence[UserDoc]) -> dict[str, list[Device]]:
        def of(uid: str) -> list[Device]:
            devices = self._db.collection("users").document(uid).collection("devices")
            return [_device(uid, snap) for snap in devices.stream()]

        found: dict[str, list[Device]] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(IO_CONCURRENCY, len(users)))) as pool:
            for user, devices in zip(users, pool.map(of, [u.uid for u in users]), strict=True):
                found[user.uid] = devices
        for user in users:  # the legacy single token counts as one more device
            tokens = {d.token for d in found[user.uid]}
            if user.fcm_token and user.fcm_token not in tokens:
                found[user.uid].append(Device(user.uid, None, user.fcm_token))
        return {uid: [d for d in devices if d.token] for uid, devices in found.items()}

    def delete_devices(self, devices: Sequence[Device]) -> None:
        users = self._db.collection("users")
        self._commit(
            [
                _delete(users.document(d.uid).collection("devices").document(d.device_id))
                for d in devices
                if d.device_id is not None
            ]
        )
        for device in devices:
            if device.device_id is None:
                ref = users.document(device.uid)
                snap = ref.get()
                if snap.exists and (snap.to_dict() or {}).get("fcmToken") == device.token:
                    ref.update({"fcmToken": firestore.DELETE_FIELD})

    # -- inbox

    def claim_inbox(self, uid: str, note: Notification, now: datetime) -> bool:
        ref = self._db.collection("users").document(uid).collection("notifications")
        try:
            ref.document(note.key).create(inbox_data(note, now))
        except gexc.AlreadyExists:
            return False
        return True

    def write_inbox(self, uids: Sequence[str], note: Notification, now: datetime) -> None:
        users = self._db.collection("users")
        data = inbox_data(note, now)
        self._commit(
            [
                _set(users.document(uid).collection("notifications").document(note.key), data)
                for uid in uids
            ]
        )

    # -- reports

    def read_time(self) -> datetime | None:
        # the cheapest read there is (an aggregation of at most one index entry) carries the
        # server's read time
        probe = self._db.collection(queries.DISPATCHABLE_IN_WINDOW.collection).limit(1).count()
        moment: datetime | None = probe.get()[0][0].read_time
        return moment

    def count_dispatchable(
        self,
        since: datetime,
        until: datetime,
        statuses: Sequence[str] | None = None,
        read_time: datetime | None = None,
    ) -> dict[tuple[str, str], int]:
        wanted = list(statuses) if statuses is not None else [s.value for s in RequestStatus]
        cells = [(c.value, s) for c in Category for s in wanted]

        def count(cell: tuple[str, str]) -> int:
            query = queries.dispatchable_between(self._db, *cell, since, until)
            return int(query.count(alias="n").get(read_time=read_time)[0][0].value)

        found = zip(cells, bounded_map(count, cells, IO_CONCURRENCY), strict=True)
        return {cell: n for cell, n in found if n}

    def first_claims(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[FirstClaim]:
        query = queries.first_claims_between(self._db, since, until, page_size)
        for snap in _pages(query, page_size, read_time):
            data = snap.to_dict() or {}
            yield FirstClaim(
                category=str(data.get("category")),
                seconds=(data["firstClaimedAt"] - data["dispatchableAt"]).total_seconds(),
                rounds=int(data.get("firstClaimRound") or 0),
                status=str(data.get("status")),
                dispatchable_at=data["dispatchableAt"],
            )

    def push_totals(
        self, since: datetime, until: datetime, read_time: datetime | None = None
    ) -> dict[str, int]:
        def total(name: str | None) -> tuple[str, int]:
            query = AggregationQuery(
                queries.analytics_between(self._db, "notification_sent", since, until)
            )
            if name is None:
                query.count(alias="n")
            else:
                query.sum(f"metadata.{name}", alias="n")
            return name or "notifications", int(query.get(read_time=read_time)[0][0].value or 0)

        fields: list[str | None] = [None, *queries.PUSH_SUMS]
        return dict(bounded_map(total, fields, len(fields)))

    def _commit(self, writes: Sequence[Write]) -> None:
        """Commit `writes` in batches of BATCH_LIMIT, several batches at once."""
        chunks = [writes[i : i + BATCH_LIMIT] for i in range(0, len(writes), BATCH_LIMIT)]

        def commit(chunk: Sequence[Write]) -> None:
            batch = self._db.batch()
            for write in chunk:
                write(batch)
            batch.commit()

        if len(chunks) == 1:
            commit(chunks[0])
        elif chunks:
            with ThreadPoolExecutor(max_workers=min(IO_CONCURRENCY, len(chunks))) as pool:
                list(pool.map(commit, chunks))


def _pages(
    query: firestore.Query, page_size: int, read_time: datetime | None = None
) -> Iterator[firestore.DocumentSnapshot]:
    """Every document of `query` (ordered, limited to `page_size`), one page at a time (every
    page as the database stood at `read_time`, if given)."""
    last = None
    while True:
        page = list(
            (query.start_after(last) if last is not None else query).stream(read_time=read_time)
        )
        yield from page
        if len(page) < page_size:
            return
        last = page[-1]


def _set(ref: firestore.DocumentReference, data: Mapping[str, Any]) -> Write:
    return lambda batch: batch.set(ref, dict(data))


def _delete(ref: firestore.DocumentReference) -> Write:
    return lambda batch: batch.delete(ref)


def _device(uid: str, snap: firestore.DocumentSnapshot) -> Device:
    data = snap.to_dict() or {}
    return Device(uid, snap.id, str(data.get("token") or ""), str(data.get("platform") or "web"))
