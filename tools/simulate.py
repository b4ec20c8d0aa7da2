"""`make simulate`: a marketplace day on the real services, under several policies.

A discrete-event simulation (virtual clock, no sleeping) that drives the same dispatch, claim,
release, expiry, escalation and session code the functions run, with the package's fakes
(`homepro.testing`) for Firestore, push, SMS and Stripe. For each policy it prints the share of
requests claimed within 15 minutes, time to claim p50 / p90 / p99, expiry and cancellation
rates, pushes and SMS per request and new-request notifications per on-shift helper hour, and
draws the time-to-claim curves with the 15-minute line (PNG). Seeded: the same seed gives the
same figures.

Policies: `seed` (the customer's sketch: one round at creation, no escalation, no SMS, a released
claim not dispatched again, sweeps every 5 minutes), `broadcast` (the first build's product:
every round to every matching helper, every 5 minutes), `product` (the defaults: waves of
WAVE_FIRST helpers, WAVE_GROWTH more each round every ESCALATION_MINUTES, at most
MAX_JOB_ALERTS_PER_HOUR alerts a helper, a text instead of the push to who gave a phone from
TEXT_FROM_ROUND, a request late past LATE_AFTER_MINUTES yielding to newer ones, re-dispatch on
release, sweeps every minute), any `[policies.NAME]` of the
scenario, and variants `NAME:KEY=VALUE,KEY=VALUE`.

Parameters: the product's (PENDING_TIMEOUT_MINUTES, CLAIM_TIMEOUT_MINUTES, MAX_RELEASES,
ESCALATION_MINUTES, JOIN_TIMEOUT_MINUTES, SMS_FROM_ROUND, TEXT_FROM_ROUND, REDISPATCH_ON_RELEASE,
MAX_CLAIMS_PER_HELPER, MAX_TEXTS_PER_PHONE_PER_HOUR, WAVE_FIRST, WAVE_GROWTH,
MAX_JOB_ALERTS_PER_HOUR, LATE_AFTER_MINUTES) and the simulation's own:
  SWEEP_EVERY_MINUTES  both sweeps' schedule (default 1)
  FATIGUE              1 (default): the chance a helper acts on a new-job notification is the
                       scenario's chance x 1 / (1 + n / 20), n = the new-job notifications they
                       received in the 60 minutes before; 0: no fatigue (the figures of before)
People also look at the job board by themselves (`board_per_hour` of each helper group, the same
under every policy) and act on an open job there with their push chance, without fatigue.
`--set` applies to every policy run, after its variant: `--policy product --set FATIGUE=0`; or
side by side: `--policy product --policy product:FATIGUE=0`.

examples:
  make simulate                                          # the three shipped scenarios
  make simulate ARGS="scenarios/weekday.toml --policy product --set ESCALATION_MINUTES=3"
  make simulate ARGS="scenarios/storm.toml --policy seed --policy product:ESCALATION_MINUTES=3"
  make simulate ARGS="--seeds 3 --policy product --policy product:FATIGUE=0"
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from marketsim.engine import BUILTIN_POLICIES, PolicySpec, Simulation, policy_spec
from marketsim.results import Figures, chart, figures, pooled, promise_line, table
from marketsim.scenario import Scenario, ScenarioError, load

ROOT = Path(__file__).resolve().parent.parent

SHIPPED = ("weekday", "evening", "storm")


def scale(scenario: Scenario, demand: float, helpers: float) -> Scenario:
    """The scenario with its demand and every helper group's size multiplied."""
    groups = tuple(replace(g, count=round(g.count * helpers)) for g in scenario.helpers)
    return replace(scenario, multiplier=scenario.multiplier * demand, helpers=groups)


def parse_overrides(items: list[str], where: str = "--set") -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{where} {item}: must be KEY=VALUE")
        found[key.strip().upper()] = value.strip()
    return found


