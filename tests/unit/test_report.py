"""dispatch_report's KPIs from counts and a scan, on a window with known outcomes."""

from datetime import UTC, datetime

import pytest

from homepro.domain.errors import InvalidInput
from homepro.domain.models import DispatchReportInput
from homepro.domain.report import ClaimTally, Counts, build_report, percentile
from homepro.services.reports import report_window

SINCE = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
UNTIL = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (
        50.0,
        90.0,
        99.0,
    )
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_a_day_of_known_outcomes():
    # ten dispatchable requests: 6 claimed (4 within 15 minutes), 2 expired, 1 cancelled, 1 open
    counts = Counts(
        by_status={
            "completed": 3,
            "in_session": 1,
            "claimed": 2,
            "expired": 2,
            "cancelled": 1,
            "pending": 1,
        },
        by_category={
            "plumbing": {"completed": 3, "claimed": 1, "expired": 1},
            "electrical": {
                "in_session": 1,
                "claimed": 1,
                "expired": 1,
                "cancelled": 1,
                "pending": 1,
            },
        },
    )
    claims = ClaimTally()
    for category, seconds, rounds in [
        ("plumbing", 60, 1),
        ("plumbing", 240, 1),
        ("plumbing", 900, 2),  # exactly 15 minutes keeps the promise
        ("plumbing", 1500, 4),
        ("electrical", 420, 1),
        ("electrical", 2400, 6),
    ]:
        claims.add(category, seconds, rounds)

    report = build_report(SINCE, UNTIL, counts, claims, {"sent": 40, "failed": 2, "pruned": 1})

    assert report["requests"] == {"total": 10, "byStatus": dict(counts.by_status)}
    assert report["timeToClaimSeconds"] == {"p50": 420, "p90": 2400, "p99": 2400}
    assert report["claimedWithin15MinShare"] == 0.4  # 4 of the 10
    assert (report["expiryRate"], report["cancellationRate"]) == (0.2, 0.1)
    assert report["roundsPerClaim"] == 2.5  # 15 rounds over 6 claims
    assert report["push"] == {"notifications": 0, "sent": 40, "failed": 2, "pruned": 1, "sms": 0}
    plumbing = report["byCategory"]["plumbing"]
    assert (plumbing["total"], plumbing["claimed"], plumbing["claimedWithin15MinShare"]) == (
        5,
        4,
        0.6,
    )
    assert plumbing["timeToClaimSeconds"] == {"p50": 240, "p90": 1500}
    electrical = report["byCategory"]["electrical"]
    assert (electrical["claimedWithin15MinShare"], electrical["expiryRate"]) == (0.2, 0.2)
    assert report["window"] == {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}


def test_an_empty_window_has_no_rates():
    report = build_report(SINCE, UNTIL, Counts({}, {}), ClaimTally(), {})
    assert report["requests"]["total"] == 0
    assert report["claimedWithin15MinShare"] is None
    assert report["timeToClaimSeconds"] == {"p50": None, "p90": None, "p99": None}
    assert report["roundsPerClaim"] is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"until": "0001-01-01"}, "until"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"until": "9999-12-31T23:00:00-05:00"}, "until"),
        ({"since": "not a time"}, "since"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "since"),
    ],
)
def test_bad_windows_are_invalid_input_naming_the_field(data, field):
    with pytest.raises(InvalidInput) as bad:
        report_window(UNTIL, DispatchReportInput.model_validate(data))
    assert bad.value.field == field
