"""`make report` prints the callable's answer as aligned KPIs, per category and a histogram."""

from __future__ import annotations

from typing import Any

import report as report_cli
import scripted_day as script
from test_scripted_day import _day

from homepro.services import reports
from homepro.testing import FakeDocuments, FakeViews


def _scripted_report() -> dict[str, Any]:
    store, day = _day(duplicates=False)
    script.run(day)
    return reports.report(FakeViews(store), *script.WINDOW, as_of=script.END)


def test_the_report_prints_the_kpis_the_callable_answers():
    printed = report_cli.render(_scripted_report()).splitlines()
    assert printed[0] == "dispatch report 2026-03-10T00:00:00+00:00 .. 2026-03-11T00:00:00+00:00"
    lines = {
        line.split("  ")[1].strip(): line
        for line in printed
        if line.startswith("  ") and "  " in line[2:]
    }
    assert "57.1 %" in lines["claimed within 15 min"]
    assert "1 still waiting" in lines["claimed within 15 min"]
    assert lines["time to claim p50/p90/p99"].endswith("7:00 / 17:00 / 17:00")
    assert "12.5 %" in lines["expiry rate"] and "25.0 %" in lines["cancellation rate"]
    plumbing = next(line for line in printed if line.startswith("  plumbing"))
    assert plumbing.split()[1:4] == ["3", "3", "100.0"]
    bars = [line for line in printed if "#" in line]
    assert len(bars) == 5
    # the claim at exactly 15:00 kept the promise: its bar is the last one before the line
    promise = printed.index("         ---- the 15-minute promise ----")
    assert printed[promise - 1].split()[0::2] == ["14-15", "1"]


def test_an_empty_window_prints_dashes():
    empty = reports.report(FakeViews(FakeDocuments()), *script.WINDOW)
    text = report_cli.render(empty)
    assert "claimed within 15 min   —" in text and "#" not in text
