"""Waves: the ranking, the busy skip, the alert budget, the widening, on the fakes."""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from homepro.domain import waves
from homepro.domain.waves import Candidate, alert_limit, choose, rank, wave_size
from homepro.services import reactions
from homepro.services.dispatch import _wave, resume_round, run_round
from homepro.testing import FakeDocuments, count_lookups, make_context

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


# ---------------------------------------------------------------- the pure rules


def test_each_wave_is_wider_and_zero_is_the_broadcast():
    assert [wave_size(n, 3, 2) for n in (1, 2, 3, 4)] == [3, 5, 7, 9]
    assert [wave_size(n, 5, 0) for n in (1, 2, 3)] == [5, 5, 5]
    assert wave_size(4, 0, 2) is None


def test_a_helper_may_choose_fewer_alerts_never_more():
    assert alert_limit(None, 10) == 10
    assert alert_limit(4, 10) == 4
    assert alert_limit(60, 10) == 10
    assert alert_limit(0, 10) == 0  # board only


def test_the_fewest_alerts_of_the_hour_first_then_the_longest_since():
    ranked = rank(
        [
            Candidate("busy-hour", (ago(50), ago(30), ago(5)), 10),
            Candidate("two-old", (ago(59), ago(40)), 10),
            Candidate("two-recent", (ago(20), ago(2)), 10),
            Candidate("yesterday", (ago(600),), 10),  # older than an hour: not counted
            Candidate("never", (), 10),
        ],
        "r/initial",
        NOW,
    )
    assert [c.uid for c in ranked][2:] == ["two-old", "two-recent", "busy-hour"]
    assert {c.uid for c in ranked[:2]} == {"yesterday", "never"}


def test_ties_are_drawn_by_the_round_and_a_retry_draws_the_same():
    tied = [Candidate(f"h{n}", (), 10) for n in range(20)]
    first = [c.uid for c in rank(tied, "r/initial", NOW)]
    assert first == [c.uid for c in rank(reversed(tied), "r/initial", NOW)]
    assert first != [c.uid for c in rank(tied, "r/escalation-1", NOW)]


def test_busy_and_spent_helpers_are_never_chosen():
    found = choose(
        [
            Candidate("busy", (), 10, busy=True),
            Candidate("spent", tuple(ago(m) for m in range(1, 11)), 10),
            Candidate("own-limit", (ago(3),), 1),
            Candidate("board-only", (), 0),
            Candidate("free", (ago(30),), 10),
        ],
        3,
        "r/initial",
        NOW,
    )
    assert found == ["free"]


def test_a_spent_budget_frees_when_its_oldest_alert_is_an_hour_old():
    alerts = [ago(50), ago(40), ago(10)]
    frees = ago(50) + timedelta(hours=1)
    assert waves.budget_left(alerts, 3, frees - timedelta(seconds=1)) == 0
    assert waves.budget_left(alerts, 3, frees) == 1
    assert waves.budget_left(alerts, 2, frees) == 0  # and with 2: when the second is an hour old
    assert waves.budget_left(alerts, 2, ago(40) + timedelta(hours=1)) == 1
    assert waves.budget_left(alerts, 4, NOW) == 1


# ---------------------------------------------------------------- rounds on the fakes


@pytest.fixture
def plumbers():
    store = FakeDocuments()
    ctx = make_context(store, wave_first=2, wave_growth=2, max_job_alerts_per_hour=10)
    for n in range(14):
        store.add_helper(f"p{n:02d}", f"tok-p{n:02d}", categories=["plumbing"])
    store.add_helper("e", "tok-e", categories=["electrical"])
    store.add_request("r")
    return ctx, store


def asked(store: FakeDocuments, round_key: str, request_id: str = "r") -> set[str]:
    return set(store.targets(request_id, round_key))


def test_the_first_wave_is_small_and_each_escalation_asks_new_helpers_wider(plumbers):
    ctx, store = plumbers
    seen: set[str] = set()
    sizes = []
    for key in ("initial", "escalation-1", "escalation-2"):
        run_round(ctx, "r", key)
        wave = asked(store, key)
        assert not wave & seen  # nobody is asked twice while some were never asked
        seen |= wave
        sizes.append(len(wave))
    assert sizes == [2, 4, 6]
    assert len(ctx.push.tokens("new_request")) == 12  # one push each, never the electrician
    # the round records the wave it chose (a resumed round sends that one)
    assert set(store.rounds("r")["escalation-1"]["wave"]) == asked(store, "escalation-1")


