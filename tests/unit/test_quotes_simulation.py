"""The simulation asks the product's quote before each request: walk-aways, the quote stored on
each request, the promise-kept figures, and its indexes changing nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

from homepro.services import quotes
from homepro.testing import FakeQuotes
from marketsim import engine
from marketsim.engine import BUILTIN_POLICIES, Simulation, policy_spec
from marketsim.results import figures, promise_line, quoted_waits, wait_errors
from marketsim.scenario import load, parse

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "sim" / "tiny.toml"
# the tiny day's outcomes were worked out with a round every 5 minutes
PRODUCT = policy_spec(
    "product", {"ESCALATION_MINUTES": 5, "TEXT_FROM_ROUND": 0}, BUILTIN_POLICIES["product"]
)


def _nobody_serves_hvac():
    """The tiny day with ten hvac requests nobody serves: each is shown a wait over 15."""
    raw = tomllib.loads(TINY.read_text())
    raw["arrivals"] += [{"at": f"10:{m:02d}", "category": "hvac"} for m in range(0, 50, 5)]
    return parse(raw, "tiny-hvac")


def test_customers_shown_over_15_walk_away_by_their_own_draw_and_count_as_not_served():
    sim = Simulation(_nobody_serves_hvac(), PRODUCT)
    outcome = sim.run()
    shown = outcome.docs.collection("quotes")
    assert len(shown) == 13  # every arrival asked for the wait first
    hvac = [q for q in shown.values() if q["category"] == "hvac"]
    assert all(q["overPromise"] and q["expectedMinutes"] == 30.0 for q in hvac)
    # arrivals 3..12 are the hvac ones: each walks away on its own draw, under 0.5
    walked = sum(sim._rng("walk-away", n).random() < engine.WALK_AWAY_CHANCE for n in range(3, 13))
    assert outcome.events["walked away"] == walked and 0 < walked < 10
    assert sum(not q["used"] for q in hvac) == walked
    f = figures("product", outcome)
    assert f.walked_away == walked and f.requests == 13 - walked
    # the three plumbing and electrical requests are claimed as before (2 within 15); the hvac
    # ones that stayed expire, and those that walked away count as not served
    assert f.within_15 == round(2 / 13, 4)
    # shown over: the hvac ones that stayed, and 09:10's plumbing (A busy: nobody free), which
    # stayed (its own draw) and was claimed after 17 minutes
    assert (f.shown_within, f.kept_within) == (2, 1.0)
    assert f.shown_over == 10 - walked + 1 and f.kept_over == 0.0
    assert "walked away" in promise_line(f)


def test_every_request_stores_the_quote_its_customer_was_shown():
    outcome = Simulation(load(TINY), PRODUCT).run()
    for data in outcome.docs.requests.values():
        quote = outcome.docs.collection("quotes")[data["quote"]["id"]]
        assert data["quote"]["expectedMinutes"] == quote["expectedMinutes"]
        assert quote["used"] and quote["requestId"] in outcome.docs.requests


def test_the_wait_error_is_the_median_absolute_error_beside_the_days_median():
    pairs = [(2.0, 3.0), (5.0, 5.0), (10.0, 30.0)]  # actual waits 3, 5, 30: the median is 5
    assert wait_errors(pairs) == (1.0, 2.0)  # |2-3|, 0, 20 -> 1; |5-3|, 0, 25 -> 2
    assert wait_errors([]) == (None, None)


def test_the_actual_wait_of_a_request_never_claimed_is_until_it_ended():
    outcome = Simulation(_nobody_serves_hvac(), PRODUCT).run()
    waits = sorted(actual for _, actual in quoted_waits(outcome))
    assert waits[:3] == [2.0, 8.0, 17.0]  # the tiny day's claims
    assert all(w == 30.0 for w in waits[3:])  # expired unclaimed after PENDING_TIMEOUT_MINUTES


def test_the_sim_quotes_indexes_change_no_figure(monkeypatch):
    scenario = load(ROOT / "scenarios" / "evening.toml")
    indexed = Simulation(scenario, PRODUCT).run()

    class ScanningQuotes(engine.SimQuotes):
        def open_requests(self):
            return FakeQuotes.open_requests(self)

        def dispatchable_since(self, since):
            return FakeQuotes.dispatchable_since(self, since)

    monkeypatch.setattr(engine, "SimQuotes", ScanningQuotes)
    asked = []
    real = quotes.quote_wait
    monkeypatch.setattr(quotes, "quote_wait", lambda *a: asked.append(a) or real(*a))
    scanned = Simulation(scenario, PRODUCT).run()
    assert isinstance(scanned.stores.quotes, ScanningQuotes)
    assert len(asked) == scanned.arrivals  # the product's own callable, once an arrival
    assert figures("p", scanned) == figures("p", indexed)
    assert scanned.docs.collections == indexed.docs.collections
