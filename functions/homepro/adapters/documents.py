"""The stores' ports written once, over a document database: Firestore, or the fake.

`Documents` is the one unit of work every port of a database shares: plain reads and writes by
path, and `transact`, which runs a piece of work (read, plan, write) as one atomic commit,
conditioned on every document it wrote being unchanged since the work read it. A transition
writes through it the request, its audit event and any document of another port (the session it
starts) in one commit. The adapters implement `Documents` and each port's queries; everything
else here is shared, so the fake and Firestore store the same documents, field for field (the
contract suite, tests/integration/test_contract_*.py, checks it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from homepro.domain import events, limits, outbox, quotes, texts, waves
from homepro.domain.devices import (
    Registration,
    device_id_of,
    device_index_path,
    device_path,
    known_devices,
    legacy_devices,
    plan_registration,
)
from homepro.domain.errors import NotFound
from homepro.domain.events import RoundCounts
from homepro.domain.jobs import job_of, job_path
from homepro.domain.lifecycle import Transition, helper_claims_path
from homepro.domain.models import (
    AnalyticsDoc,
    AuditEvent,
    Device,
    RequestDoc,
    Role,
    SessionDoc,
    UserDoc,
)
from homepro.domain.notifications import Notification
from homepro.domain.outbox import OutboxEntry
from homepro.domain.sessions import JoinLinks, session_links_path
from homepro.domain.writes import DELETE, DocumentWrite, WriteKind
from homepro.services.concurrency import bounded_map
from homepro.services.stores import (
    Admitter,
    FirstClaim,
    Planner,
    QueriedRequest,
    QuotedRequest,
    ReadingPlanner,
    RecentRequest,
    ReservedRound,
    SessionPlanner,
)

T = TypeVar("T")
Data = dict[str, Any]


class Tx(Protocol):
    """The reads and writes of one atomic commit. Reads come first; a write to a document read
    here is conditioned on it being unchanged since (else the work runs again)."""

    def get(self, path: str) -> Data | None: ...

    def get_all(self, paths: Sequence[str]) -> list[Data | None]:
        """Several documents read at one moment, in the order asked."""
        ...

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        """Fails the commit (which then runs again) if the document exists."""
        ...

    def set(self, path: str, data: Mapping[str, Any]) -> None:
        """The whole document, whatever was there (unconditioned)."""
        ...

    def update(self, path: str, data: Mapping[str, Any]) -> None:
        """Merge fields (`Increment`, `ArrayRemove` and `DELETE` values too) into an existing
        document."""
        ...

    def merge(self, path: str, data: Mapping[str, Any]) -> None:
        """Merge fields into the document, creating it if missing (unconditioned)."""
        ...

    def delete(self, path: str) -> None:
        """Delete the document (unconditioned; nothing if it is missing)."""
        ...


class Documents(Protocol):
    """A document database and its unit of work."""

    def transact(self, work: Callable[[Tx], T], what: str, first: Any = None) -> T:
        """Run `work` (it may run several times: keep it free of side effects) and commit its
        writes atomically; a failed condition means another writer came first: run it again.
        `first` is an adapter's earlier read of a document to start from. Contention past
        every attempt is a `Conflict` naming `what`."""
        ...

    def get(self, path: str) -> Data | None: ...

    def get_all(self, paths: Sequence[str]) -> dict[str, Data]:
        """The documents that exist among `paths`, by path."""
        ...

    def children(self, collection: str, fields: Sequence[str] | None = None) -> dict[str, Data]:
        """Every document of a collection by id (only `fields`, if given; [] for ids only)."""
        ...

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        """Create the document unless it exists; True if this call created it."""
        ...

    def update(self, path: str, data: Mapping[str, Any]) -> None:
        """Merge fields into an existing document (`NotFound` if it does not exist)."""
        ...

    def set_all(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Write many whole documents (batched, several batches at once)."""
        ...

    def delete_all(self, paths: Sequence[str]) -> None: ...


def _request(request_id: str, data: Mapping[str, Any]) -> RequestDoc:
    return RequestDoc.model_validate({**data, "id": request_id})


