"""Every Firestore query the backend runs, in one place, each matched by an index.

`firestore.indexes.json` must hold a composite index for every shape listed in `QUERY_SHAPES`;
a unit test checks that, so a query added here without its index fails `make test`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.cloud.firestore_v1 import Client, Query
from google.cloud.firestore_v1.base_query import FieldFilter

from homepro.domain.states import RequestStatus


@dataclass(frozen=True)
class QueryShape:
    """A collection (group) queried with equality filters on `equal` and a range / order on
    `ranged` (and a second range on `also_ranged`). Equality-only queries are served by merging
    single-field indexes."""

    collection: str
    equal: tuple[str, ...]
    ranged: str | None = None
    group: bool = False
    also_ranged: str | None = None
    summed: str | None = None  # a sum() aggregation reads this field from the same index

    @property
    def needs_composite_index(self) -> bool:
        return self.ranged is not None and (
            bool(self.equal) or self.also_ranged is not None or self.summed is not None
        )

    @property
    def index_fields(self) -> tuple[str, ...]:
        more = tuple(f for f in (self.ranged, self.also_ranged, self.summed) if f is not None)
        return (*self.equal, *more)


STALE_PENDING = QueryShape("requests", ("status",), "pendingSince")
STALE_CLAIMS = QueryShape("requests", ("status",), "claimedAt")
AVAILABLE_HELPERS = QueryShape("users", ("role", "isAvailable"))
PAYMENT_OWED = QueryShape("requests", ("paymentOwed",))
UNPAID = QueryShape("requests", ("paymentStatus",), "createdAt")
WAITING_SESSIONS = QueryShape("sessions", ("status",), "waitingAt")
ACTIVE_SESSIONS = QueryShape("sessions", ("status",), "activeAt")
# a hold waiting for an admin past its deadline (a single-field index on the map's field)
UNDECIDED = QueryShape("requests", (), "paymentAttention.releaseBy")
ALL_DEVICES = QueryShape("devices", (), group=True)
# what commits owe the world and their triggers did not finish (the outbox's backstop)
OWED_OUTBOX = QueryShape("outbox", (), "owedAt")
# dispatch_report: the window's requests by category and status; its claimed ones; its pushes
# (and a late request's round: does a request of its category that is not late wait?)
DISPATCHABLE_IN_WINDOW = QueryShape("requests", ("category", "status"), "dispatchableAt")
CLAIMED_IN_WINDOW = QueryShape("requests", (), "dispatchableAt", also_ranged="firstClaimedAt")
ANALYTICS_IN_WINDOW = QueryShape("analytics", ("type",), "timestamp")
# Firestore sums from index entries: each summed field in an index after the filters (one
# query per field; the emulator does not check indexes, the first deploy's error would).
PUSH_SUMS = ("recipients", "sent", "failed", "pruned", "sms")
SUMMED_IN_WINDOW = tuple(
    QueryShape("analytics", ("type",), "timestamp", summed=f"metadata.{name}") for name in PUSH_SUMS
)
# quote_wait: a category's recent requests
RECENT_REQUESTS = QueryShape("requests", ("category",), "dispatchableAt")
# the report's promise kept: the window's requests made with a quote; the quotes shown
QUOTED_IN_WINDOW = QueryShape("requests", (), "dispatchableAt", also_ranged="quote.expectedMinutes")
QUOTES_IN_WINDOW = QueryShape("quotes", ("overPromise", "used"), "createdAt")
QUERY_SHAPES: tuple[QueryShape, ...] = (
    STALE_PENDING,
    STALE_CLAIMS,
    AVAILABLE_HELPERS,
    PAYMENT_OWED,
    UNPAID,
    WAITING_SESSIONS,
    ACTIVE_SESSIONS,
    UNDECIDED,
    ALL_DEVICES,
    OWED_OUTBOX,
    DISPATCHABLE_IN_WINDOW,
    CLAIMED_IN_WINDOW,
    ANALYTICS_IN_WINDOW,
    *SUMMED_IN_WINDOW,
    RECENT_REQUESTS,
    QUOTED_IN_WINDOW,
    QUOTES_IN_WINDOW,
)

# The earliest Firestore timestamp: `field > EPOCH` means "the field is set".
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_CLAIM_FIELDS = ["category", "status", "dispatchableAt", "firstClaimedAt", "firstClaimRound"]


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


def _between(query: Query, field: str, since: datetime, until: datetime) -> Query:
    return query.where(filter=FieldFilter(field, ">=", since)).where(
        filter=FieldFilter(field, "<", until)
    )


def dispatchable_between(
    db: Client, category: str, status: str, since: datetime, until: datetime
) -> Query:
    """Requests of `category` now in `status` that became dispatchable in `[since, until)`."""
    query = (
        db.collection(DISPATCHABLE_IN_WINDOW.collection)
        .where(filter=FieldFilter("category", "==", category))
        .where(filter=FieldFilter("status", "==", status))
    )
    return _between(query, "dispatchableAt", since, until)


def first_claims_between(db: Client, since: datetime, until: datetime, limit: int) -> Query:
    """Requests that became dispatchable in `[since, until)` and were claimed at least once,
    only the fields the report reads, in pages of `limit`."""
    query = _between(db.collection(CLAIMED_IN_WINDOW.collection), "dispatchableAt", since, until)
    return (
        query.where(filter=FieldFilter("firstClaimedAt", ">", EPOCH))
        .select(FIRST_CLAIM_FIELDS)
        .order_by("dispatchableAt")
        .order_by("firstClaimedAt")
        .limit(limit)
    )


def analytics_between(db: Client, kind: str, since: datetime, until: datetime) -> Query:
    """Analytics events of type `kind` with `timestamp` in `[since, until)`."""
    query = db.collection(ANALYTICS_IN_WINDOW.collection).where(
        filter=FieldFilter("type", "==", kind)
    )
    return _between(query, "timestamp", since, until)


QUOTED_FIELDS = ["status", "dispatchableAt", "firstClaimedAt", "quote.expectedMinutes"]


RECENT_FIELDS = ["dispatchableAt", "firstClaimedAt", "cancelledAt", "expiredAt"]


def recent_requests(db: Client, category: str, since: datetime) -> Query:
    """Requests of `category` that became dispatchable since `since`, the times of their wait
    only."""
    return (
        db.collection(RECENT_REQUESTS.collection)
        .where(filter=FieldFilter("category", "==", category))
        .where(filter=FieldFilter("dispatchableAt", ">=", since))
        .select(RECENT_FIELDS)
    )


def waiting_since(db: Client, category: str, since: datetime) -> Query:
    """One pending request of `category` that became dispatchable at or after `since`, if any
    (no field read: only whether it exists)."""
    return (
        db.collection(DISPATCHABLE_IN_WINDOW.collection)
        .where(filter=FieldFilter("category", "==", category))
        .where(filter=FieldFilter("status", "==", RequestStatus.PENDING.value))
        .where(filter=FieldFilter("dispatchableAt", ">=", since))
        .select([])
        .limit(1)
    )


def quoted_between(db: Client, since: datetime, until: datetime, limit: int) -> Query:
    """Requests that became dispatchable in `[since, until)` with a quote, the fields the
    promise-kept figure reads, in pages of `limit`."""
    query = _between(db.collection(QUOTED_IN_WINDOW.collection), "dispatchableAt", since, until)
    return (
        query.where(filter=FieldFilter("quote.expectedMinutes", ">=", 0))
        .select(QUOTED_FIELDS)
        .order_by("dispatchableAt")
        .order_by("quote.expectedMinutes")
        .limit(limit)
    )


def quotes_between(
    db: Client, over_promise: bool, used: bool, since: datetime, until: datetime
) -> Query:
    """Quotes shown in `[since, until)`, over the promise or not, used or not."""
    query = (
        db.collection(QUOTES_IN_WINDOW.collection)
        .where(filter=FieldFilter("overPromise", "==", over_promise))
        .where(filter=FieldFilter("used", "==", used))
    )
    return _between(query, "createdAt", since, until)