def test_once_everyone_was_asked_the_waves_ask_again(plumbers):
    ctx, store = plumbers
    for key in ("initial", "escalation-1", "escalation-2"):
        run_round(ctx, "r", key)
    before = asked(store, "initial") | asked(store, "escalation-1") | asked(store, "escalation-2")
    never = {f"p{n:02d}" for n in range(14)} - before
    assert len(never) == 2
    # round 4 asks 8: the 2 never asked, and 6 asked before (each a new chance to notice)
    run_round(ctx, "r", "escalation-3")
    fourth = asked(store, "escalation-3")
    assert len(fourth) == 8 and never <= fourth
    # round 5 asks 10 again, never the electrician, never who gave the request back, and first
    # those asked (and alerted) least
    heard = {u: len(d["alerts"]) for u, d in store.collection("helperAlerts").items()}
    once = {u for u, n in heard.items() if n == 1} - {"p00"}
    store.requests["r"]["releasedBy"] = ["p00"]
    run_round(ctx, "r", "escalation-4")
    fifth = asked(store, "escalation-4")
    assert len(fifth) == 10 and "p00" not in fifth and "e" not in fifth and once <= fifth
    # later rounds ask each of the 13 up to ASKS_AT_MOST (3) times of this request, then nobody
    keys = [f"escalation-{n}" for n in range(5, 12)]
    for key in keys:
        run_round(ctx, "r", key)
    every = ["initial", *(f"escalation-{n}" for n in range(1, 5)), *keys]
    asks = Counter(uid for key in every for uid in asked(store, key))
    assert {u: n for u, n in asks.items() if u != "p00"} == {
        f"p{n:02d}": waves.ASKS_AT_MOST for n in range(1, 14)
    }
    assert asked(store, keys[-1]) == set()


def test_helpers_holding_a_claim_or_in_a_session_are_skipped(plumbers):
    ctx, store = plumbers
    busy = {f"p{n:02d}" for n in range(12)}
    for uid in busy:
        store.collection("helperClaims")[uid] = {"open": [f"other-{uid}"]}
    store.collection("helperClaims")["p12"] = {"open": []}  # held one, done with it
    run_round(ctx, "r", "initial")
    assert asked(store, "initial") == {"p12", "p13"}


def test_a_helper_over_budget_is_not_alerted(plumbers):
    ctx, store = plumbers
    alerts = store.collection("helperAlerts")
    for n in range(12):  # every one of them heard 10 jobs in the last hour
        alerts[f"p{n:02d}"] = {"alerts": [ago(m) for m in range(1, 11)], "limit": 10}
    alerts["p12"] = {"alerts": [ago(m) for m in range(61, 80)], "limit": 10}  # all old
    store.users["p13"]["maxJobAlertsPerHour"] = 0  # board only, by their own choice
    run_round(ctx, "r", "initial")
    assert asked(store, "initial") == {"p12"}
    # the alert is charged: p12's old ones are dropped, this one kept, the limit in force noted
    assert alerts["p12"]["alerts"] == [NOW] and alerts["p12"]["limit"] == 10
    assert len(alerts["p00"]["alerts"]) == 10  # a helper not asked is not charged


def test_no_helper_hears_of_more_jobs_an_hour_than_the_budget(plumbers):
    ctx, store = plumbers
    ctx = make_context(store, ctx.clock, wave_first=14, max_job_alerts_per_hour=3)
    for n in range(6):
        store.add_request(f"r{n}")
        run_round(ctx, f"r{n}", "initial")
        ctx.clock.advance(minutes=5)
    heard = {uid: len(data["alerts"]) for uid, data in store.collection("helperAlerts").items()}
    assert max(heard.values()) == 3 and len(heard) == 14
    ctx.clock.advance(minutes=40)  # the first alerts are an hour old now
    store.add_request("later")
    run_round(ctx, "later", "initial")
    assert len(asked(store, "initial", "later")) == 14


def test_the_least_alerted_are_asked_first():
    store = FakeDocuments()
    ctx = make_context(store, wave_first=2)
    heard = {"a": 4, "b": 0, "c": 2, "d": 1, "e": 3, "f": 5}  # 6 = the sample of a wave of 2
    for uid, n in heard.items():
        store.add_helper(uid, f"tok-{uid}", categories=["plumbing"])
        store.collection("helperAlerts")[uid] = {"alerts": [ago(m + 1) for m in range(n)]}
    store.add_request("r")
    run_round(ctx, "r", "initial")
    assert asked(store, "initial") == {"b", "d"}