def _write_job(tx: Tx, request: RequestDoc) -> None:
    """The request's job (what helpers read), whole, in the commit that writes the request."""
    tx.set(job_path(request.id), job_of(request))


def _write_outbox(
    tx: Tx,
    request_id: str,
    version: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    now: datetime,
) -> None:
    """What the transition to `version` owes the world (its round, notifications, analytics),
    in its commit: the trigger does it, a `drainoutbox` task finishes it if the trigger died."""
    entry = outbox.transition_entry(request_id, version, before, after, now)
    tx.create(outbox.entry_path(outbox.transition_entry_id(request_id, version)), entry)


def _write_transition(
    tx: Tx, request: RequestDoc, transition: Transition, now: datetime
) -> dict[str, Any]:
    """A planned transition of `request` (as read in `tx`): its fields with `version` + 1, its
    audit event, its job, its outbox entry, the documents it creates. Returns the fields
    written."""
    version = request.version + 1
    updates = transition.updates(version, now)
    path = f"requests/{request.id}"
    tx.update(path, updates)  # conditioned on the read: state and version still hold
    before = request.model_dump(by_alias=True, exclude={"id"}, mode="json")
    after = {**before, **updates}
    _write_job(tx, _request(request.id, after))
    _write_outbox(tx, request.id, version, before, after, now)
    event_id = events.audit_event_id(version, transition.event_type)
    tx.create(f"{path}/events/{event_id}", events.transition_event(transition, now))
    for write in transition.writes:
        _write(tx, write)
    return updates


def _write(tx: Tx, write: DocumentWrite) -> None:
    if write.kind == WriteKind.DELETE:
        tx.delete(write.path)
        return
    {
        WriteKind.CREATE: tx.create,
        WriteKind.SET: tx.set,
        WriteKind.UPDATE: tx.update,
        WriteKind.MERGE: tx.merge,
    }[write.kind](write.path, write.data)


