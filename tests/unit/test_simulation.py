"""The marketplace simulation: exact outcomes of a deterministic day, reproducibility, and
proof that it runs the services' own rules (no second implementation)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import simulate

from homepro.domain import lifecycle
from homepro.services import claims, payments, reactions, sessions, sweeps
from homepro.testing import FakeDispatch, FakeRequests
from marketsim import engine
from marketsim.engine import BUILTIN_POLICIES, Simulation, policy_spec
from marketsim.results import figures
from marketsim.scenario import ScenarioError, load, parse

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "sim" / "tiny.toml"


# the tiny day's outcomes were worked out with a round every 5 minutes, and alerts pushed (texts
# only to helpers with no device, from round 2): TEXT_FROM_ROUND=1 below shows the texts
WORKED_OUT = {"ESCALATION_MINUTES": 5, "TEXT_FROM_ROUND": 0}


def _run(policy: str, **overrides: object):
    spec = policy_spec(policy, WORKED_OUT, BUILTIN_POLICIES[policy], overrides)
    outcome = Simulation(load(TINY), spec).run()
    return outcome, figures(policy, outcome)


# FATIGUE=0: the figures of before fatigue. With fatigue on, the tiny day keeps them (A's one
# notification after the first comes with 1 other in the hour: x 0.95, and this seed's draw is
# under it): test_fatigue_counts_what_reached_a_helper_in_the_hour_busy_or_not.
@pytest.mark.parametrize("fatigue", [0, 1])
def test_the_tiny_day_under_the_product_policy_has_exactly_the_expected_outcomes(fatigue):
    outcome, f = _run("product", FATIGUE=fatigue)
    # 09:00 claimed by A at 09:02; 09:10's waves skip A while A works (09:03-09:24), and so do
    # the escalations of 09:15 and 09:20: the one of 09:25 asks A, free since 09:24, who claims
    # at 09:27 (17 min, round 4); 09:30 reaches B only by SMS, from round 2 (09:35): claimed
    # 09:38 (8 min).
    assert (f.requests, f.claimed, f.within_15) == (3, 3, 0.6667)
    assert outcome.stores.views.count_dispatchable(*outcome.window) == {
        ("plumbing", "completed"): 2,
        ("electrical", "completed"): 1,
    }
    assert f.minutes_to_claim == (2.0, 8.0, 17.0)
    assert (f.p50, f.p90, f.p99) == (8.0, 17.0, 17.0)
    assert (f.expiry_rate, f.cancellation_rate) == (0.0, 0.0)
    assert f.rounds_per_claim == 2.333  # 1 + 4 + 2 rounds over 3 claims
    # pushes: A's 09:00 and 09:25 (the broadcast pushed A at every round, busy or not: 5);
    # SMS: B's round 2; 3 notifications reached a helper over 8 shift hours (B's round 1: no
    # app, no SMS yet, so no wave asks B)
    assert (f.pushes_per_request, f.sms_per_request) == (0.67, 0.33)
    assert f.helper_notifications_per_hour == 0.38
    # A, busy, is skipped by three rounds; B notices the SMS; every session resolves
    assert outcome.events == {
        "shift starts": 2,
        "shift ends": 2,
        "noticed by push": 2,
        "noticed by SMS": 1,
        "session resolved": 3,
    }
    assert outcome.log_errors == 0


def test_the_tiny_day_under_the_seed_policy_has_exactly_the_expected_outcomes():
    outcome, f = _run("seed", FATIGUE=0)
    # one round each: the second request's finds A busy, the third's cannot reach B (no SMS);
    # both expire 30 minutes on, at the sweep (every 5 minutes) of 09:40 and 10:00
    assert (f.requests, f.claimed, f.within_15) == (3, 1, 0.3333)
    assert f.minutes_to_claim == (2.0,)
    assert f.expiry_rate == 0.6667
    assert f.pushes_per_request == 0.67 and f.sms_per_request == 0.0
    expired = sorted(
        d["expiredAt"].strftime("%H:%M")
        for d in outcome.docs.requests.values()
        if d["status"] == "expired"
    )
    assert expired == ["09:40", "10:00"]


def test_one_parameter_changes_the_outcome_through_the_real_rules():
    # SMS from round 1: B is texted at 09:30 and claims at 09:33 (3 minutes)
    _, f = _run("product", SMS_FROM_ROUND=1, FATIGUE=0)
    assert f.minutes_to_claim == (2.0, 3.0, 17.0)
    # escalation every 3 minutes: B's SMS (round 2) goes out at 09:33, the claim at 09:36
    _, f = _run("product", ESCALATION_MINUTES=3, FATIGUE=0)
    assert f.minutes_to_claim == (2.0, 6.0, 17.0)
    # waves text from round 1 (the default): B, who gave a phone, is texted at 09:30 too
    outcome, f = _run("product", TEXT_FROM_ROUND=1, FATIGUE=0)
    assert f.minutes_to_claim == (2.0, 3.0, 17.0)
    assert outcome.events["noticed by SMS"] == 1 and outcome.events["noticed by push"] == 2


def test_the_same_seed_gives_the_same_figures_and_another_seed_others():
    scenario = load(ROOT / "scenarios" / "evening.toml")
    spec = policy_spec("product", BUILTIN_POLICIES["product"])
    first = figures("p", Simulation(scenario, spec).run())
    again = figures("p", Simulation(scenario, spec).run())
    other = figures("p", Simulation(scenario, spec, seed=scenario.seed + 1).run())
    assert spec.fatigue and scenario.helpers[0].board_per_hour == 1  # fatigue and the board on
    assert first == again
    assert first.requests > 100
    assert other != first


def test_fatigues_factor_is_the_issues():
    """Issue 17: x 1 / (1 + n / 20), n = new-job notifications received in the hour before."""
    assert engine.fatigue_factor(0) == 1.0
    assert round(engine.fatigue_factor(8), 2) == 0.71
    assert round(engine.fatigue_factor(20), 2) == 0.5
    assert round(engine.fatigue_factor(37), 2) == 0.35


def test_a_helper_counts_the_notifications_of_the_last_60_minutes_only():
    from datetime import UTC, datetime, timedelta

    helper = engine.Helper("h", load(TINY).helpers[0], ("t",), None, [])
    nine = datetime(2026, 3, 10, 9, tzinfo=UTC)
    helper.heard.extend(nine + timedelta(minutes=m) for m in (0, 10, 30, 59))
    assert helper.heard_recently(nine + timedelta(minutes=59)) == 4
    assert helper.heard_recently(nine + timedelta(minutes=60)) == 3  # 09:00 is an hour old
    assert helper.heard_recently(nine + timedelta(minutes=100)) == 1
    assert helper.heard_recently(nine + timedelta(minutes=200)) == 0


def test_fatigue_counts_what_reached_a_helper_in_the_hour_busy_or_not(monkeypatch):
    asked: list[int] = []
    real = engine.fatigue_factor

    def spy(n: int) -> float:
        asked.append(n)
        return real(n)

    monkeypatch.setattr(engine, "fatigue_factor", spy)
    outcome, f = _run("product")  # fatigue on: the default
    # A hears 09:00 (n = 0, free: claims); the waves skip A while busy; 09:25 free again with 1
    # before it in the hour. B: no app, so no wave asks B before round 2's SMS at 09:35 (n = 0).
    assert asked == [0, 1, 0]
    assert outcome.events["noticed by push"] == 2
    _, off = _run("product", FATIGUE=0)
    assert off == f  # this seed's draw at 09:25 is under 0.95: the tiny day keeps its figures
    # the first build's broadcast told A at every round, busy or not: 4 before 09:25
    asked.clear()
    _run("broadcast")
    assert asked == [0, 4, 0]


def test_fatigue_on_the_evening_hears_the_same_and_acts_less():
    """Same people, same seed: fatigue lowers how often a notification is acted on."""
    scenario = load(ROOT / "scenarios" / "evening.toml")
    tired = Simulation(scenario, policy_spec("p", {})).run()
    fresh = Simulation(scenario, policy_spec("p", {"FATIGUE": "0"})).run()
    # (the waves' alerts are texts to whoever gave a phone, pushes to the others)
    alerted = [
        (o.events["noticed by push"] + o.events["noticed by SMS"]) / o.arrivals
        for o in (tired, fresh)
    ]
    assert alerted[0] < alerted[1]
    assert tired.events["noticed on the board"] > 0  # the board is looked at either way


def test_a_helper_nobody_notifies_finds_the_job_on_the_board_under_every_policy():
    """Quiet hours over the whole shift: no round reaches the helper, yet they look at the board
    (at `board_per_hour`, the same moments whatever the policy) and claim from it."""
    raw = {
        "seed": 7,
        "arrivals": [{"at": "09:00", "category": "plumbing"}],
        "customers": {"pool": 1, "no_join": 0, "join_delay_minutes": 1, "resolved": 1},
        "helpers": [
            {
                "name": "muted",
                "count": 1,
                "categories": ["plumbing"],
                "shift": "08:00-12:00",
                "quiet_hours": "06:00-18:00",
                "see_push": 1,
                "board_per_hour": 12,
                "claim_delay_minutes": 2,
            }
        ],
    }
    scenario = parse(raw, "board")
    claimed = []
    for policy in ("seed", "product"):
        outcome = Simulation(scenario, policy_spec(policy, BUILTIN_POLICIES[policy])).run()
        f = figures(policy, outcome)
        assert f.claimed == 1 and f.helper_notifications_per_hour == 0.0
        assert outcome.events["noticed on the board"] == 1
        assert not outcome.events["noticed by push"] and not outcome.helpers[0].heard
        claimed.append(f.minutes_to_claim)
    assert claimed[0] == claimed[1]  # the same look under both policies
    # with nobody looking at the board, nobody claims
    quiet = replace(scenario, helpers=(replace(scenario.helpers[0], board_per_hour=0.0),))
    spec = policy_spec("product", {})
    assert figures("p", Simulation(quiet, spec).run()).claimed == 0


def test_the_sim_stores_indexes_change_no_figure(monkeypatch):
    """The simulation's ports keep targets per request, cache the directory and sweep only
    requests that may still change (the
    fake would be quadratic in a day's requests): the same day on the fake's own scans gives
    exactly the same figures."""
    scenario = load(ROOT / "scenarios" / "evening.toml")
    spec = policy_spec("product", BUILTIN_POLICIES["product"], {"ESCALATION_MINUTES": 3})
    indexed = Simulation(scenario, spec).run()
    assert not indexed.stores.requests.unsettled - {  # every request that ended settled was dropped
        rid for rid, d in indexed.docs.requests.items() if d["status"] in engine.OPEN
    }

    class ScanningRequests(engine.SimRequests):
        def sweepable(self):
            return FakeRequests.sweepable(self)

    class ScanningDispatch(engine.SimDispatch):
        def round_targets(self, request_id):
            return FakeDispatch.round_targets(self, request_id)

        def directory(self):
            return FakeDispatch.directory(self)

    monkeypatch.setattr(engine, "SimRequests", ScanningRequests)
    monkeypatch.setattr(engine, "SimDispatch", ScanningDispatch)
    scanned = Simulation(scenario, spec).run()
    assert isinstance(scanned.stores.dispatch, ScanningDispatch)
    assert figures("p", scanned) == figures("p", indexed)
    assert scanned.docs.collections == indexed.docs.collections
    assert figures("p", indexed).claimed > 50


def test_the_simulation_runs_the_services_code(monkeypatch):
    calls: dict[str, int] = {}

    def spy(module, name):
        real = getattr(module, name)

        def counted(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    for module, name in [
        (payments, "create_request"),
        (claims, "claim_request"),
        (sessions, "start_session"),
        (sessions, "end_session"),
        (sweeps, "sweep_stale_requests"),
        (sweeps, "sweep_stale_claims"),
        (reactions, "request_updated"),
        (reactions, "run_round"),
    ]:
        spy(module, name)
    _run("product")
    assert calls["create_request"] == 3 and calls["claim_request"] == 3
    assert calls["run_round"] == 7  # every round of the day, sent by the triggers' code
    assert calls["sweep_stale_requests"] > 60 and calls["request_updated"] > 10

    # the rules are the lifecycle's: make claiming impossible there, and nobody claims here
    def refuse(*args, **kwargs):
        raise lifecycle.InvalidTransition("claims are closed")

    monkeypatch.setattr(claims, "plan_claim", refuse)
    _, f = _run("product")
    assert f.claimed == 0 and f.expiry_rate == 1.0


def test_the_engine_holds_no_rule_of_its_own():
    source = (ROOT / "tools" / "marketsim" / "engine.py").read_text()
    assert "homepro.domain.lifecycle" not in source and "plan_" not in source
    assert ".requests[request_id][" not in source  # it reads requests, never writes them
    assert ".apply(" not in source


def test_bad_scenarios_and_parameters_name_the_problem(tmp_path):
    with pytest.raises(ScenarioError, match=r"demand.per_hour"):
        parse({"demand": {"per_hour": [1, 2]}, "helpers": [{"count": 1}]})
    with pytest.raises(ScenarioError, match=r"helpers\[0\].claim_delay_minutes"):
        parse({"helpers": [{"count": 1}]})
    with pytest.raises(ScenarioError, match=r"helpers\[0\].see_push"):
        parse({"helpers": [{"count": 1, "claim_delay_minutes": 2, "see_push": 2}]})
    with pytest.raises(ValueError, match="ESCALATION_MINUTES: must be a whole number"):
        policy_spec("x", {"ESCALATION_MINUTES": "soon"})
    with pytest.raises(ValueError, match=r"NOPE: not a parameter \(known: .*FATIGUE"):
        policy_spec("x", {"NOPE": 1})
    with pytest.raises(ValueError, match=r"FATIGUE: must be 1 \(on\) or 0 \(off\)"):
        policy_spec("x", {"FATIGUE": "2"})
    assert not policy_spec("x", {"FATIGUE": "0"}).fatigue and policy_spec("x", {}).fatigue
    with pytest.raises(ScenarioError, match=r"helpers\[0\]\.see_board: replaced by board_per_hour"):
        parse({"helpers": [{**HELPER, "see_board": 0.1}]})
    with pytest.raises(ScenarioError, match=r"helpers\[0\]\.board_per_hour: must be a number >= 0"):
        parse({"helpers": [{**HELPER, "board_per_hour": -1}]})
    app, no_app = parse({"helpers": [HELPER, {**HELPER, "name": "sms", "devices": 0}]}).helpers
    assert (app.board_per_hour, no_app.board_per_hour) == (1.0, 0.0)  # no app, no board
    assert simulate.main([str(TINY), "--set", "NOPE=1"]) == 2
    assert simulate.main([str(TINY), "--policy", "mystery"]) == 2


HELPER = {"count": 1, "claim_delay_minutes": 2}


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"helpers": [{**HELPER, "see_psuh": 0.2}]}, r"helpers\[0\]\.see_psuh: unknown key"),
        ({"helpers": [HELPER], "customer": {}}, r"^customer: unknown key"),
        ({"helpers": [HELPER], "demand": {"mutliplier": 2}}, r"demand\.mutliplier: unknown"),
        ({"helpers": [HELPER], "customers": {"pool": 0}}, r"customers\.pool: .* >= 1"),
        ({"helpers": [HELPER], "seed": "abc"}, r"^seed: must be a whole number"),
        ({"helpers": [HELPER], "demand": {"multiplier": -1}}, r"demand\.multiplier: .* >= 0"),
        ({"helpers": [HELPER], "arrivals": [{"at": "09:00", "kind": "x"}]}, r"arrivals\[0\]"),
    ],
)
def test_a_misspelt_key_or_bad_value_stops_the_run_naming_it(raw, named):
    """A typo must not quietly run on a default (see_push 0.8 instead of 0.2)."""
    with pytest.raises(ScenarioError, match=named):
        parse(raw)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (3.7, "ESCALATION_MINUTES: must be a whole number >= 0, not 3.7"),  # not truncated to 3
        (True, "ESCALATION_MINUTES: must be a whole number >= 0, not True"),
    ],
)
def test_parameters_from_a_scenario_are_whole_minutes(value, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        policy_spec("x", {"ESCALATION_MINUTES": value})


def test_a_timeout_of_zero_is_refused_and_zero_turns_escalation_off():
    with pytest.raises(ValueError, match="PENDING_TIMEOUT_MINUTES: must be a whole number >= 1"):
        policy_spec("x", {"PENDING_TIMEOUT_MINUTES": 0})
    assert policy_spec("x", {"ESCALATION_MINUTES": "0"}).policy.escalation_minutes == 0
    scenario = load(TINY)
    with pytest.raises(ValueError, match=r"^--policy product: ESCALATION: must be KEY=VALUE"):
        simulate.resolve(scenario, "product:ESCALATION", {})


def test_the_cli_prints_a_table_and_draws_the_chart(tmp_path, capsys):
    assert simulate.main([str(TINY), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "seed" in printed and "product" in printed and "33.3 %" in printed
    png = tmp_path / "tiny.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit) as shown:
        simulate.main(["--help"])
    assert shown.value.code == 0


def test_a_variant_and_a_global_override_combine():
    scenario = replace(load(TINY), policies={"eager": {"SMS_FROM_ROUND": 1}})
    spec = simulate.resolve(scenario, "eager:ESCALATION_MINUTES=3", {"MAX_RELEASES": "2"})
    assert spec.policy.sms_from_round == 1 and spec.policy.escalation_minutes == 3
    assert spec.policy.max_releases == 2 and spec.sweep_every_minutes == 1 and spec.fatigue
    spec = simulate.resolve(scenario, "product", {"FATIGUE": "0"})  # --set FATIGUE=0
    assert spec.name == "product FATIGUE=0" and not spec.fatigue
    assert not simulate.resolve(scenario, "product:FATIGUE=0", {}).fatigue


def test_a_shift_until_midnight_is_one_evening_interval():
    from datetime import date, time
    from zoneinfo import ZoneInfo

    from marketsim.engine import shifts_of

    group = replace(load(TINY).helpers[0], shift=(time(15), time(0)))
    ((start, end),) = shifts_of(group, date(2026, 3, 10), ZoneInfo("UTC"))
    assert (start.hour, end.day, end.hour) == (15, 11, 0)
