"""Small stateful fakes of every port, shipped with the package (as procrastinate ships its
`testing.py`): the unit tests, the simulation and the tools import them from here.

`FakeDocuments` is a document database in memory with Firestore's rules for what the ports do
(a create fails on an existing document, an update on a missing one; one commit is atomic);
the ports are the same code as on Firestore (`homepro.adapters.documents`) with their queries
answered by scanning. The contract suite (tests/integration/test_contract_*.py) runs both
through the same cases.
Nothing here is imported by the functions at run time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from homepro.adapters.documents import (
    Data,
    DocumentAnalytics,
    DocumentDispatch,
    DocumentInbox,
    DocumentLimits,
    DocumentOutbox,
    DocumentQuotes,
    DocumentRequests,
    DocumentSessions,
    DocumentUsers,
    Tx,
    device_of,
    first_claim,
    quoted_request,
    recent_request,
)
from homepro.domain import directory, outbox
from homepro.domain.errors import Conflict, NotFound
from homepro.domain.models import Device, RequestDoc, Role, UserDoc
from homepro.domain.outbox import OutboxEntry
from homepro.domain.policy import Policy
from homepro.domain.sessions import VideoRoom
from homepro.domain.states import RequestStatus
from homepro.domain.writes import DELETE, ArrayRemove, Increment, WriteKind
from homepro.services.context import Context, Tuning
from homepro.services.ports import (
    Authorization,
    EnqueueError,
    Hold,
    HoldRefused,
    PaymentError,
    PushMessage,
    PushResult,
)
from homepro.services.stores import (
    FirstClaim,
    QueriedRequest,
    QuotedRequest,
    RecentRequest,
    Stores,
)

T = TypeVar("T")
Listener = Callable[[str, Data | None], None]


def _split(path: str) -> tuple[str, str]:
    collection, _, doc_id = path.rpartition("/")
    if not collection or not doc_id:
        raise ValueError(f"not a document path: {path!r}")
    return collection, doc_id


def _merged(current: Mapping[str, Any], fields: Mapping[str, Any]) -> Data:
    found = dict(current)
    for key, value in fields.items():
        if value is DELETE:
            found.pop(key, None)
        elif isinstance(value, Increment):
            found[key] = (found.get(key) or 0) + value.by
        elif isinstance(value, ArrayRemove):
            found[key] = [v for v in found.get(key) or [] if v not in value.values]
        else:
            found[key] = value
    return found


class _FakeTx:
    """Reads of the live documents; writes buffered until the work returns."""

    def __init__(self, docs: FakeDocuments) -> None:
        self._docs = docs
        self.writes: list[tuple[WriteKind, str, Data]] = []

    def get(self, path: str) -> Data | None:
        return self._docs.get(path)

    def get_all(self, paths: Sequence[str]) -> list[Data | None]:
        return [self._docs.get(path) for path in paths]

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        self.writes.append((WriteKind.CREATE, path, dict(data)))

    def set(self, path: str, data: Mapping[str, Any]) -> None:
        self.writes.append((WriteKind.SET, path, dict(data)))

    def update(self, path: str, data: Mapping[str, Any]) -> None:
        self.writes.append((WriteKind.UPDATE, path, dict(data)))

    def merge(self, path: str, data: Mapping[str, Any]) -> None:
        self.writes.append((WriteKind.MERGE, path, dict(data)))

    def delete(self, path: str) -> None:
        self.writes.append((WriteKind.DELETE, path, {}))


class FakeDocuments:
    """Collections of documents (camelCase dicts, as Firestore stores them) under one lock:
    a transaction's work runs holding it, so no other writer can come between its reads and
    its commit."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, Data]] = {}
        # told of every document stored (path, data; None when deleted), one at a time as a
        # commit is stored, while the lock is held: keep them quick (the simulation's indexes)
        self.listeners: list[Listener] = []
        self._lock = threading.RLock()

    # -- the Documents port

    def transact(self, work: Callable[[Tx], T], what: str, first: Any = None) -> T:
        with self._lock:
            tx = _FakeTx(self)
            result = work(tx)
            # All or nothing, as one commit: the writes applied in order to a staged copy of
            # what they touch, and stored only if every one of them holds. Nobody else writes
            # while the lock is held, so a create that finds a document is the work's own
            # mistake, not a race (Firestore would run the work again, and fail the same way).
            staged: dict[str, Data | None] = {}
            for kind, path, data in tx.writes:
                current = staged[path] if path in staged else self._doc(path)
                if kind == WriteKind.CREATE and current is not None:
                    raise Conflict(f"{what} is busy, try again ({path} exists)")
                if kind == WriteKind.UPDATE and current is None:
                    raise NotFound(f"{what}: {path} does not exist")
                if kind == WriteKind.DELETE:
                    staged[path] = None
                    continue
                keeps = kind in (WriteKind.UPDATE, WriteKind.MERGE)
                base = (current or {}) if keeps else {}
                staged[path] = _merged(base, data)
            for path, written in staged.items():
                if written is not None:
                    self._put(path, written)
                else:
                    self.delete_all([path])
            return result

    def get(self, path: str) -> Data | None:
        found = self._doc(path)
        return None if found is None else dict(found)

    def get_all(self, paths: Sequence[str]) -> dict[str, Data]:
        with self._lock:
            return {path: dict(found) for path in paths if (found := self._doc(path)) is not None}

    def children(self, collection: str, fields: Sequence[str] | None = None) -> dict[str, Data]:
        with self._lock:
            docs = self.collections.get(collection, {})
            if fields is None:
                return {doc_id: dict(data) for doc_id, data in docs.items()}
            return {
                doc_id: {k: data[k] for k in fields if k in data} for doc_id, data in docs.items()
            }

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        with self._lock:
            if self._doc(path) is not None:
                return False
            self._put(path, dict(data))
            return True

    def update(self, path: str, data: Mapping[str, Any]) -> None:
        with self._lock:
            current = self._doc(path)
            if current is None:
                raise NotFound(f"{path} does not exist")
            self._put(path, _merged(current, data))

    def set_all(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        with self._lock:
            for path, data in docs.items():
                self._put(path, dict(data))

    def delete_all(self, paths: Sequence[str]) -> None:
        with self._lock:
            for path in paths:
                collection, doc_id = _split(path)
                if self.collections.get(collection, {}).pop(doc_id, None) is not None:
                    self._told(path, None)

    # -- storage

    def _doc(self, path: str) -> Data | None:
        collection, doc_id = _split(path)
        return self.collections.get(collection, {}).get(doc_id)

    def _put(self, path: str, data: Data) -> None:
        collection, doc_id = _split(path)
        self.collections.setdefault(collection, {})[doc_id] = data
        self._told(path, data)

    def _told(self, path: str, data: Data | None) -> None:
        for listener in self.listeners:
            listener(path, data)

    def collection(self, path: str) -> dict[str, Data]:
        """The live documents of a collection by id (created empty if missing): tests read and
        write them directly, as they would seed Firestore."""
        return self.collections.setdefault(path, {})

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # -- for tests: the collections by name, and seeding

    @property
    def requests(self) -> dict[str, Data]:
        return self.collection("requests")

    @property
    def users(self) -> dict[str, Data]:
        return self.collection("users")

    @property
    def sessions(self) -> dict[str, Data]:
        return self.collection("sessions")

    @property
    def analytics(self) -> dict[str, Data]:
        return self.collection("analytics")

    def devices(self, uid: str) -> dict[str, Data]:
        return self.collection(f"users/{uid}/devices")

    def inbox(self, uid: str) -> dict[str, Data]:
        return self.collection(f"users/{uid}/notifications")

    def events(self, request_id: str) -> dict[str, Data]:
        return self.collection(f"requests/{request_id}/events")

    def rounds(self, request_id: str) -> dict[str, Data]:
        return self.collection(f"requests/{request_id}/dispatches")

    def targets(self, request_id: str, round_key: str) -> dict[str, Data]:
        return self.collection(f"requests/{request_id}/dispatches/{round_key}/targets")

    def event_types(self, request_id: str) -> list[str]:
        return [e["type"] for _, e in sorted(self.events(request_id).items())]

    def add_helper(self, uid: str, *tokens: str, **fields: Any) -> str:
        self.users[uid] = {"role": "helper", "isAvailable": True, "displayName": uid, **fields}
        devices = self.devices(uid)
        devices.clear()
        devices.update(
            {f"d{i}": {"token": token, "platform": "web"} for i, token in enumerate(tokens)}
        )
        return uid

    def add_request(self, request_id: str, **fields: Any) -> str:
        now = fields.pop("now", datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
        self.requests[request_id] = paid_request(request_id, now, **fields)
        return request_id


def paid_request(request_id: str, now: datetime, **fields: Any) -> dict[str, Any]:
    """A request document as `create_request` leaves it once the card is held (for tests that
    seed a database directly)."""
    return {
        "customerId": "cust-1",
        "category": "plumbing",
        "description": "The kitchen sink drips all night.",
        "amount": 4900,
        "currency": "usd",
        "status": "pending",
        "paymentStatus": "authorized",
        "paymentIntentId": f"pi_{request_id}",
        "createdAt": now,
        "dispatchableAt": now,
        "pendingSince": now,
        "updatedAt": now,
        "releaseCount": 0,
        "dispatchRound": 0,
        "version": 1,
        **fields,
    }


def _in_window(moment: datetime | None, since: datetime, until: datetime) -> bool:
    return moment is not None and since <= moment < until


class FakeRequests(DocumentRequests):
    """The sweeps' queries, answered by a scan."""

    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self.docs = docs

    def sweepable(self) -> Iterable[tuple[str, Data]]:
        """The requests the sweeps' queries look through (here every one; the simulation keeps
        an index of those that may still change)."""
        return self.docs.requests.items()

    def owed_requests(self, page_size: int) -> Iterator[RequestDoc]:
        with self.docs.lock:
            owed = sorted(rid for rid, d in self.sweepable() if d.get("paymentOwed"))
        for request_id in owed:
            yield RequestDoc.model_validate({**self.docs.requests[request_id], "id": request_id})

    def stale_requests(
        self, state: str, time_field: str, before: datetime, page_size: int
    ) -> Iterator[QueriedRequest]:
        field_name = "paymentStatus" if time_field == "createdAt" else "status"
        with self.docs.lock:
            rows = sorted(
                (data[time_field], rid)
                for rid, data in self.sweepable()
                if data.get(field_name) == state
                and data.get(time_field) is not None
                and data[time_field] <= before
            )
        for _, request_id in rows:
            data = self.docs.requests[request_id]
            yield QueriedRequest(RequestDoc.model_validate({**data, "id": request_id}))

    def waiting_since(self, category: str, since: datetime) -> bool:
        with self.docs.lock:
            return any(
                data.get("category") == category
                and data.get("status") == RequestStatus.PENDING
                and (at := data.get("dispatchableAt")) is not None
                and at >= since
                for _, data in self.sweepable()
            )

    def undecided_requests(self, before: datetime, page_size: int) -> Iterator[QueriedRequest]:
        with self.docs.lock:
            rows = sorted(
                (release_by, rid)
                for rid, data in self.sweepable()
                if (release_by := (data.get("paymentAttention") or {}).get("releaseBy")) is not None
                and release_by <= before
            )
        for _, request_id in rows:
            data = self.docs.requests[request_id]
            yield QueriedRequest(RequestDoc.model_validate({**data, "id": request_id}))


class FakeSessions(DocumentSessions):
    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self.docs = docs

    def waiting_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        with self.docs.lock:
            found = sorted(
                (data["waitingAt"], sid)
                for sid, data in self.docs.sessions.items()
                if data["status"] == "waiting" and data["waitingAt"] <= before
            )
        yield from (sid for _, sid in found)

    def active_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        with self.docs.lock:
            found = sorted(
                (data["activeAt"], sid)
                for sid, data in self.docs.sessions.items()
                if data["status"] == "active"
                and data.get("activeAt") is not None
                and data["activeAt"] <= before
            )
        yield from (sid for _, sid in found)


class FakeDispatch(DocumentDispatch):
    """The directory is computed from the profiles and devices as they are: the triggers that
    keep Firestore's current run at once here. Only the shard counts are stored (by
    `refresh_directory` and `rebuild_directory`, as on Firestore; a category with none counted
    gets the count a rebuild would give it), so `directory_of` reads the shards in the order
    Firestore does and answers the same for the same data."""

    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self.docs = docs

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        with self.docs.lock:
            found = []
            for uid, profile in self.docs.users.items():
                devices = [device_of(uid, i, d) for i, d in self.docs.devices(uid).items()]
                entry = directory.entry_for(profile, devices)
                if entry is not None:
                    found.append(directory.from_entry(uid, entry))
            return found

    def _entry(self, uid: str) -> tuple[str | None, list[str]]:
        profile = self.docs.users.get(uid)
        devices = [device_of(uid, i, d) for i, d in self.docs.devices(uid).items()]
        entry = directory.entry_for(profile, devices)
        return entry, directory.categories_of(profile) if entry is not None else []

    def _entries_of(self, category: str) -> dict[str, str]:
        found = {}
        for uid in self.docs.users:
            entry, categories = self._entry(uid)
            if entry is not None and category in categories:
                found[uid] = entry
        return found

    def _shard_count(self, category: str, entries: Mapping[str, str]) -> int:
        meta = self.docs.get(directory.category_path(category))
        if meta is not None:
            return int(meta.get("shards") or 0)
        return directory.shards_for(category, entries) if entries else 0

    def directory_of(
        self, category: str, *, start: int, want: int | None
    ) -> list[tuple[UserDoc, list[Device]]]:
        with self.docs.lock:
            entries = self._entries_of(category)
            shards = self._shard_count(category, entries)
            by_shard = directory.layout(sorted(entries), shards)
            found: list[tuple[UserDoc, list[Device]]] = []
            for index in directory.read_order(shards, start):
                found.extend(directory.from_entry(uid, entries[uid]) for uid in by_shard[index])
                if want is not None and len(found) >= want:
                    break
            return found

    def refresh_directory(self, uid: str, now: datetime) -> bool:
        """Count the shards as Firestore's refresh does: a category's first entry opens its
        first shard; an entry that leaves its shard over the bound splits the next shard until
        its own is within it."""
        with self.docs.lock:
            _, categories = self._entry(uid)
            for category in categories:
                meta = self.docs.get(directory.category_path(category))
                shards = int(meta.get("shards") or 0) if meta is not None else 0
                counted = max(shards, 1)
                entries = self._entries_of(category)
                for _ in range(directory.MAX_SPLITS_PER_REFRESH):
                    index = directory.shard_index(uid, counted)
                    helpers = {
                        u: e
                        for u, e in entries.items()
                        if directory.shard_index(u, counted) == index
                    }
                    path = directory.shard_path(category, index)
                    if directory.shard_bytes(path, helpers) <= directory.SHARD_SPLIT_BYTES:
                        break
                    counted += 1
                if counted != shards:
                    self.docs.set_all(
                        {directory.category_path(category): {"shards": counted, "updatedAt": now}}
                    )
            return True

    def rebuild_directory(self, now: datetime) -> int:
        with self.docs.lock:
            for category in directory.CATEGORIES:
                shards = directory.shards_for(category, self._entries_of(category))
                self.docs.set_all(
                    {directory.category_path(category): {"shards": shards, "updatedAt": now}}
                )
            return len(self.directory())


class FakeViews:
    """The report's reads. The fake has no history: `read_time` is accepted and every read is
    of now; each holds the lock, so no write lands in the middle of one."""

    def __init__(self, docs: FakeDocuments) -> None:
        self.docs = docs

    def read_time(self) -> datetime | None:
        return None

    def count_dispatchable(
        self,
        since: datetime,
        until: datetime,
        statuses: Sequence[str] | None = None,
        read_time: datetime | None = None,
    ) -> dict[tuple[str, str], int]:
        with self.docs.lock:
            found: dict[tuple[str, str], int] = {}
            for data in self.docs.requests.values():
                if statuses is not None and data["status"] not in statuses:
                    continue
                if _in_window(data.get("dispatchableAt"), since, until):
                    cell = (data["category"], data["status"])
                    found[cell] = found.get(cell, 0) + 1
            return found

    def first_claims(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[FirstClaim]:
        with self.docs.lock:
            rows = sorted(
                (data["dispatchableAt"], data["firstClaimedAt"], rid)
                for rid, data in self.docs.requests.items()
                if _in_window(data.get("dispatchableAt"), since, until)
                and data.get("firstClaimedAt") is not None
            )
            found = [first_claim(self.docs.requests[rid]) for *_, rid in rows]
        yield from found

    def push_totals(
        self, since: datetime, until: datetime, read_time: datetime | None = None
    ) -> dict[str, int]:
        totals = dict.fromkeys(("notifications", "sent", "failed", "pruned", "sms"), 0)
        with self.docs.lock:
            for event in self.docs.analytics.values():
                if event["type"] == "notification_sent" and _in_window(
                    event.get("timestamp"), since, until
                ):
                    totals["notifications"] += int(event["metadata"].get("recipients") or 0)
                    for name in ("sent", "failed", "pruned", "sms"):
                        totals[name] += int(event["metadata"].get(name) or 0)
        return totals

    def quoted_requests(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[QuotedRequest]:
        with self.docs.lock:
            rows = sorted(
                (data["dispatchableAt"], rid)
                for rid, data in self.docs.requests.items()
                if _in_window(data.get("dispatchableAt"), since, until)
                and (data.get("quote") or {}).get("expectedMinutes") is not None
            )
            found = [quoted_request(self.docs.requests[rid]) for _, rid in rows]
        yield from found

    def quote_counts(
        self, since: datetime, until: datetime, read_time: datetime | None = None
    ) -> dict[tuple[bool, bool], int]:
        found = {(over, used): 0 for over in (False, True) for used in (False, True)}
        with self.docs.lock:
            for quote in self.docs.collection("quotes").values():
                if _in_window(quote.get("createdAt"), since, until):
                    found[(bool(quote["overPromise"]), bool(quote["used"]))] += 1
        return found


class FakeQuotes(DocumentQuotes):
    """The live supply's reads, answered by a scan of the requests (as the queries would)."""

    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self.docs = docs

    def recent_requests(self, category: str, since: datetime) -> list[RecentRequest]:
        with self.docs.lock:
            return [
                recent_request(data)
                for data in self.dispatchable_since(since)
                if data.get("category") == category
                and data.get("dispatchableAt") is not None
                and data["dispatchableAt"] >= since
            ]

    def dispatchable_since(self, since: datetime) -> Iterable[Mapping[str, Any]]:
        """The requests dispatchable since `since` may be among (every one here)."""
        return self.docs.requests.values()


class FakeOutbox(DocumentOutbox):
    """The owed entries, answered by a scan."""

    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self.docs = docs

    def owed(self, before: datetime, page_size: int) -> Iterator[OutboxEntry]:
        found = self.docs.children(outbox.COLLECTION)
        rows = sorted(
            (data["owedAt"], entry_id, data)
            for entry_id, data in found.items()
            if data.get("owedAt") is not None and data["owedAt"] <= before
        )
        for _, entry_id, data in rows:
            yield OutboxEntry.of(entry_id, data)


def run_triggers(ctx: Context) -> int:
    """Deliver the Firestore triggers of every transition still owed (its outbox entry), oldest
    first, as the platform would once each: the trigger's code does the work and deletes the
    entry. How many it delivered."""
    from homepro.domain.outbox import EntryKind
    from homepro.services import reactions

    delivered = 0
    for entry in list(ctx.outbox.owed(datetime.max.replace(tzinfo=UTC), 1000)):
        if entry.kind != EntryKind.TRANSITION or entry.after is None:
            continue
        if entry.before is None:
            reactions.request_created(ctx, entry.request_id, entry.after)
        else:
            reactions.request_updated(ctx, entry.request_id, entry.before, entry.after)
        delivered += 1
    return delivered


def swept(counts: Mapping[str, int]) -> dict[str, int]:
    """A sweep's counts without its outbox drains: the work of transitions whose triggers a
    unit test did not run (the sweep does it, as it would for a dead worker's)."""
    return {k: v for k, v in counts.items() if not k.startswith("outbox_")}


def fake_stores(docs: FakeDocuments, tuning: Tuning | None = None) -> Stores:
    """Every port over one fake database."""
    return Stores(
        requests=FakeRequests(docs),
        sessions=FakeSessions(docs),
        users=DocumentUsers(docs, (tuning or Tuning()).io_concurrency),
        dispatch=FakeDispatch(docs),
        inbox=DocumentInbox(docs),
        limits=DocumentLimits(docs),
        analytics=DocumentAnalytics(docs),
        views=FakeViews(docs),
        outbox=FakeOutbox(docs),
        quotes=FakeQuotes(docs),
    )


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        assert moment >= self._now, "time only moves forward"
        self._now = moment


class FakePush:
    """Accepts every message but for tokens FCM would refuse, like the local FCM stand-in."""

    def __init__(self) -> None:
        self.sent: list[PushMessage] = []

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        results = []
        for message in messages:
            if message.token.startswith("unregistered-"):
                results.append(PushResult(ok=False, error="UNREGISTERED", prune=True))
            elif message.token.startswith("invalid-"):
                results.append(PushResult(ok=False, error="INVALID_ARGUMENT", prune=True))
            else:
                self.sent.append(message)
                results.append(PushResult(ok=True))
        return results

    def tokens(self, kind: str | None = None) -> list[str]:
        return [m.token for m in self.sent if kind is None or m.data["type"] == kind]


class FakePayments:
    """PaymentIntents with Stripe's rules: a hold is created, then confirmed; a canceled hold
    cannot be captured or confirmed, a captured one cannot be canceled; a repeated idempotency
    key returns the first result."""

    # test payment methods Stripe declines, with the reason its answer gives
    DECLINED: ClassVar[Mapping[str, str]] = {
        "pm_card_chargeCustomerFail": "Your card was declined.",
        "pm_card_visa_chargeDeclined": "Your card was declined.",
        "pm_card_visa_chargeDeclinedInsufficientFunds": "Your card has insufficient funds.",
    }
    NEEDS_ACTION = frozenset({"pm_card_threeDSecure2Required"})
    UNKNOWN = frozenset({"pm_does_not_exist"})

    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, Any] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures = 0  # the next N calls fail like a Stripe outage
        # What happens just before the next call of an action reaches Stripe (once), given the
        # request id: a race staged by a test (a cancel from a second tab, an outage).
        self.before: dict[str, Callable[[str], None]] = {}

    def _just_before(self, action: str, request_id: str) -> None:
        staged = self.before.pop(action, None)
        if staged is not None:
            staged(request_id)

    def _fail_if_down(self, action: str) -> None:
        if self.failures:
            self.failures -= 1
            raise PaymentError(f"stripe unavailable during {action}")

    def create_hold(
        self, request_id: str, amount: int, currency: str, payment_method_id: str, customer_id: str
    ) -> str:
        self._just_before("create", request_id)
        self._fail_if_down("create")
        key = f"{request_id}:create:{payment_method_id}"
        if key in self.keys:
            return str(self.keys[key])
        self.calls.append(("create", request_id))
        if payment_method_id in self.UNKNOWN:
            raise HoldRefused(f"No such PaymentMethod: '{payment_method_id}'")
        intent = f"pi_{len(self.intents) + 1}"
        self.intents[intent] = {
            "amount": amount,
            "status": "requires_confirmation",
            "payment_method": payment_method_id,
            "requestId": request_id,
            "created": len(self.intents),
        }
        self.keys[key] = intent
        return intent

    def confirm_hold(self, request_id: str, payment_intent_id: str) -> Authorization:
        self._just_before("confirm", request_id)
        self._fail_if_down("confirm")
        key = f"{payment_intent_id}:confirm"
        if key in self.keys:
            return self.keys[key]  # type: ignore[no-any-return]
        self.calls.append(("confirm", request_id))
        intent = self.intents[payment_intent_id]
        method = intent["payment_method"]
        if intent["status"] == "canceled":
            return Authorization("canceled", payment_intent_id)
        if intent["status"] != "requires_confirmation":
            raise AssertionError(f"confirming an intent that is {intent['status']}")
        if method in self.DECLINED:
            intent["status"] = "requires_payment_method"
            result = Authorization(
                "declined", payment_intent_id, decline_reason=self.DECLINED[method]
            )
        elif method in self.NEEDS_ACTION:
            intent["status"] = "requires_action"
            result = Authorization(
                "requires_action", payment_intent_id, client_secret=f"{payment_intent_id}_secret"
            )
        else:
            intent["status"] = "requires_capture"
            result = Authorization("authorized", payment_intent_id)
        self.keys[key] = result
        return result

    def hold_directly(self, request_id: str, customer_id: str = "c") -> str:
        """A hold made for `request_id` outside `create_request` (an earlier attempt, another
        deploy): authorized at Stripe, whatever the request records."""
        intent = f"pi_{len(self.intents) + 1}"
        self.intents[intent] = {
            "amount": 100,
            "status": "requires_capture",
            "payment_method": "pm_card_visa",
            "requestId": request_id,
            "created": len(self.intents),
        }
        return intent

    def release_stray(self, payment_intent_id: str) -> None:
        self._fail_if_down("release")
        self.calls.append(("release_stray", payment_intent_id))
        intent = self.intents[payment_intent_id]
        if intent["status"] == "succeeded":
            raise AssertionError("a captured payment cannot be released")
        intent["status"] = "canceled"

    def recent_holds(self, since: datetime) -> Iterator[Hold]:
        self._fail_if_down("list")
        for intent_id, intent in reversed(self.intents.items()):  # newest first, as Stripe
            yield Hold(intent_id, intent["status"], intent.get("requestId"))

    def release(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        self._fail_if_down("release")
        self.calls.append(("release", request_id))
        intent = self.intents.setdefault(payment_intent_id, {"status": "requires_capture"})
        if intent["status"] == "succeeded":
            raise AssertionError("a captured payment cannot be released")
        intent["status"] = "canceled"

    def capture(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        self._fail_if_down("capture")
        self.calls.append(("capture", request_id))
        intent = self.intents.setdefault(payment_intent_id, {"status": "requires_capture"})
        if intent["status"] == "canceled":
            raise AssertionError("a released hold cannot be captured")
        intent["status"] = "succeeded"

    def refund(self, request_id: str, payment_intent_id: str, amount: int | None) -> None:
        self._fail_if_down("refund")
        self.calls.append(("refund", request_id))
        intent = self.intents.setdefault(payment_intent_id, {"status": "succeeded"})
        if intent["status"] != "succeeded":
            raise AssertionError("only a captured payment can be refunded")
        intent["refunded"] = amount


class FakeVideo:
    def __init__(self) -> None:
        self.rooms: dict[str, VideoRoom] = {}

    def create(self, session_id: str, request_id: str, title: str) -> VideoRoom:
        return self.rooms.setdefault(
            session_id,
            VideoRoom(
                "fake",
                f"room-{session_id}",
                f"https://v/{session_id}/c",
                f"https://v/{session_id}/h",
            ),
        )


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> bool:
        self.sent.append((to, body))
        return True


@dataclasses.dataclass
class FakeTask:
    queue: str
    payload: dict[str, Any]
    task_id: str | None = None
    schedule_time: datetime | None = None
    attempts: int = 0  # deliveries that failed so far


class FakeTaskQueue:
    """Cloud Tasks in memory. A named task is refused while its name is taken (here for good,
    as on the emulator until it restarts). Nothing runs by itself: `run_all` delivers every
    queued task to its queue's handler once, keeping a failed one queued for its retry (as
    Cloud Tasks does), and `deliver` repeats a delivery (at-least-once)."""

    def __init__(self) -> None:
        self.enqueued: list[FakeTask] = []  # every task ever taken, in order
        self.queued: list[FakeTask] = []  # taken and not yet run successfully
        self.handlers: dict[str, Callable[[Mapping[str, Any]], Any]] = {}
        self.down = False  # True: every enqueue fails (EnqueueError)
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def handle(self, queue: str, handler: Callable[[Mapping[str, Any]], Any]) -> None:
        self.handlers[queue] = handler

    def enqueue(
        self,
        queue: str,
        payload: Mapping[str, Any],
        *,
        task_id: str | None = None,
        schedule_time: datetime | None = None,
    ) -> bool:
        if self.down:
            raise EnqueueError(f"{queue}: the queue is unavailable")
        with self._lock:
            if task_id is not None:
                if task_id in self._names:
                    return False
                self._names.add(task_id)
            task = FakeTask(queue, dict(payload), task_id, schedule_time)
            self.enqueued.append(task)
            self.queued.append(task)
        return True

    def deliver(self, task: FakeTask) -> Any:
        """One delivery of `task` to its handler: its answer, or what it raised (re-raised)."""
        return self.handlers[task.queue](task.payload)

    def run_all(self) -> list[Any]:
        """Deliver each queued task once (in order); what each answered or raised."""
        with self._lock:
            batch, self.queued = self.queued, []
        outcomes: list[Any] = []
        for task in batch:
            try:
                outcomes.append(self.deliver(task))
            except Exception as err:
                task.attempts += 1
                with self._lock:
                    self.queued.append(task)
                outcomes.append(err)
        return outcomes


def with_settlement_queue(ctx: Context) -> tuple[Context, FakeTaskQueue]:
    """`ctx` with a task queue whose tasks run through `ctx`, as the product's task functions:
    `settlepayment` settles, `drainoutbox` finishes an outbox entry, `requesttimer` does what
    a deadline calls for."""
    from homepro.domain.outbox import DRAIN_QUEUE
    from homepro.services.drain import drain_task
    from homepro.services.settlements import SETTLE_QUEUE, settle_task
    from homepro.services.timers import TIMER_QUEUE, run_timer

    queue = FakeTaskQueue()
    queued = dataclasses.replace(ctx, tasks=queue)
    queue.handle(SETTLE_QUEUE, lambda payload: settle_task(queued, payload))
    queue.handle(DRAIN_QUEUE, lambda payload: drain_task(queued, payload))
    queue.handle(TIMER_QUEUE, lambda payload: run_timer(queued, payload))
    return queued, queue


# The same queue, named for the tests of timers.
with_timer_queue = with_settlement_queue


class FakeIdentity:
    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}  # email -> uid
        self.claims: dict[str, dict[str, Any]] = {}
        self.revoked: list[str] = []  # uids whose refresh tokens were revoked, in order

    def uid_for_email(self, email: str) -> str:
        if email not in self.accounts:
            raise NotFound(f"no account with the email {email}")
        return self.accounts[email]

    def set_role_claim(self, uid: str, role: Role) -> None:
        self.claims.setdefault(uid, {})["role"] = role.value

    def revoke_sessions(self, uid: str) -> None:
        self.revoked.append(uid)


def fake_docs(ctx: Context) -> FakeDocuments:
    """The fake database behind a context of `make_context`."""
    requests = ctx.stores.requests
    if not isinstance(requests, FakeRequests):
        raise TypeError("not a context of fakes")
    return requests.docs


def make_context(
    docs: FakeDocuments | None = None,
    clock: FakeClock | None = None,
    *,
    stores: Stores | None = None,
    tuning: Tuning | None = None,
    **policy: Any,
) -> Context:
    """A context of fakes: `docs` (or `stores` built over them) and fresh outside services."""
    tuning = tuning or Tuning()
    return Context(
        stores=stores or fake_stores(docs or FakeDocuments(), tuning),
        clock=clock or FakeClock(),
        policy=Policy(**policy),
        push=FakePush(),
        sms=FakeSms(),
        payments=FakePayments(),
        video=FakeVideo(),
        tuning=tuning,
    )


def count_lookups(ctx: Context) -> list[int]:
    """Spy on `ctx.dispatch.attention_of`: the list it returns grows by each call's batch size
    (how many helpers a round or a quote looked up, call by call)."""
    looked: list[int] = []
    real = ctx.dispatch.attention_of

    def counting(uids: Sequence[str]) -> dict[str, tuple[bool, list[datetime]]]:
        looked.append(len(uids))
        return real(uids)

    ctx.dispatch.attention_of = counting  # type: ignore[method-assign]
    return looked