class DocumentRequests(ABC):
    """The `Requests` port; an adapter adds the queries."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs

    def get_request(self, request_id: str) -> RequestDoc | None:
        data = self._docs.get(f"requests/{request_id}")
        return None if data is None else _request(request_id, data)

    def create_request(
        self,
        request_id: str,
        data: Mapping[str, Any],
        now: datetime,
        admit: Admitter | None = None,
    ) -> tuple[RequestDoc, bool]:
        path = f"requests/{request_id}"

        def work(tx: Tx) -> tuple[RequestDoc, bool]:
            found = tx.get(path)  # a twin that got there first is read on the next attempt
            if found is not None:
                return _request(request_id, found), False
            for write in admit(tx.get_all) if admit is not None else ():
                _write(tx, write)
            doc = {**data, "version": 1, "createdAt": now, "updatedAt": now}
            tx.create(path, doc)
            _write_job(tx, _request(request_id, doc))
            _write_outbox(tx, request_id, 1, None, doc, now)
            event = events.created_event(doc["customerId"], doc["status"], now)
            tx.create(f"{path}/events/{events.audit_event_id(1, 'request_created')}", event)
            return _request(request_id, doc), True

        return self._docs.transact(work, f"request {request_id}")

    def apply(
        self,
        request_id: str,
        plan: Planner,
        now: datetime,
        queried: QueriedRequest | None = None,
    ) -> tuple[RequestDoc, Transition]:
        return self.apply_reading(request_id, (), lambda r, _: plan(r), now, queried)

    def apply_reading(
        self,
        request_id: str,
        reads: Sequence[str],
        plan: ReadingPlanner,
        now: datetime,
        queried: QueriedRequest | None = None,
    ) -> tuple[RequestDoc, Transition]:
        path = f"requests/{request_id}"

        def work(tx: Tx) -> tuple[RequestDoc, Transition]:
            # the request and the other documents in one read (a sweep's earlier read of the
            # request is used as is when there are none)
            current, *others = tx.get_all([path, *reads]) if reads else [tx.get(path)]
            if current is None:
                raise NotFound(f"request {request_id} does not exist")
            request = _request(request_id, current)
            also = dict(zip(reads, others, strict=True))
            planned = plan(request, also)
            updates = _write_transition(tx, request, planned, now)
            return _request(request_id, {**current, **updates}), planned

        first = queried.read if queried is not None else None
        return self._docs.transact(work, f"request {request_id}", first)

    def get_event(self, request_id: str, event_id: str) -> AuditEvent | None:
        data = self._docs.get(f"requests/{request_id}/events/{event_id}")
        return None if data is None else AuditEvent.model_validate(data)

    @abstractmethod
    def owed_requests(self, page_size: int) -> Iterator[RequestDoc]: ...

    @abstractmethod
    def stale_requests(
        self, state: str, time_field: str, before: datetime, page_size: int
    ) -> Iterator[QueriedRequest]: ...

    @abstractmethod
    def undecided_requests(self, before: datetime, page_size: int) -> Iterator[QueriedRequest]: ...

    @abstractmethod
    def waiting_since(self, category: str, since: datetime) -> bool: ...


CHECKLISTS = "config/checklists"


class DocumentSessions(ABC):
    """The `Sessions` port; an adapter adds the join-timeout query."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs
        self._checklists_exist = False

    def get_session(self, session_id: str) -> SessionDoc | None:
        data = self._docs.get(f"sessions/{session_id}")
        return None if data is None else SessionDoc.model_validate({**data, "id": session_id})

    def apply_session(
        self, session_id: str, plan: SessionPlanner, now: datetime
    ) -> tuple[SessionDoc, RequestDoc]:
        session_path = f"sessions/{session_id}"

        def work(tx: Tx) -> tuple[SessionDoc, RequestDoc]:
            session_data = tx.get(session_path)
            if session_data is None:
                raise NotFound(f"session {session_id} does not exist")
            session = SessionDoc.model_validate({**session_data, "id": session_id})
            request_path = f"requests/{session.request_id}"
            request_data = tx.get(request_path) or {}
            request = _request(session.request_id, request_data)
            change = plan(session, request)
            version = session.version + 1
            session_updates = {
                **change.changes,
                "status": change.to_status.value,
                "version": version,
            }
            tx.update(session_path, session_updates)
            event_id = events.session_event_id(version, change.event_type)
            tx.create(
                f"{request_path}/events/{event_id}", events.session_event(change, session_id, now)
            )
            if change.request is not None:
                request_updates = _write_transition(tx, request, change.request, now)
                request_data = {**request_data, **request_updates}
            return (
                SessionDoc.model_validate({**session_data, **session_updates, "id": session_id}),
                _request(session.request_id, request_data),
            )

        return self._docs.transact(work, f"session {session_id}")

    @abstractmethod
    def waiting_session_ids(self, before: datetime, page_size: int) -> Iterator[str]: ...

    @abstractmethod
    def active_session_ids(self, before: datetime, page_size: int) -> Iterator[str]: ...

    def get_links(self, session_id: str) -> JoinLinks | None:
        data = self._docs.get(session_links_path(session_id))
        if data is None:
            return None
        return JoinLinks(str(data["customerJoinUrl"]), str(data["helperJoinUrl"]))

    def checklists(self, defaults: Mapping[str, list[str]]) -> dict[str, list[str]]:
        found = self._docs.get(CHECKLISTS)
        self._checklists_exist = found is not None  # deleted since? write it again
        if found is None:
            self.ensure_checklists(defaults)
            found = self._docs.get(CHECKLISTS) or dict(defaults)
        return {k: list(v) for k, v in found.items()}

    def ensure_checklists(self, defaults: Mapping[str, list[str]]) -> None:
        if not self._checklists_exist:
            self._docs.create(CHECKLISTS, {k: list(v) for k, v in defaults.items()})
            self._checklists_exist = True  # written now, or already (by a twin just now)


def device_of(uid: str, device_id: str, data: Mapping[str, Any]) -> Device:
    return Device(uid, device_id, str(data.get("token") or ""), str(data.get("platform") or "web"))


