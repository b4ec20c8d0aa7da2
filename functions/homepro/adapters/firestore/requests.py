"""The queries of the `Requests` and `Sessions` ports on Firestore (the sweeps' reads)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from homepro.adapters.documents import DocumentOutbox, DocumentRequests, DocumentSessions
from homepro.adapters.firestore import queries
from homepro.adapters.firestore.documents import FirestoreDocuments, pages
from homepro.domain.models import RequestDoc
from homepro.domain.outbox import OutboxEntry
from homepro.services.stores import QueriedRequest

_SHAPE_BY_FIELD = {
    "pendingSince": queries.STALE_PENDING,
    "claimedAt": queries.STALE_CLAIMS,
    "createdAt": queries.UNPAID,
}


class FirestoreRequests(DocumentRequests):
    def __init__(self, docs: FirestoreDocuments) -> None:
        super().__init__(docs)
        self._db = docs.db

    def owed_requests(self, page_size: int) -> Iterator[RequestDoc]:
        for snap in pages(queries.payment_owed(self._db, page_size), page_size):
            yield RequestDoc.model_validate({**(snap.to_dict() or {}), "id": snap.id})

    def stale_requests(
        self, state: str, time_field: str, before: datetime, page_size: int
    ) -> Iterator[QueriedRequest]:
        shape = _SHAPE_BY_FIELD[time_field]
        query = queries.older_than(self._db, shape, (state,), before, page_size)
        for snap in pages(query, page_size):
            request = RequestDoc.model_validate({**(snap.to_dict() or {}), "id": snap.id})
            yield QueriedRequest(request, snap)

    def undecided_requests(self, before: datetime, page_size: int) -> Iterator[QueriedRequest]:
        query = queries.older_than(self._db, queries.UNDECIDED, (), before, page_size)
        for snap in pages(query, page_size):
            request = RequestDoc.model_validate({**(snap.to_dict() or {}), "id": snap.id})
            yield QueriedRequest(request, snap)

    def waiting_since(self, category: str, since: datetime) -> bool:
        return any(True for _ in queries.waiting_since(self._db, category, since).stream())


class FirestoreSessions(DocumentSessions):
    def __init__(self, docs: FirestoreDocuments) -> None:
        super().__init__(docs)
        self._db = docs.db

    def waiting_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        query = queries.older_than(
            self._db, queries.WAITING_SESSIONS, ("waiting",), before, page_size
        )
        yield from (snap.id for snap in pages(query, page_size))

    def active_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        query = queries.older_than(
            self._db, queries.ACTIVE_SESSIONS, ("active",), before, page_size
        )
        yield from (snap.id for snap in pages(query, page_size))


class FirestoreOutbox(DocumentOutbox):
    def __init__(self, docs: FirestoreDocuments) -> None:
        super().__init__(docs)
        self._db = docs.db

    def owed(self, before: datetime, page_size: int) -> Iterator[OutboxEntry]:
        query = queries.older_than(self._db, queries.OWED_OUTBOX, (), before, page_size)
        for snap in pages(query, page_size):
            yield OutboxEntry.of(snap.id, snap.to_dict() or {})