def resolve(scenario: Scenario, name: str, overrides: dict[str, str]) -> PolicySpec:
    """`NAME` or `NAME:KEY=VALUE,…`: a built-in or scenario policy, its variant, then --set."""
    base, _, variant = name.partition(":")
    layers: list[dict[str, Any]] = []
    if base in BUILTIN_POLICIES:
        layers.append(BUILTIN_POLICIES[base])
    if base in scenario.policies:
        layers.append(scenario.policies[base])
    if not layers:
        known = sorted({*BUILTIN_POLICIES, *scenario.policies})
        raise ValueError(f"--policy {base}: unknown (known: {', '.join(known)})")
    if variant:
        layers.append(parse_overrides(variant.split(","), f"--policy {base}:"))
    layers.append(overrides)
    label = (
        name if not overrides else f"{name} " + ",".join(f"{k}={v}" for k, v in overrides.items())
    )
    return policy_spec(label, *layers)


def run(
    scenario: Scenario, specs: list[PolicySpec], seed: int, seeds: int
) -> list[tuple[Figures, float, int]]:
    """Each policy on the same `seeds` days (seed, seed + 1, …); per policy the pooled figures,
    the seconds a simulated day took (the slowest), and the error lines logged."""
    rows = []
    for spec in specs:
        days, slowest, errors = [], 0.0, 0
        for n in range(seeds):
            started = time.perf_counter()
            outcome = Simulation(scenario, spec, seed + n).run()
            slowest = max(slowest, time.perf_counter() - started)
            errors += outcome.log_errors
            days.append(figures(spec.name, outcome))
        rows.append((pooled(days), slowest, errors))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make simulate ARGS=…",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        type=Path,
        help="scenario files (TOML); default: scenarios/{weekday,evening,storm}.toml",
    )
    parser.add_argument(
        "--policy",
        action="append",
        help="a policy to run (repeatable; default: seed and product)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter for every policy run, e.g. ESCALATION_MINUTES=3 or FATIGUE=0",
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--demand", type=float, default=1.0, help="multiply the scenario's demand (e.g. 1.2)"
    )
    parser.add_argument(
        "--helpers", type=float, default=1.0, help="multiply every helper group's size (e.g. 1.5)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="simulate N days (seed, seed+1, …) per policy and report their mean and range",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / ".cache" / "simulate", help="where the PNGs go"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    paths = args.scenarios or [ROOT / "scenarios" / f"{name}.toml" for name in SHIPPED]
    try:
        overrides = parse_overrides(args.set)
        if args.demand <= 0 or args.helpers <= 0:
            raise ValueError("--demand and --helpers: must be > 0")
        scenarios = [scale(load(path), args.demand, args.helpers) for path in paths]
        plans = [
            (s, [resolve(s, name, overrides) for name in (args.policy or ["seed", "product"])])
            for s in scenarios
        ]
    except (ScenarioError, ValueError, OSError) as err:
        print(f"simulate: {err}", file=sys.stderr)
        return 2
    everything: dict[str, Any] = {}
    for scenario, specs in plans:
        seed = scenario.seed if args.seed is None else args.seed
        rows = run(scenario, specs, seed, max(1, args.seeds))
        seeds = f"seed {seed}" if args.seeds <= 1 else f"seeds {seed}..{seed + args.seeds - 1}"
        title = f"{scenario.name} ({scenario.day}, {seeds}): {scenario.description}"
        png = args.out / f"{scenario.name}.png"
        chart(f"Time to claim — {scenario.name}", [f for f, _, _ in rows], png)
        if args.json:
            everything[scenario.name] = [f.row() | {"seconds": round(s, 2)} for f, s, _ in rows]
            continue
        print(table(title, [f for f, _, _ in rows]))
        for f, elapsed, errors in rows:
            note = f", {errors} error lines logged" if errors else ""
            print(f"  {f.policy}: a simulated day took {elapsed:.1f} s{note}")
        for f, _, _ in rows:
            print(promise_line(f))
        print(f"  chart: {png}\n")
    if args.json:
        print(json.dumps(everything, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