class DocumentUsers:
    """The `Users` port (devices read `io_concurrency` users at a time)."""

    def __init__(self, docs: Documents, io_concurrency: int = 1) -> None:
        self._docs = docs
        self._io_concurrency = io_concurrency

    def get_user(self, uid: str) -> UserDoc | None:
        data = self._docs.get(f"users/{uid}")
        return None if data is None else UserDoc.model_validate({**data, "uid": uid})

    def get_users(self, uids: Sequence[str]) -> dict[str, UserDoc]:
        found = self._docs.get_all([f"users/{uid}" for uid in uids])
        return {
            path.rsplit("/", 1)[1]: UserDoc.model_validate({**data, "uid": path.rsplit("/", 1)[1]})
            for path, data in found.items()
        }

    def update_user(self, uid: str, fields: Mapping[str, Any]) -> None:
        try:
            self._docs.update(f"users/{uid}", fields)
        except NotFound:
            raise NotFound(f"user {uid} has no profile") from None

    def ensure_user(self, uid: str, fields: Mapping[str, Any]) -> bool:
        return self._docs.create(f"users/{uid}", fields)

    def set_user_role(self, uid: str, role: Role, now: datetime) -> None:
        fields = {"role": role.value, "updatedAt": now}
        if not self.ensure_user(uid, {**fields, "createdAt": now}):
            self._docs.update(f"users/{uid}", fields)

    def devices_of(self, users: Sequence[UserDoc]) -> dict[str, list[Device]]:
        def of(user: UserDoc) -> list[Device]:
            mine = [
                device_of(user.uid, device_id, data)
                for device_id, data in self._docs.children(f"users/{user.uid}/devices").items()
            ]
            # the legacy single token counts as one more device
            if user.fcm_token and user.fcm_token not in {d.token for d in mine}:
                mine.append(Device(user.uid, None, user.fcm_token))
            return [d for d in mine if d.token]

        workers = min(self._io_concurrency, len(users))
        return {
            u.uid: found for u, found in zip(users, bounded_map(of, users, workers), strict=True)
        }

    def register_device(
        self, uid: str, token: str, platform: str, now: datetime, max_devices: int
    ) -> Registration:
        device_id = device_id_of(token)
        path = device_path(uid, device_id)
        index_path = device_index_path(uid)

        def work(tx: Tx) -> Registration:
            index, current = tx.get_all([index_path, path])
            # Before the first registration, devices are the ones clients wrote themselves.
            known = (
                known_devices(index)
                if index is not None
                else legacy_devices(
                    self._docs.children(f"users/{uid}/devices", ["createdAt", "updatedAt"])
                )
            )
            plan = plan_registration(known, device_id, now, max_devices)
            created = (current or {}).get("createdAt") or now
            device = {"token": token, "platform": platform, "createdAt": created, "updatedAt": now}
            tx.set(path, device)
            for evicted in plan.evicted:
                tx.delete(device_path(uid, evicted))
            entry = {"devices": plan.devices, "updatedAt": now}
            if index is None:
                tx.create(index_path, entry)  # a parallel first registration: run again
            else:
                tx.update(index_path, entry)  # conditioned: parallel ones count one by one
            return plan

        return self._docs.transact(work, f"devices of {uid}")

    def remove_device(self, uid: str, device_id: str) -> bool:
        return device_id in self._remove_devices(uid, [device_id])

    def _remove_devices(self, uid: str, device_ids: Sequence[str]) -> set[str]:
        """In one commit: delete the user's devices and their index entries; the ids that
        existed."""
        index_path = device_index_path(uid)
        device_ids = list(dict.fromkeys(device_ids))
        paths = [device_path(uid, device_id) for device_id in device_ids]

        def work(tx: Tx) -> set[str]:
            index, *found = tx.get_all([index_path, *paths])
            known = known_devices(index)
            if index is not None and not known.keys().isdisjoint(device_ids):
                kept = {k: v for k, v in known.items() if k not in device_ids}
                tx.update(index_path, {"devices": kept})
            existed = set()
            for device_id, path, data in zip(device_ids, paths, found, strict=True):
                if data is not None:
                    tx.delete(path)
                    existed.add(device_id)
            return existed

        return self._docs.transact(work, f"devices of {uid}")

    def delete_devices(self, devices: Sequence[Device]) -> None:
        by_uid: dict[str, list[str]] = {}
        for device in devices:
            if device.device_id is not None:
                by_uid.setdefault(device.uid, []).append(device.device_id)
        owners = list(by_uid)
        workers = min(self._io_concurrency, len(owners)) or 1
        list(bounded_map(lambda uid: self._remove_devices(uid, by_uid[uid]), owners, workers))
        for device in devices:
            if device.device_id is None:
                profile = self._docs.get(f"users/{device.uid}")
                if profile is not None and profile.get("fcmToken") == device.token:
                    self._docs.update(f"users/{device.uid}", {"fcmToken": DELETE})


