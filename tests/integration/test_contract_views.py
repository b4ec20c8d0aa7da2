"""The `ReportViews` read model: counts by category and status, first claims, push sums."""

from __future__ import annotations

from datetime import timedelta

from contract import NOW


def _seed_day(backend):
    for n, (category, status, claimed_after) in enumerate(
        [
            ("plumbing", "completed", 120),
            ("plumbing", "pending", None),
            ("hvac", "claimed", 1000),
            ("hvac", "expired", None),
        ]
    ):
        doc = {
            "category": category,
            "status": status,
            "dispatchableAt": NOW + timedelta(minutes=n),
        }
        if claimed_after is not None:
            doc["firstClaimedAt"] = doc["dispatchableAt"] + timedelta(seconds=claimed_after)
            doc["firstClaimRound"] = 1
        backend.seed(f"requests/v{n}", doc)
    backend.seed(
        "requests/before",
        {"category": "hvac", "status": "pending", "dispatchableAt": NOW - timedelta(days=2)},
    )
    for n in range(3):
        backend.seed(
            f"analytics/push-{n}",
            {
                "type": "notification_sent",
                "timestamp": NOW + timedelta(minutes=n),
                "metadata": {"recipients": n + 1, "sent": 2, "failed": n, "pruned": 0, "sms": 1},
            },
        )


def test_the_report_reads_count_scan_and_sum_the_window(backend):
    _seed_day(backend)
    views = backend.stores.views
    since, until = NOW, NOW + timedelta(days=1)

    assert views.count_dispatchable(since, until) == {
        ("plumbing", "completed"): 1,
        ("plumbing", "pending"): 1,
        ("hvac", "claimed"): 1,
        ("hvac", "expired"): 1,
    }
    assert views.count_dispatchable(since, until, ["pending"]) == {("plumbing", "pending"): 1}
    claims = list(views.first_claims(since, until, page_size=1))
    assert [(c.category, c.seconds, c.rounds, c.status) for c in claims] == [
        ("plumbing", 120.0, 1, "completed"),
        ("hvac", 1000.0, 1, "claimed"),
    ]
    assert views.push_totals(since, until) == {
        "notifications": 6,  # the recipients of the window's batches: 1 + 2 + 3
        "sent": 6,
        "failed": 3,
        "pruned": 0,
        "sms": 3,
    }
