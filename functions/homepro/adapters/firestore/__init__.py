"""The stores on Cloud Firestore: every port over one `FirestoreDocuments` (one unit of work)."""

from __future__ import annotations

from google.cloud import firestore

from homepro.adapters.documents import (
    DocumentAnalytics,
    DocumentInbox,
    DocumentLimits,
    DocumentUsers,
)
from homepro.adapters.firestore.dispatch import FirestoreDispatch
from homepro.adapters.firestore.documents import FirestoreDocuments
from homepro.adapters.firestore.quotes import FirestoreQuotes
from homepro.adapters.firestore.requests import (
    FirestoreOutbox,
    FirestoreRequests,
    FirestoreSessions,
)
from homepro.adapters.firestore.views import FirestoreViews
from homepro.services.context import Tuning
from homepro.services.stores import Stores


def firestore_stores(db: firestore.Client, tuning: Tuning) -> Stores:
    """Every port of the database `db`, sharing one unit of work."""
    docs = FirestoreDocuments(db, tuning)
    return Stores(
        requests=FirestoreRequests(docs),
        sessions=FirestoreSessions(docs),
        users=DocumentUsers(docs, tuning.io_concurrency),
        dispatch=FirestoreDispatch(docs),
        inbox=DocumentInbox(docs),
        limits=DocumentLimits(docs),
        analytics=DocumentAnalytics(docs),
        views=FirestoreViews(db, tuning),
        outbox=FirestoreOutbox(docs),
        quotes=FirestoreQuotes(docs),
    )