class DocumentDispatch(ABC):
    """The `Dispatch` port; an adapter adds the directory."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs

    def reserve_round(self, request_id: str, round_key: str, now: datetime) -> ReservedRound | None:
        path = f"requests/{request_id}"
        round_path = f"{path}/dispatches/{round_key}"

        def work(tx: Tx) -> ReservedRound | None:
            data, sent = tx.get_all([path, round_path])
            if data is None or sent is not None:
                return None
            request = _request(request_id, data)
            if not request.dispatchable:
                return None
            number = request.dispatch_round + 1
            tx.create(round_path, events.round_started(round_key, number, now))
            entry = outbox.round_entry(request_id, round_key, now)
            tx.create(outbox.entry_path(outbox.round_entry_id(request_id, round_key)), entry)
            updates: dict[str, Any] = {"dispatchRound": number}
            if request.dispatchable_at is None:
                updates["dispatchableAt"] = now
            tx.update(path, updates)
            return ReservedRound(_request(request_id, {**data, **updates}), number)

        return self._docs.transact(work, f"request {request_id}")

    def finish_round(
        self, request_id: str, round_key: str, counts: RoundCounts, now: datetime
    ) -> None:
        path = f"requests/{request_id}/dispatches/{round_key}"
        self._docs.update(path, events.round_finished(counts, now))
        self._docs.delete_all([outbox.entry_path(outbox.round_entry_id(request_id, round_key))])

    def resume_round(self, request_id: str, round_key: str) -> ReservedRound | None:
        path = f"requests/{request_id}"
        round_path = f"{path}/dispatches/{round_key}"
        found = self._docs.get_all([path, round_path])
        data, reserved = found.get(path), found.get(round_path)
        if data is None or reserved is None or reserved.get("finishedAt") is not None:
            return None
        request = _request(request_id, data)
        if not request.dispatchable:
            return None
        return ReservedRound(request, int(reserved.get("round") or 0))

    def recorded_targets(self, request_id: str, round_key: str) -> set[str]:
        targets = f"requests/{request_id}/dispatches/{round_key}/targets"
        return set(self._docs.children(targets, fields=[]))

    def record_targets(
        self, request_id: str, round_key: str, devices_by_uid: Mapping[str, int], now: datetime
    ) -> None:
        targets = f"requests/{request_id}/dispatches/{round_key}/targets"
        self._docs.set_all(
            {
                f"{targets}/{uid}": events.round_target(count, now)
                for uid, count in devices_by_uid.items()
            }
        )

    def round_targets(self, request_id: str) -> set[str]:
        return set(self.asks_of(request_id))

    def asks_of(self, request_id: str) -> dict[str, int]:
        rounds = f"requests/{request_id}/dispatches"
        asks: Counter[str] = Counter()
        for round_key, data in self._docs.children(rounds, fields=["wave"]).items():
            # a wave charged and not yet recorded (still sending, or its worker died) counts
            asked = {str(uid) for uid in data.get("wave") or ()}
            asked.update(self._docs.children(f"{rounds}/{round_key}/targets", fields=[]))
            asks.update(asked)
        return dict(asks)

    def round_wave(self, request_id: str, round_key: str) -> list[str] | None:
        found = self._docs.get(f"requests/{request_id}/dispatches/{round_key}") or {}
        wave = found.get("wave")
        return [str(uid) for uid in wave] if isinstance(wave, list) else None

    def attention_of(self, uids: Sequence[str]) -> dict[str, tuple[bool, list[datetime]]]:
        claims = {uid: helper_claims_path(uid) for uid in uids}
        alerts = {uid: waves.alerts_path(uid) for uid in uids}
        found = self._docs.get_all([*claims.values(), *alerts.values()])
        return {
            uid: (
                bool((found.get(claims[uid]) or {}).get("open")),
                waves.alerts_of(found.get(alerts[uid])),
            )
            for uid in uids
        }

    def take_alerts(
        self, request_id: str, round_key: str, limits: Mapping[str, int], now: datetime
    ) -> list[str]:
        round_path = f"requests/{request_id}/dispatches/{round_key}"
        uids = list(limits)

        def work(tx: Tx) -> list[str]:
            reserved, *found = tx.get_all([round_path, *(waves.alerts_path(u) for u in uids)])
            if reserved is None:
                return []
            if isinstance(reserved.get("wave"), list):
                return [str(uid) for uid in reserved["wave"]]
            charged = []
            for uid, data in zip(uids, found, strict=True):
                alerts = waves.alerts_of(data)
                if waves.budget_left(alerts, limits[uid], now) > 0:
                    # written on condition the document is as read: two rounds charging one
                    # helper at once cannot both count the last alert of the budget
                    state = waves.alerted(alerts, limits[uid], now)
                    if data is None:
                        tx.create(waves.alerts_path(uid), state)
                    else:
                        tx.update(waves.alerts_path(uid), state)
                    charged.append(uid)
            tx.update(round_path, {"wave": charged})
            return charged

        return self._docs.transact(work, f"the wave of {request_id} {round_key}")

    @abstractmethod
    def directory(self) -> list[tuple[UserDoc, list[Device]]]: ...

    @abstractmethod
    def directory_of(
        self, category: str, *, start: int, want: int | None
    ) -> list[tuple[UserDoc, list[Device]]]: ...

    @abstractmethod
    def refresh_directory(self, uid: str, now: datetime) -> bool: ...

    @abstractmethod
    def rebuild_directory(self, now: datetime) -> int: ...


class DocumentOutbox(ABC):
    """The `Outbox` port; an adapter adds the query of what is owed."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs

    def take(
        self, entry_id: str, now: datetime, grace: timedelta, lease: timedelta
    ) -> OutboxEntry | None:
        path = outbox.entry_path(entry_id)

        def work(tx: Tx) -> OutboxEntry | None:
            data = tx.get(path)
            if data is None or not outbox.takeable(data, now, grace):
                return None
            updates = outbox.taken(data, now, lease)
            tx.update(path, updates)
            return OutboxEntry.of(entry_id, {**data, **updates})

        return self._docs.transact(work, f"outbox {entry_id}")

    def get_entry(self, entry_id: str) -> OutboxEntry | None:
        data = self._docs.get(outbox.entry_path(entry_id))
        return None if data is None else OutboxEntry.of(entry_id, data)

    def finish(self, entry_id: str) -> None:
        self._docs.delete_all([outbox.entry_path(entry_id)])

    def give_up(self, entry_id: str, now: datetime) -> None:
        self._docs.update(outbox.entry_path(entry_id), {"owedAt": None, "gaveUpAt": now})

    @abstractmethod
    def owed(self, before: datetime, page_size: int) -> Iterator[OutboxEntry]: ...


