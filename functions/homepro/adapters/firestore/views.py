"""`ReportViews` on Firestore: aggregation counts and sums, and a paged scan, all at one
read time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from google.cloud import firestore
from google.cloud.firestore_v1.aggregation import AggregationQuery

from homepro.adapters.documents import first_claim, quoted_request
from homepro.adapters.firestore import queries
from homepro.adapters.firestore.documents import pages
from homepro.domain.models import Category
from homepro.domain.states import RequestStatus
from homepro.services.concurrency import bounded_map
from homepro.services.context import Tuning
from homepro.services.stores import FirstClaim, QuotedRequest


class FirestoreViews:
    def __init__(self, db: firestore.Client, tuning: Tuning) -> None:
        self._db = db
        self._tuning = tuning

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

        counted = bounded_map(count, cells, self._tuning.io_concurrency)
        return {cell: n for cell, n in zip(cells, counted, strict=True) if n}

    def first_claims(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[FirstClaim]:
        query = queries.first_claims_between(self._db, since, until, page_size)
        for snap in pages(query, page_size, read_time):
            yield first_claim(snap.to_dict() or {})

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
        return dict(bounded_map(total, fields, min(self._tuning.io_concurrency, len(fields))))

    def quoted_requests(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[QuotedRequest]:
        query = queries.quoted_between(self._db, since, until, page_size)
        for snap in pages(query, page_size, read_time):
            yield quoted_request(snap.to_dict() or {})

    def quote_counts(
        self, since: datetime, until: datetime, read_time: datetime | None = None
    ) -> dict[tuple[bool, bool], int]:
        cells = [(over, used) for over in (False, True) for used in (False, True)]

        def count(cell: tuple[bool, bool]) -> int:
            query = queries.quotes_between(self._db, *cell, since, until)
            return int(query.count(alias="n").get(read_time=read_time)[0][0].value)

        counted = bounded_map(count, cells, self._tuning.io_concurrency)
        return dict(zip(cells, counted, strict=True))
