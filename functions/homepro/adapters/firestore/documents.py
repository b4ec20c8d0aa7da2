"""`Documents` on Cloud Firestore: the one transaction helper every port shares.

Every transaction is optimistic: read, plan on what was read, then one atomic batch commit whose
writes are conditioned on the documents being unchanged since the read (their update time;
`create` for documents that must not exist yet). When another writer got there first, a
condition fails, nothing is written, and the work runs again on a fresh read. That is the
isolation of `run_transaction` without its read locks: the server client's transactions lock
what they read, and in the Firestore emulator two of them upgrading the same read lock wait on
each other until the callable times out (firebase-tools#2452, #3969). One round trip per attempt
instead of three.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from homepro.adapters.documents import Data, Tx
from homepro.domain.errors import Conflict, NotFound
from homepro.domain.writes import DELETE, ArrayRemove, Increment
from homepro.services.context import Tuning

T = TypeVar("T")
BATCH_LIMIT = 500  # writes per batch commit (Firestore's limit)
# A commit whose condition failed: another writer changed (or created) a document first.
LOST_RACE = (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.Aborted, gexc.Conflict)

Write = Callable[[firestore.WriteBatch], None]


class _LostRace(Exception):
    """A commit whose condition failed: another writer changed (or created) a document first."""


def _value(value: Any) -> Any:
    if value is DELETE:
        return firestore.DELETE_FIELD
    if isinstance(value, Increment):
        return firestore.Increment(value.by)
    if isinstance(value, ArrayRemove):
        return firestore.ArrayRemove(list(value.values))
    return value


def _values(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _value(v) for k, v in data.items()}


class _Attempt:
    """The reads and the batch of one attempt of a transaction."""

    def __init__(self, db: firestore.Client, first: firestore.DocumentSnapshot | None) -> None:
        self._db = db
        self.batch = db.batch()
        self._first = first
        self._read: dict[str, firestore.DocumentSnapshot] = {}

    def _snapshot(self, path: str) -> firestore.DocumentSnapshot:
        first, self._first = self._first, None  # an earlier read is used once, first
        if first is not None and first.reference.path == path:
            return first
        return self._db.document(path).get()

    def get(self, path: str) -> Data | None:
        snap = self._read[path] = self._snapshot(path)
        return (snap.to_dict() or {}) if snap.exists else None

    def get_all(self, paths: Sequence[str]) -> list[Data | None]:
        refs = [self._db.document(path) for path in paths]
        for snap in self._db.get_all(refs):
            self._read[snap.reference.path] = snap
        return [(self._read[p].to_dict() or {}) if self._read[p].exists else None for p in paths]

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        self.batch.create(self._db.document(path), dict(data))

    def set(self, path: str, data: Mapping[str, Any]) -> None:
        self.batch.set(self._db.document(path), _values(data))

    def merge(self, path: str, data: Mapping[str, Any]) -> None:
        self.batch.set(self._db.document(path), _values(data), merge=True)

    def delete(self, path: str) -> None:
        self.batch.delete(self._db.document(path))

    def update(self, path: str, data: Mapping[str, Any]) -> None:
        snap = self._read.get(path)
        option = None
        if snap is not None and snap.exists:
            # the document read must still be the one written last
            option = self._db.write_option(last_update_time=snap.update_time)
        self.batch.update(self._db.document(path), _values(data), option=option)


class FirestoreDocuments:
    """Firestore through the server SDK (rules do not apply; the services enforce them)."""

    def __init__(self, db: firestore.Client, tuning: Tuning) -> None:
        self.db = db
        self._tuning = tuning

    def transact(self, work: Callable[[Tx], T], what: str, first: Any = None) -> T:
        """See `Documents.transact`; a domain error from the work stops at once."""
        earlier: list[firestore.DocumentSnapshot | None] = [first]

        def attempt() -> T:
            tx = _Attempt(self.db, earlier.pop() if earlier else None)
            result = work(tx)  # its errors (a domain error, a failed read) are not retried
            if len(tx.batch):
                try:
                    tx.batch.commit()
                except LOST_RACE as err:
                    raise _LostRace(str(err)) from err
                except gexc.NotFound as err:  # an update of a document that does not exist
                    raise NotFound(f"{what}: {err.message}") from err
            return result

        retrying = Retrying(
            retry=retry_if_exception_type(_LostRace),
            stop=stop_after_attempt(self._tuning.transaction_attempts),
            # full jitter, short: the winner's commit is already visible to the next read
            wait=wait_random_exponential(multiplier=0.004, max=0.25),
        )
        try:
            return retrying(attempt)
        except RetryError as err:
            lost = err.last_attempt.exception()
            raise Conflict(f"{what} is busy, try again") from (lost.__cause__ if lost else None)

    def get(self, path: str) -> Data | None:
        snap = self.db.document(path).get()
        return (snap.to_dict() or {}) if snap.exists else None

    def get_all(self, paths: Sequence[str]) -> dict[str, Data]:
        refs = [self.db.document(path) for path in paths]
        return {s.reference.path: s.to_dict() or {} for s in self.db.get_all(refs) if s.exists}

    def children(self, collection: str, fields: Sequence[str] | None = None) -> dict[str, Data]:
        query: Any = self.db.collection(collection)
        if fields is not None:
            query = query.select(list(fields))
        return {snap.id: snap.to_dict() or {} for snap in query.stream()}

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        try:
            self.db.document(path).create(dict(data))
        except gexc.AlreadyExists:
            return False
        return True

    def update(self, path: str, data: Mapping[str, Any]) -> None:
        try:
            self.db.document(path).update(_values(data))
        except gexc.NotFound:
            raise NotFound(f"{path} does not exist") from None

    def set_all(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        self.commit([_set(self.db.document(path), data) for path, data in docs.items()])

    def delete_all(self, paths: Sequence[str]) -> None:
        self.commit([_delete(self.db.document(path)) for path in paths])

    def commit(self, writes: Sequence[Write]) -> None:
        """Commit `writes` in batches of BATCH_LIMIT, several batches at once."""
        chunks = [writes[i : i + BATCH_LIMIT] for i in range(0, len(writes), BATCH_LIMIT)]

        def commit(chunk: Sequence[Write]) -> None:
            batch = self.db.batch()
            for write in chunk:
                write(batch)
            batch.commit()

        if len(chunks) == 1:
            commit(chunks[0])
        elif chunks:
            workers = min(self._tuning.io_concurrency, len(chunks))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(commit, chunks))


def pages(
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