def test_request_taken_goes_to_the_helpers_the_waves_reached(plumbers):
    ctx, store = plumbers
    run_round(ctx, "r", "initial")
    run_round(ctx, "r", "escalation-1")
    reached = asked(store, "initial") | asked(store, "escalation-1")
    taker = sorted(reached)[0]
    before = dict(store.requests["r"])
    after = {**before, "status": "claimed", "helperId": taker, "version": before["version"] + 1}
    reactions.request_updated(ctx, "r", before, after)
    told = {m.token for m in ctx.push.sent if m.data["type"] == "request_taken"}
    assert told == {f"tok-{uid}" for uid in reached - {taker}}
    assert len(told) == 5


def test_a_resumed_round_sends_the_wave_its_dead_worker_chose_and_charges_nothing_more(plumbers):
    ctx, store = plumbers
    reserved = ctx.dispatch.reserve_round("r", "initial", NOW)
    assert reserved is not None
    chosen = ctx.dispatch.take_alerts("r", "initial", {"p03": 10, "p09": 10}, NOW)
    assert chosen == ["p03", "p09"]
    # the worker died here: nothing pushed, nothing recorded
    resume_round(ctx, "r", "initial")
    assert asked(store, "initial") == {"p03", "p09"}
    assert sorted(ctx.push.tokens("new_request")) == ["tok-p03", "tok-p09"]
    assert [len(store.collection("helperAlerts")[u]["alerts"]) for u in ("p03", "p09")] == [1, 1]
    # taking the wave again answers the same wave and charges nobody
    assert ctx.dispatch.take_alerts("r", "initial", {"p00": 10}, NOW) == ["p03", "p09"]
    assert "p00" not in store.collection("helperAlerts")


def test_an_alert_stamped_a_moment_after_now_counts_and_is_kept():
    later = NOW + timedelta(seconds=1)  # charged by a round that read the clock later
    assert waves.budget_left([later], 1, NOW) == 0
    assert waves.alerted([later], 2, NOW)["alerts"] == [NOW, later]


def test_a_helper_who_gave_the_request_back_or_cannot_be_texted_is_not_asked():
    store = FakeDocuments()
    ctx = make_context(store, wave_first=5, sms_from_round=1, sms_allowed_prefixes=("+1",))
    store.add_helper("gave-back", "tok-g", categories=["plumbing"])
    store.add_helper("abroad", phone="+447700900123", categories=["plumbing"])  # no device
    store.add_helper("texted", phone="+15125550100", categories=["plumbing"])  # no device
    store.add_helper("pushed", "tok-p", categories=["plumbing"])
    store.add_request("r", releasedBy=["gave-back"])
    run_round(ctx, "r", "initial")
    assert asked(store, "initial") == {"texted", "pushed"}


def test_when_nearly_everyone_is_spent_a_round_looks_at_a_bounded_few():
    store = FakeDocuments()
    ctx = make_context(store, wave_first=2, max_job_alerts_per_hour=16)
    alerts = store.collection("helperAlerts")
    for n in range(600):
        uid = store.add_helper(f"h{n:03d}", f"tok-{n:03d}", categories=["plumbing"])
        alerts[uid] = {"alerts": [ago(m + 1) for m in range(16)], "limit": 16}
    alerts["h599"] = {"alerts": [], "limit": 16}
    looked = count_lookups(ctx)
    store.add_request("r")
    run_round(ctx, "r", "initial")
    assert sum(looked) <= waves.LOOK_AT_MOST * waves.SAMPLE * 2  # not the 600
    assert len(looked) <= 6  # each lookup doubles: a few calls, not one per helper


def test_only_the_rested_are_asked_again():
    assert waves.rested(Candidate("a", tuple(ago(m + 1) for m in range(7)), 16), NOW)
    assert not waves.rested(Candidate("b", tuple(ago(m + 1) for m in range(8)), 16), NOW)
    assert waves.rested(Candidate("c", tuple(ago(61 + m) for m in range(8)), 16), NOW)  # old
    store = FakeDocuments()
    ctx = make_context(store, wave_first=3, max_job_alerts_per_hour=4)
    for uid in ("tired", "rested", "new"):
        store.add_helper(uid, f"tok-{uid}", categories=["plumbing"])
    store.add_request("r")
    run_round(ctx, "r", "initial")  # asks all three
    alerts = store.collection("helperAlerts")
    alerts["tired"]["alerts"] = [ago(3), ago(2), NOW]  # 3 of 4: more than half the budget
    run_round(ctx, "r", "escalation-1")
    assert asked(store, "escalation-1") == {"rested", "new"}


