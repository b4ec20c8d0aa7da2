"""A scripted day with known outcomes gives exactly the expected KPIs and analytics events,
delivered once or twice (duplicate trigger events), on the fakes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import scripted_day as script

from homepro.domain.models import AnalyticsDoc
from homepro.services import reports
from homepro.testing import FakeClock, FakeDocuments, FakeViews, make_context


def _day(duplicates: bool) -> tuple[FakeDocuments, script.Day]:
    store, clock = FakeDocuments(), FakeClock(script.START)

    def add_user(uid: str, profile: dict[str, Any]) -> None:
        store.users[uid] = profile

    def add_device(uid: str, device_id: str, token: str) -> None:
        store.devices(uid)[device_id] = {"token": token, "platform": "web"}

    script.add_people(add_user, add_device)
    day = script.Day(make_context(store, clock), store.requests.get, clock.set)
    day.duplicates = duplicates
    return store, day


@pytest.mark.parametrize("duplicates", [False, True], ids=["once", "every-event-twice"])
def test_the_scripted_day_gives_exactly_the_expected_kpis(duplicates: bool) -> None:
    store, day = _day(duplicates)
    script.run(day)

    script.check_report(reports.report(FakeViews(store), *script.WINDOW, as_of=script.END))
    morning = script.WINDOW[1] + timedelta(hours=8)
    script.check_report_next_morning(
        reports.report(FakeViews(store), *script.WINDOW, as_of=morning)
    )
    script.check_events(list(store.analytics.values()))


def test_a_second_copy_of_an_event_would_be_counted_if_ids_were_not_derived() -> None:
    # The control: the same occurrence written under a fresh id is counted twice by the report.
    store, day = _day(duplicates=False)
    script.run(day)
    since, until = script.WINDOW
    first = next(
        e
        for e in store.analytics.values()
        if e["type"] == "notification_sent" and since <= e["timestamp"] < until
    )
    assert first["metadata"]["sent"] == 1
    make_context(store).analytics.record_all({"a-fresh-id": AnalyticsDoc.model_validate(first)})
    totals = reports.report(FakeViews(store), *script.WINDOW)["push"]
    assert totals["sent"] == script.EXPECTED_KPIS["push"]["sent"] + 1