class DocumentInbox:
    """The `Inbox` port."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs

    def create_inbox_once(self, uid: str, note: Notification, now: datetime) -> bool:
        return self._docs.create(
            f"users/{uid}/notifications/{note.key}", events.inbox_item(note, now)
        )

    def write_inbox(self, uids: Sequence[str], note: Notification, now: datetime) -> None:
        item = events.inbox_item(note, now)
        self._docs.set_all({f"users/{uid}/notifications/{note.key}": item for uid in uids})

    def count_text(self, phone: str, now: datetime, limit: int) -> bool:
        path = texts.text_count_path(phone, now)

        def work(tx: Tx) -> bool:
            found = tx.get(path)
            count = int((found or {}).get("count") or 0)
            if count >= limit:
                return False
            if found is None:
                tx.create(path, texts.first_text_count(now))  # a twin's create wins: again
            else:
                tx.update(path, {"count": count + 1, "updatedAt": now})  # on the read count
            return True

        return self._docs.transact(work, "the texts to one number")


def analytics_data(event: AnalyticsDoc) -> dict[str, Any]:
    return event.model_dump(by_alias=True, mode="python")


class DocumentAnalytics:
    """The `Analytics` port."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs

    def record_once(self, event_id: str, event: AnalyticsDoc) -> bool:
        return self._docs.create(f"analytics/{event_id}", analytics_data(event))

    def record_all(self, events_by_id: Mapping[str, AnalyticsDoc]) -> None:
        self._docs.set_all(
            {f"analytics/{key}": analytics_data(event) for key, event in events_by_id.items()}
        )


