"""The `Quotes` port's reads of the live supply on Firestore (`queries`)."""

from __future__ import annotations

from datetime import datetime

from homepro.adapters.documents import DocumentQuotes, recent_request
from homepro.adapters.firestore import queries
from homepro.adapters.firestore.documents import FirestoreDocuments
from homepro.services.stores import RecentRequest


class FirestoreQuotes(DocumentQuotes):
    def __init__(self, docs: FirestoreDocuments) -> None:
        super().__init__(docs)
        self._db = docs.db

    def recent_requests(self, category: str, since: datetime) -> list[RecentRequest]:
        query = queries.recent_requests(self._db, category, since)
        return [recent_request(snap.to_dict() or {}) for snap in query.stream()]
