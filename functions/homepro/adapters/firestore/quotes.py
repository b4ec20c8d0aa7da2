"""The `Quotes` port's reads of the live supply on Firestore (`queries`)."""

from __future__ import annotations

from datetime import datetime

from homepro.adapters.documents import DocumentQuotes
from homepro.adapters.firestore import queries
from homepro.adapters.firestore.documents import FirestoreDocuments


class FirestoreQuotes(DocumentQuotes):
    def __init__(self, docs: FirestoreDocuments) -> None:
        super().__init__(docs)
        self._db = docs.db

    def busy_helpers(self) -> set[str]:
        found = set()
        for snap in queries.under_way(self._db).stream():
            helper = (snap.to_dict() or {}).get("helperId")
            if helper:
                found.add(str(helper))
        return found

    def recent_claims(self, category: str, since: datetime) -> list[float]:
        seconds = []
        for snap in queries.recent_claims(self._db, category, since).stream():
            data = snap.to_dict() or {}
            if data.get("dispatchableAt") is not None and data.get("firstClaimedAt") is not None:
                seconds.append((data["firstClaimedAt"] - data["dispatchableAt"]).total_seconds())
        return seconds

    def waiting(self, category: str) -> list[datetime]:
        found = []
        for snap in queries.waiting(self._db, category).stream():
            data = snap.to_dict() or {}
            if data.get("paymentStatus") == "authorized" and data.get("pendingSince") is not None:
                found.append(data["pendingSince"])
        return found