def first_claim(data: Mapping[str, Any]) -> FirstClaim:
    """A claimed request as the report's scan reads it."""
    return FirstClaim(
        category=str(data.get("category")),
        seconds=(data["firstClaimedAt"] - data["dispatchableAt"]).total_seconds(),
        rounds=int(data.get("firstClaimRound") or 0),
        status=str(data.get("status")),
        dispatchable_at=data["dispatchableAt"],
    )


class DocumentLimits:
    """The `Limits` port (`customerLimits/{uid}`, `sourceLimits/{key}`; server only)."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs

    def forget_attempt(self, customer_id: str, request_id: str) -> None:
        customer_path = limits.customer_limits_path(customer_id)

        def work(tx: Tx) -> None:
            customer = tx.get(customer_path)
            entry = ((customer or {}).get("attempts") or {}).get(request_id)
            source = entry.get("source") if isinstance(entry, Mapping) else None
            source_path = limits.source_limits_path(source) if source else None
            found = tx.get(source_path) if source_path else None
            forgotten = limits.forget_attempt(
                request_id, customer_path, customer, source_path, found
            )
            for path, fields in forgotten.items():
                tx.update(path, fields)

        self._docs.transact(work, f"the counters of {customer_id}")

    def count_signup(
        self, source: str, plan: Callable[[Mapping[str, Any] | None], DocumentWrite]
    ) -> None:
        path = limits.source_limits_path(source)

        def work(tx: Tx) -> None:
            _write(tx, plan(tx.get(path)))

        self._docs.transact(work, f"the sign-ups of {source}")


class DocumentQuotes(ABC):
    """The `Quotes` port; an adapter adds the read of a category's recent requests."""

    def __init__(self, docs: Documents) -> None:
        self._docs = docs

    def create_quote(
        self,
        quote_id: str,
        quote: Mapping[str, Any],
        counter_path: str,
        count: Callable[[Mapping[str, Any] | None], DocumentWrite],
    ) -> None:
        path = quotes.quote_path(quote_id)

        def work(tx: Tx) -> None:
            _write(tx, count(tx.get(counter_path)))
            tx.create(path, quote)

        self._docs.transact(work, f"the quotes of {quote.get('customerId')}")

    def get_quote(self, quote_id: str) -> dict[str, Any] | None:
        return self._docs.get(quotes.quote_path(quote_id))

    @abstractmethod
    def recent_requests(self, category: str, since: datetime) -> list[RecentRequest]: ...


def recent_request(data: Mapping[str, Any]) -> RecentRequest:
    """A recent request as the quote reads it (`Quotes.recent_requests`)."""
    ended = data.get("cancelledAt") or data.get("expiredAt")
    return RecentRequest(data["dispatchableAt"], data.get("firstClaimedAt"), ended)


def quoted_request(data: Mapping[str, Any]) -> QuotedRequest:
    """A request created with a quote, as the report's promise-kept scan reads it."""
    claimed = data.get("firstClaimedAt")
    return QuotedRequest(
        expected_minutes=float((data.get("quote") or {}).get("expectedMinutes") or 0),
        claim_seconds=None
        if claimed is None
        else (claimed - data["dispatchableAt"]).total_seconds(),
        status=str(data.get("status")),
        dispatchable_at=data["dispatchableAt"],
    )
