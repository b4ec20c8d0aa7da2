"""Waves on the emulators, with the deployed defaults: a paid request's first round asks its
first wave of helpers, ranked, skipping the busy and those over their alert budget, and
charges each an alert; an escalation asks new ones, more; `request_taken` goes to those asked."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from test_dispatch import add_helper, pushes, round_done, tokens

import emulator_client as ec
from conftest import wait_for
from homepro import config
from homepro.domain import waves

FIRST = config.WAVE_FIRST.default
GROWTH = config.WAVE_GROWTH.default
BUDGET = config.MAX_JOB_ALERTS_PER_HOUR.default


def wave_of(db, request_id: str, key: str) -> set[str]:
    targets = (
        db.collection("requests")
        .document(request_id)
        .collection("dispatches")
        .document(key)
        .collection("targets")
    )
    return {snap.id for snap in targets.stream()}


def test_the_first_wave_skips_the_busy_and_the_spent_and_charges_who_it_asks(clean, make_request):
    db = clean
    now = datetime.now(UTC)
    free = [add_helper(db, [f"free-{n}"], categories=["plumbing"]) for n in range(FIRST + 2)]
    busy = add_helper(db, ["busy-web"], categories=["plumbing"])
    db.collection("helperClaims").document(busy).set({"open": ["another-request"]})
    spent = add_helper(db, ["spent-web"], categories=["plumbing"])
    db.collection("helperAlerts").document(spent).set(
        {"alerts": [now - timedelta(minutes=m + 1) for m in range(BUDGET)], "limit": BUDGET}
    )
    # the two who heard most lately are asked last: a wave of FIRST takes the others
    for n, uid in enumerate(free[:2]):
        db.collection("helperAlerts").document(uid).set(
            {"alerts": [now - timedelta(minutes=5 + m) for m in range(n + 1)], "limit": BUDGET}
        )

    request_id = make_request()
    done = round_done(db, request_id, "initial")

    asked = wave_of(db, request_id, "initial")
    assert asked == set(free[2:])
    assert done["helpersTargeted"] == FIRST
    assert set(tokens(request_id)) == {f"free-{n}" for n in range(2, FIRST + 2)}
    for uid in asked:  # one alert charged each, the limit in force noted
        alerts = db.collection("helperAlerts").document(uid).get().to_dict()
        assert len(alerts["alerts"]) == 1 and alerts["limit"] == BUDGET
    spent_alerts = db.collection("helperAlerts").document(spent).get().to_dict()
    assert len(spent_alerts["alerts"]) == BUDGET  # not asked, not charged
    rounds = db.collection("requests").document(request_id).collection("dispatches")
    assert set(rounds.document("initial").get().to_dict()["wave"]) == asked


def test_an_escalation_asks_new_helpers_more_of_them(clean, make_request):
    db = clean
    helpers = [add_helper(db, [f"esc-{n}"]) for n in range(2 * FIRST + GROWTH + 1)]
    started = datetime.now(UTC) - timedelta(minutes=config.ESCALATION_MINUTES.default + 1)
    request_id = make_request(pendingSince=started, createdAt=started)
    round_done(db, request_id, "initial")
    assert ec.run_scheduled("sweep_stale_requests") == 200
    round_done(db, request_id, "escalation-1")

    first, second = wave_of(db, request_id, "initial"), wave_of(db, request_id, "escalation-1")
    assert (len(first), len(second)) == (FIRST, FIRST + GROWTH)
    assert not first & second and first | second <= set(helpers)
    assert max(tokens(request_id).values()) == 1  # nobody heard of it twice


def test_request_taken_goes_to_the_helpers_asked(clean, make_account, make_request):
    db = clean
    # no device, and a number texts may not go to (SMS_ALLOWED_PREFIXES +1): no wave asks them
    helper = make_account(
        "helper", isAvailable=True, categories=["plumbing"], phone="+447700900199"
    )
    others = [add_helper(db, [f"other-{n}"], categories=["plumbing"]) for n in range(2 * FIRST)]
    request_id = make_request()
    round_done(db, request_id, "initial")
    asked = wave_of(db, request_id, "initial")
    assert len(asked) == FIRST and asked <= set(others)

    ec.call("claim_request", {"requestId": request_id}, helper.id_token)

    wait_for(lambda: len(pushes(request_id, "request_taken")) == FIRST)
    told = tokens(request_id, "request_taken")
    assert told == Counter({f"other-{others.index(uid)}": 1 for uid in asked})
    # the claimant was never asked: no alert charged to them
    assert not db.document(waves.alerts_path(helper.uid)).get().exists


def test_a_late_request_yields_to_a_newer_one_of_its_category(clean, make_request):
    db = clean
    for n in range(3 * FIRST):
        add_helper(db, [f"late-{n}"], categories=["plumbing", "electrical"])
    newer = make_request()
    round_done(db, newer, "initial")
    late = datetime.now(UTC) - timedelta(minutes=config.LATE_AFTER_MINUTES.default + 1)
    # past its promise while `newer` waits: its round asks nobody (it stays on the board)
    yielded = make_request(dispatchableAt=late, pendingSince=late, createdAt=late)
    # as late, but nothing newer of its category waits: asked as usual
    alone = make_request(
        category="electrical", dispatchableAt=late, pendingSince=late, createdAt=late
    )

    held_back = round_done(db, yielded, "initial")
    assert held_back["helpersTargeted"] == 0 and held_back["wave"] == []
    assert held_back["heldBack"] is True
    assert wave_of(db, yielded, "initial") == set() and tokens(yielded) == Counter()
    asked_alone = round_done(db, alone, "initial")
    assert asked_alone["helpersTargeted"] == FIRST and "heldBack" not in asked_alone
    assert len(wave_of(db, alone, "initial")) == FIRST
    assert len(wave_of(db, newer, "initial")) == FIRST
