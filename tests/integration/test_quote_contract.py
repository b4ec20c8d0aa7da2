"""The `Quotes` port and the report's quote reads, on the fake and on Firestore alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contract import NOW
from homepro.domain import quotes
from homepro.domain.errors import ResourceExhausted
from homepro.services.stores import RecentRequest


def _seed_supply(backend):
    base = {"customerId": "c", "amount": 4900, "paymentStatus": "authorized"}
    rows = {
        "under-way-1": {"category": "plumbing", "status": "claimed", "helperId": "h1"},
        "under-way-2": {"category": "hvac", "status": "in_session", "helperId": "h2"},
        "done": {"category": "plumbing", "status": "completed", "helperId": "h3"},
        "waits": {
            "category": "plumbing",
            "status": "pending",
            "dispatchableAt": NOW - timedelta(minutes=3),
        },
        "expired": {
            "category": "plumbing",
            "status": "expired",
            "dispatchableAt": NOW - timedelta(minutes=40),
            "expiredAt": NOW - timedelta(minutes=10),
        },
        "recent": {
            "category": "plumbing",
            "status": "completed",
            "dispatchableAt": NOW - timedelta(minutes=10),
            "firstClaimedAt": NOW - timedelta(minutes=8),
        },
        "long-ago": {
            "category": "plumbing",
            "status": "completed",
            "dispatchableAt": NOW - timedelta(hours=3),
            "firstClaimedAt": NOW - timedelta(hours=2),
        },
        "other": {
            "category": "hvac",
            "status": "completed",
            "dispatchableAt": NOW - timedelta(minutes=10),
            "firstClaimedAt": NOW - timedelta(minutes=9),
        },
    }
    for request_id, fields in rows.items():
        backend.seed(f"requests/{request_id}", {**base, **fields})


def test_the_live_supply_reads(backend):
    _seed_supply(backend)
    port = backend.stores.quotes
    found = port.recent_requests("plumbing", NOW - timedelta(hours=1))
    assert sorted(found, key=lambda r: r.dispatchable_at) == [
        RecentRequest(NOW - timedelta(minutes=40), None, NOW - timedelta(minutes=10)),
        RecentRequest(NOW - timedelta(minutes=10), NOW - timedelta(minutes=8), None),
        RecentRequest(NOW - timedelta(minutes=3), None, None),
    ]
    assert port.recent_requests("electrical", NOW - timedelta(hours=1)) == []


def test_a_quote_is_counted_and_stored_in_one_commit(backend):
    port = backend.stores.quotes
    shown = quotes.Estimate(4.0, 9.6)
    doc = quotes.quote_document(
        "c1", "plumbing", shown, quotes.Supply(3), NOW, timedelta(minutes=10)
    )
    counter = quotes.quote_limits_path("c1")
    for n in range(2):
        port.create_quote(
            f"q{n}", doc, counter, lambda found: quotes.count_quote(found, counter, 2, NOW)
        )
    with pytest.raises(ResourceExhausted):
        port.create_quote(
            "q2", doc, counter, lambda found: quotes.count_quote(found, counter, 2, NOW)
        )
    assert port.get_quote("q1") == doc and port.get_quote("q2") is None
    stored = backend.dump()
    assert stored[counter]["asked"] == [NOW, NOW]


def test_the_report_reads_the_quoted_requests_and_counts_the_quotes(backend):
    day = [
        ("a", 4.0, 300, "completed"),
        ("b", 6.0, None, "expired"),
        ("c", 30.0, 1200, "claimed"),
    ]
    for n, (request_id, minutes, claimed_after, status) in enumerate(day):
        doc = {
            "category": "plumbing",
            "status": status,
            "dispatchableAt": NOW + timedelta(minutes=n),
            "quote": {"id": f"q-{request_id}", "expectedMinutes": minutes, "p90Minutes": 9.0},
        }
        if claimed_after is not None:
            doc["firstClaimedAt"] = doc["dispatchableAt"] + timedelta(seconds=claimed_after)
        backend.seed(f"requests/{request_id}", doc)
    backend.seed(
        "requests/no-quote",
        {"category": "plumbing", "status": "completed", "dispatchableAt": NOW},
    )
    for n, (over, used) in enumerate([(False, True), (False, False), (True, False), (True, False)]):
        backend.seed(
            f"quotes/q{n}",
            {"createdAt": NOW + timedelta(minutes=n), "overPromise": over, "used": used},
        )
    backend.seed(
        "quotes/before",
        {"createdAt": NOW - timedelta(days=2), "overPromise": False, "used": False},
    )
    views = backend.stores.views
    since, until = NOW, NOW + timedelta(days=1)
    found = list(views.quoted_requests(since, until, page_size=2))
    assert [(q.expected_minutes, q.claim_seconds, q.status) for q in found] == [
        (4.0, 300.0, "completed"),
        (6.0, None, "expired"),
        (30.0, 1200.0, "claimed"),
    ]
    assert views.quote_counts(since, until) == {
        (False, False): 1,
        (False, True): 1,
        (True, False): 2,
        (True, True): 0,
    }
