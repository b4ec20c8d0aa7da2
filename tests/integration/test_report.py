"""dispatch_report on the emulators: the scripted day on real Firestore (aggregation queries,
the paged scan, the indexes' query shapes), and the callable through the Functions emulator
with a duplicated trigger event."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import cloudevents
import pytest
import scripted_day as script
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import Client
from google.cloud.firestore_v1.base_query import FieldFilter

import emulator_client as ec
from conftest import directory_entry, wait_for
from homepro.adapters.firestore import firestore_stores
from homepro.domain.policy import Policy
from homepro.services import reports
from homepro.services.context import Context, Tuning
from homepro.testing import FakeClock, FakePayments, FakePush, FakeSms, FakeVideo

# The scripted day runs in a project of its own: no Functions emulator trigger listens there,
# so the day's triggers are the ones the script delivers, on the script's clock.
DAY_PROJECT = "demo-homepro-scripted-day"


@pytest.fixture
def day_db() -> Iterator[Client]:
    ec.clear_firestore(DAY_PROJECT)
    yield firestore.Client(project=DAY_PROJECT, credentials=AnonymousCredentials())
    ec.clear_firestore(DAY_PROJECT)


@pytest.mark.parametrize("duplicates", [False, True], ids=["once", "every-event-twice"])
def test_the_scripted_day_on_firestore_gives_exactly_the_expected_kpis(day_db, duplicates):
    db = day_db
    users = db.collection("users")
    script.add_people(
        lambda uid, profile: users.document(uid).set(profile),
        lambda uid, device_id, token: (
            users.document(uid)
            .collection("devices")
            .document(device_id)
            .set({"token": token, "platform": "web"})
        ),
    )
    stores = firestore_stores(db, Tuning())
    clock = FakeClock(script.START)
    stores.dispatch.rebuild_directory(clock.now())
    ctx = Context(stores, clock, Policy(), FakePush(), FakeSms(), FakePayments(), FakeVideo())

    def read_raw(request_id: str) -> dict[str, Any] | None:
        return db.collection("requests").document(request_id).get().to_dict()

    day = script.Day(ctx, read_raw, clock.set)
    day.duplicates = duplicates
    script.run(day)

    started = time.perf_counter()
    report = reports.report(stores.views, *script.WINDOW, as_of=script.END)
    print(f"\ndispatch_report of the scripted day: {1000 * (time.perf_counter() - started):.0f} ms")
    script.check_report(report)
    morning = script.WINDOW[1] + timedelta(hours=8)
    script.check_report_next_morning(reports.report(stores.views, *script.WINDOW, as_of=morning))
    script.check_events([snap.to_dict() for snap in db.collection("analytics").stream()])


def test_the_report_pages_through_more_claims_than_one_page(day_db):
    db = day_db
    since = datetime(2026, 4, 1, tzinfo=UTC)
    batch = db.batch()
    for n in range(25):
        batch.set(
            db.collection("requests").document(f"paged-{n:02d}"),
            {
                "category": "plumbing",
                "status": "completed",
                "dispatchableAt": since + timedelta(minutes=n),
                "firstClaimedAt": since + timedelta(minutes=n, seconds=60 * n),
                "firstClaimRound": 1,
            },
        )
    batch.commit()
    views = firestore_stores(db, Tuning()).views
    report = reports.report(views, since, since + timedelta(days=1), page_size=4)

    assert report["claimed"] == 25
    assert report["timeToClaimSeconds"] == {"p50": 720.0, "p90": 1320.0, "p99": 1440.0}
    assert report["claimedWithin15MinShare"] == 0.64  # 0..15 minutes: 16 of 25


def test_every_read_of_a_report_sees_the_same_moment(day_db):
    """Counts, the paged scan and the push sums are all read at one `read_time`: what is
    written after it (a claim, another request, a push) is in none of them."""
    db = day_db
    since = datetime(2026, 5, 1, tzinfo=UTC)

    def claimed(n: int, status: str = "completed") -> dict[str, Any]:
        return {
            "category": "plumbing",
            "status": status,
            "dispatchableAt": since + timedelta(minutes=n),
            "firstClaimedAt": since + timedelta(minutes=n, seconds=90),
            "firstClaimRound": 1,
        }

    def push(n: int) -> dict[str, Any]:
        meta = {"recipients": 1, "sent": 2, "failed": 0, "pruned": 0, "sms": 0}
        return {
            "type": "notification_sent",
            "timestamp": since + timedelta(minutes=n),
            "metadata": meta,
        }

    for n in range(6):
        db.collection("requests").document(f"moment-{n}").set(claimed(n))
        db.collection("analytics").document(f"moment-push-{n}").set(push(n))
    db.collection("requests").document("moment-waiting").set(
        {
            "category": "plumbing",
            "status": "pending",
            "dispatchableAt": since + timedelta(minutes=9),
        }
    )
    time.sleep(0.2)
    moment = datetime.now(UTC)
    time.sleep(0.2)
    db.collection("requests").document("moment-waiting").update(claimed(9, "claimed"))
    db.collection("requests").document("moment-late").set(claimed(10))
    db.collection("analytics").document("moment-push-late").set(push(10))
    views, until = firestore_stores(db, Tuning()).views, since + timedelta(days=1)

    # pages of 4: the scan's later pages are read at the moment too
    then = reports.report(views, since, until, read_time=moment, page_size=4)
    now = reports.report(views, since, until, page_size=4)

    assert (then["requests"]["total"], then["claimed"], then["push"]["sent"]) == (7, 6, 12)
    assert then["requests"]["byStatus"]["pending"] == 1
    assert (now["requests"]["total"], now["claimed"], now["push"]["sent"]) == (8, 8, 14)
    assert now["requests"]["byStatus"].get("pending", 0) == 0


def _claimed_events(db: Client, request_id: str) -> int:
    query = db.collection("analytics").where(filter=FieldFilter("requestId", "==", request_id))
    return sum(1 for snap in query.stream() if snap.to_dict()["type"] == "request_claimed")


def test_the_callable_counts_a_claim_once_under_a_duplicated_trigger_event(clean, make_account):
    db = clean
    since = datetime.now(UTC) - timedelta(seconds=1)
    customer = make_account("customer")
    helper = make_account("helper", isAvailable=True)
    admin = make_account("admin")
    users = db.collection("users")
    users.document(helper.uid).collection("devices").document("d").set(
        {"token": "report-helper-web", "platform": "web"}
    )
    wait_for(lambda: directory_entry(db, helper.uid) is not None)

    body = {
        "category": "plumbing",
        "description": "The kitchen sink drips all night long.",
        "paymentMethodId": "pm_card_visa",
    }
    request_id = ec.call("create_request", body, customer.id_token)["requestId"]
    ref = db.collection("requests").document(request_id)
    wait_for(
        lambda: (ref.collection("dispatches").document("initial").get().to_dict() or {}).get(
            "finishedAt"
        )
    )
    pending = ref.get().to_dict()
    ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    wait_for(lambda: _claimed_events(db, request_id) == 1)
    wait_for(
        lambda: (
            users.document(customer.uid)
            .collection("notifications")
            .where(filter=FieldFilter("type", "==", "request_claimed"))
            .get()
        )
    )
    until = datetime.now(UTC) + timedelta(seconds=1)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    first = ec.call("dispatch_report", window, admin.id_token)

    claimed = ref.get().to_dict()
    path = f"requests/{request_id}"
    event_id = cloudevents.deliver("on_request_updated", "updated", path, claimed, pending)
    cloudevents.deliver("on_request_updated", "updated", path, claimed, pending, event_id)
    time.sleep(1.5)  # time for a duplicate to (wrongly) write something

    assert _claimed_events(db, request_id) == 1
    again = ec.call("dispatch_report", window, admin.id_token)
    assert again == first
    assert first["requests"] == {"total": 1, "byStatus": {"claimed": 1}}
    assert first["claimed"] == 1
    seconds = first["timeToClaimSeconds"]["p50"]
    assert 0 < seconds < 30 and first["claimedWithin15MinShare"] == 1.0
    assert first["roundsPerClaim"] == 1.0
    # the helper's new-request push, and the customer's request_claimed (no device)
    assert first["push"] == {"notifications": 2, "sent": 1, "failed": 0, "pruned": 0, "sms": 0}
    assert first["window"] == {"since": since.isoformat(), "until": until.isoformat()}


def test_only_admins_read_the_report_and_bad_windows_are_named(db, make_account):
    customer, helper, admin = (make_account(r) for r in ("customer", "helper", "admin"))
    for account in (customer, helper):
        with pytest.raises(ec.CallError) as refused:
            ec.call("dispatch_report", {}, account.id_token)
        assert refused.value.status == "PERMISSION_DENIED"
    with pytest.raises(ec.CallError) as anonymous:
        ec.call("dispatch_report", {})
    assert anonymous.value.status == "UNAUTHENTICATED"

    for data, field in [
        ({"since": "yesterday"}, "since"),
        ({"until": 12}, "until"),
        ({"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "since"),
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "since"),
        ({"window": "day"}, "window"),
    ]:
        with pytest.raises(ec.CallError) as bad:
            ec.call("dispatch_report", data, admin.id_token)
        assert bad.value.status == "INVALID_ARGUMENT", data
        assert bad.value.message.startswith(f"{field}:"), bad.value.message

    default = ec.call("dispatch_report", {}, admin.id_token)
    since = datetime.fromisoformat(default["window"]["since"])
    until = datetime.fromisoformat(default["window"]["until"])
    assert until - since == timedelta(days=1)
    assert abs((until - datetime.now(UTC)).total_seconds()) < 60