def test_asked_again_the_wave_is_full_when_enough_are_rested():
    """The sample of a wave that asks again counts only whom it may ask again: with 70 of 100
    tired (12 alerts of 24) and 30 rested, every wave of 8 asks 8."""
    store = FakeDocuments()
    ctx = make_context(store, wave_first=8, wave_growth=0, max_job_alerts_per_hour=24)
    alerts = store.collection("helperAlerts")
    uids = [
        store.add_helper(f"h{n:03d}", f"tok-{n:03d}", categories=["plumbing"]) for n in range(100)
    ]
    for n, uid in enumerate(uids):
        alerts[uid] = {"alerts": [ago(m + 1) for m in range(12 if n < 70 else 2)], "limit": 24}
    for k in range(10):
        request_id = store.add_request(f"r{k}")
        assert ctx.dispatch.reserve_round(request_id, "initial", NOW) is not None
        ctx.dispatch.record_targets(request_id, "initial", dict.fromkeys(uids, 1), NOW)
        run_round(ctx, request_id, "escalation-1")
        wave = asked(store, "escalation-1", request_id)
        assert len(wave) == 8 and all(int(uid[1:]) >= 70 for uid in wave)


def test_a_helper_with_neither_device_nor_phone_is_asked_in_the_app():
    """Their inbox (shown while the app is open) is their only channel; with texts from round
    2 (TEXT_FROM_ROUND, SMS_FROM_ROUND), a phone-only helper waits for a round that texts."""
    store = FakeDocuments()
    ctx = make_context(store, wave_first=5, text_from_round=2)
    store.add_helper("in-app", categories=["plumbing"])
    store.add_helper("phone-only", phone="+15125550100", categories=["plumbing"])
    store.add_request("r")
    run_round(ctx, "r", "initial")
    assert asked(store, "initial") == {"in-app"}
    assert "new_request-r-initial" in store.inbox("in-app")
    run_round(ctx, "r", "escalation-1")
    assert "phone-only" in asked(store, "escalation-1")
    assert [to for to, _ in ctx.sms.sent] == ["+15125550100"]


# ---------------------------------------------------------------- texts instead of pushes


@pytest.fixture
def texting():
    """Helpers with the app and a phone; waves text from round 1 (the default)."""
    store = FakeDocuments()
    ctx = make_context(store, wave_first=5, max_texts_per_phone_per_hour=2)
    for n in range(3):
        store.add_helper(f"t{n}", f"tok-t{n}", phone=f"+1512555010{n}", categories=["plumbing"])
    store.add_helper("app-only", "tok-a", categories=["plumbing"])
    store.add_helper("abroad", "tok-b", phone="+447700900123", categories=["plumbing"])
    store.add_request("r")
    return ctx, store


def test_a_wave_texts_who_gave_a_phone_instead_of_the_push(texting):
    ctx, store = texting
    report = run_round(ctx, "r", "initial")
    assert report is not None
    assert asked(store, "initial") == {"t0", "t1", "t2", "app-only", "abroad"}
    assert sorted(to for to, _ in ctx.sms.sent) == [f"+1512555010{n}" for n in range(3)]
    # the push goes to who was not texted: no phone, or a number texts may not go to
    assert sorted(ctx.push.tokens("new_request")) == ["tok-a", "tok-b"]
    assert report.counts.sms_sent == 3 and report.counts.sent == 2
    assert all("new_request-r-initial" in store.inbox(u) for u in asked(store, "initial"))
    [event] = [
        e for e in store.collection("analytics").values() if e["type"] == "notification_sent"
    ]
    assert event["metadata"]["recipients"] == 5 and event["metadata"]["sms"] == 3
    # the texted helpers' devices were not pushed: not counted as targeted
    assert event["metadata"]["devices"] == 2 and report.counts.devices_targeted == 2


def test_the_pushes_that_wait_on_no_text_go_before_the_texts(texting):
    ctx, _ = texting
    order: list[str] = []
    push, text = ctx.push.send, ctx.sms.send
    ctx.push.send = lambda messages: order.append("push") or push(messages)  # type: ignore[method-assign]
    ctx.sms.send = lambda to, body: order.append("text") or text(to, body)  # type: ignore[method-assign]
    run_round(ctx, "r", "initial")
    assert order == ["push", "text", "text", "text"]  # app-only and abroad at once, then texts


