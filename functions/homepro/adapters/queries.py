"""Every Firestore query the backend runs, in one place, each matched by an index.

`firestore.indexes.json` must hold a composite index for every shape listed in `QUERY_SHAPES`;
a unit test checks that, so a query added here without its index fails `make test`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.cloud.firestore_v1 import Client, Query
from google.cloud.firestore_v1.base_query import FieldFilter


@dataclass(frozen=True)
class QueryShape:
    """A collection (group) queried with equality filters on `equal` and a range / order on
    `ranged`. Equality-only queries are served by merging single-field indexes."""

    collection: str
    equal: tuple[str, ...]
    ranged: str | None = None
    group: bool = False

    @property
    def needs_composite_index(self) -> bool:
        return bool(self.equal) and self.ranged is not None


STALE_PENDING = QueryShape("requests", ("status",), "pendingSince")
STALE_CLAIMS = QueryShape("requests", ("status",), "claimedAt")
AVAILABLE_HELPERS = QueryShape("users", ("role", "isAvailable"))
PAYMENT_OWED = QueryShape("requests", ("paymentOwed",))
UNPAID = QueryShape("requests", ("paymentStatus",), "createdAt")
WAITING_SESSIONS = QueryShape("sessions", ("status",), "waitingAt")
ALL_DEVICES = QueryShape("devices", (), group=True)
QUERY_SHAPES: tuple[QueryShape, ...] = (
    STALE_PENDING,
    STALE_CLAIMS,
    AVAILABLE_HELPERS,
    PAYMENT_OWED,
    UNPAID,
    WAITING_SESSIONS,
    ALL_DEVICES,
)


def older_than(
    db: Client, shape: QueryShape, equals: tuple[Any, ...], before: datetime, limit: int
) -> Query:
    """`shape`'s documents with `equal` fields equal to `equals` and `ranged` <= `before`."""
    if shape not in QUERY_SHAPES or shape.ranged is None:
        raise ValueError(f"query shape {shape} is not a declared range query")
    query: Query = db.collection(shape.collection)
    for name, value in zip(shape.equal, equals, strict=True):
        query = query.where(filter=FieldFilter(name, "==", value))
    return (
        query.where(filter=FieldFilter(shape.ranged, "<=", before))
        .order_by(shape.ranged)
        .limit(limit)
    )


def available_helpers(db: Client) -> Query:
    """Helpers on duty (rebuilding the dispatch directory)."""
    return (
        db.collection(AVAILABLE_HELPERS.collection)
        .where(filter=FieldFilter("role", "==", "helper"))
        .where(filter=FieldFilter("isAvailable", "==", True))
    )


def all_devices(db: Client) -> Query:
    """Every `users/{uid}/devices` document (rebuilding the dispatch directory)."""
    return db.collection_group(ALL_DEVICES.collection)


def payment_owed(db: Client, limit: int) -> Query:
    """Requests with a Stripe call to retry (`paymentOwed` is `release` or `capture`)."""
    return (
        db.collection(PAYMENT_OWED.collection)
        .where(filter=FieldFilter("paymentOwed", "in", ["release", "capture"]))
        .order_by("__name__")
        .limit(limit)
    )