def test_a_helper_whose_number_reached_its_hourly_texts_gets_the_push(texting):
    ctx, store = texting
    store.add_request("r2")
    store.add_request("r3")
    for request_id in ("r", "r2", "r3"):
        run_round(ctx, request_id, "initial")
    # 2 texts a number an hour here: the third request reaches them by push
    assert len(ctx.sms.sent) == 6
    assert ctx.push.tokens("new_request").count("tok-t0") == 1


def test_a_text_the_provider_refused_falls_back_to_the_push(texting):
    ctx, _store = texting
    ctx.sms.send = lambda to, body: False  # type: ignore[method-assign]
    run_round(ctx, "r", "initial")
    assert sorted(ctx.push.tokens("new_request")) == [
        "tok-a",
        "tok-b",
        "tok-t0",
        "tok-t1",
        "tok-t2",
    ]


def test_texts_from_a_later_round_push_the_first(texting):
    ctx, store = texting
    ctx = replace(ctx, policy=replace(ctx.policy, text_from_round=2, wave_first=1))
    run_round(ctx, "r", "initial")
    assert ctx.sms.sent == [] and len(ctx.push.tokens("new_request")) == 1
    pushed = set(ctx.push.tokens("new_request"))
    run_round(ctx, "r", "escalation-1")
    second = asked(store, "escalation-1")
    assert len(second) == 3
    phones = {store.users[u].get("phone"): u for u in second}
    texted = {phones[to] for to, _ in ctx.sms.sent}
    assert texted == {u for u in second if u.startswith("t")}  # the +1 numbers
    untexted = {"app-only": "tok-a", "abroad": "tok-b"}  # no phone; a number abroad
    assert set(ctx.push.tokens("new_request")) - pushed == {untexted[u] for u in second - texted}


def test_the_broadcast_never_texts_a_helper_with_the_app(texting):
    ctx, _store = texting
    ctx = replace(ctx, policy=replace(ctx.policy, wave_first=0, sms_from_round=1))
    run_round(ctx, "r", "initial")
    assert ctx.sms.sent == [] and len(ctx.push.tokens("new_request")) == 5


# ---------------------------------------------------------------- promise first


def test_a_request_is_late_once_it_waited_past_the_promise():
    assert not waves.late(ago(15), NOW, 15)
    assert waves.late(ago(15) - timedelta(seconds=1), NOW, 15)
    assert not waves.late(ago(60), NOW, 0)  # 0: never late
    assert not waves.late(None, NOW, 15)  # not dispatchable yet


@pytest.fixture
def late():
    """`old` waited 16 minutes; `new` of the same category 2 and still waits."""
    store = FakeDocuments()
    ctx = make_context(store, wave_first=2, wave_growth=2, max_job_alerts_per_hour=10)
    for n in range(6):
        store.add_helper(f"p{n}", f"tok-p{n}", categories=["plumbing", "electrical"])
    store.add_request("old", now=ago(16))
    store.add_request("new", now=ago(2))
    return ctx, store


def test_a_late_request_asks_nobody_while_a_newer_one_of_its_category_waits(late):
    ctx, store = late
    sent = run_round(ctx, "old", "escalation-5")
    assert sent is not None and sent.counts.helpers_targeted == 0
    assert ctx.push.sent == [] and store.collection("helperAlerts") == {}
    # the round is done (no outbox entry resumes it), says why it asked nobody, and the newer
    # request's round asks (and says nothing of the kind)
    assert store.rounds("old")["escalation-5"]["finishedAt"] == NOW
    assert store.rounds("old")["escalation-5"]["heldBack"] is True
    assert store.collection("outbox") == {}
    run_round(ctx, "new", "initial")
    assert len(asked(store, "initial", "new")) == 2
    assert "heldBack" not in store.rounds("new")["initial"]


@pytest.mark.parametrize(
    "newer",
    [
        {"status": "claimed", "helperId": "p0"},  # taken
        {"category": "electrical"},  # another category
        {"now": ago(15.5)},  # late too: nobody's promise is kept by yielding to it
        {"status": "cancelled"},
    ],
)
def test_a_late_request_asks_when_no_newer_one_of_its_category_waits(late, newer):
    ctx, store = late
    store.add_request("new", **newer)
    run_round(ctx, "old", "escalation-5")
    assert len(asked(store, "escalation-5", "old")) == 2
    assert len(ctx.push.tokens("new_request")) == 2


def test_a_request_not_late_yet_asks(late):
    ctx, store = late
    store.add_request("old", now=ago(15))  # 15 minutes to the second: not past the promise
    run_round(ctx, "old", "escalation-5")
    assert len(asked(store, "escalation-5", "old")) == 2


def test_with_promise_first_off_a_late_request_asks(late):
    ctx, store = late
    off = replace(ctx, policy=replace(ctx.policy, late_after_minutes=0))
    run_round(off, "old", "escalation-5")
    assert len(asked(store, "escalation-5", "old")) == 2


def test_the_broadcast_holds_back_a_late_request_too(late):
    ctx, store = late
    broadcast = replace(ctx, policy=replace(ctx.policy, wave_first=0))
    run_round(broadcast, "old", "escalation-5")
    assert asked(store, "escalation-5", "old") == set() and ctx.push.sent == []
    run_round(broadcast, "new", "initial")  # it is the request that is late, not the round
    assert len(asked(store, "initial", "new")) == 6


def test_the_round_after_a_release_is_held_back_if_late_and_asks_if_not(late):
    ctx, store = late
    store.add_request("old", now=ago(20), releaseCount=1, releasedBy=["p0"])
    run_round(ctx, "old", "released-1")
    assert asked(store, "released-1", "old") == set()  # late like any other
    store.add_request("soon", now=ago(10), releaseCount=1, releasedBy=["p0"])
    run_round(ctx, "soon", "released-1")
    assert len(asked(store, "released-1", "soon")) == 2


def test_a_round_held_back_records_its_empty_wave(late):
    ctx, store = late
    run_round(ctx, "old", "escalation-5")
    assert store.rounds("old")["escalation-5"]["wave"] == []
    # a resume of that round (a worker that died, a duplicate) sends the empty wave
    assert ctx.dispatch.take_alerts("old", "escalation-5", {"p0": 10}, NOW) == []


def test_a_worker_holding_a_round_back_sends_the_wave_another_worker_charged(late):
    ctx, _store = late
    assert ctx.dispatch.reserve_round("old", "escalation-5", ago(1)) is not None
    # another worker of this round chose and charged a wave, before the request was late for
    # it, and is still sending it; this one (a resume) finds no recorded targets
    assert ctx.dispatch.take_alerts("old", "escalation-5", {"p1": 10, "p2": 10}, ago(1)) == [
        "p1",
        "p2",
    ]
    sent = _wave_of_a_fresh_worker(ctx, "old", "escalation-5")
    assert sent == ["p1", "p2"]  # the wave charged goes out; nothing is held back half-sent


def _wave_of_a_fresh_worker(ctx, request_id, round_key):
    reserved = ctx.dispatch.resume_round(request_id, round_key)
    assert reserved is not None
    # resumed=False: as a racing worker that did not read the round's wave before deciding
    targets, held_back = _wave(ctx, reserved, round_key, resumed=False)
    assert not held_back
    return [h.uid for h, _ in targets]


def test_a_resumed_round_with_no_wave_chosen_yet_is_held_back_if_late_now(late):
    ctx, store = late
    store.add_request("old", now=ago(14.9))
    assert ctx.dispatch.reserve_round("old", "escalation-4", NOW) is not None
    ctx.clock.advance(minutes=1)  # the worker died before choosing; the request is late now
    resume_round(ctx, "old", "escalation-4")
    assert asked(store, "escalation-4", "old") == set() and ctx.push.sent == []
    assert store.rounds("old")["escalation-4"]["finishedAt"] == ctx.clock.now()


def test_a_resumed_round_sends_the_wave_chosen_before_it_was_late(late):
    ctx, store = late
    store.add_request("old", now=ago(14.9))
    assert ctx.dispatch.reserve_round("old", "escalation-4", NOW) is not None
    assert ctx.dispatch.take_alerts("old", "escalation-4", {"p1": 10, "p2": 10}, NOW) == [
        "p1",
        "p2",
    ]
    ctx.clock.advance(minutes=1)  # the worker died; the round resumes with the request late
    resume_round(ctx, "old", "escalation-4")
    assert asked(store, "escalation-4", "old") == {"p1", "p2"}  # charged: it goes out
