"""Scenario files (TOML): who asks for help when, who answers, how people behave.

See docs/simulation.md for the format; `load` reads one and says what is wrong with it.
"""

from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CATEGORIES = ("plumbing", "electrical", "hvac", "appliance", "carpentry", "general")


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the key."""


@dataclass(frozen=True)
class Distribution:
    """Minutes: `fixed` (value), `uniform` (low, high), `exponential` (mean),
    `lognormal` (median, sigma)."""

    kind: str
    a: float
    b: float = 0.0

    def draw(self, rng: random.Random) -> float:
        match self.kind:
            case "fixed":
                return self.a
            case "uniform":
                return rng.uniform(self.a, self.b)
            case "exponential":
                return rng.expovariate(1 / self.a) if self.a > 0 else 0.0
            case _:
                return self.a * math.exp(self.b * rng.gauss(0.0, 1.0))


@dataclass(frozen=True)
class HelperGroup:
    name: str
    count: int
    categories: tuple[str, ...]  # empty: every category
    shift: tuple[time, time]  # local; end before start wraps midnight
    devices: int
    phone: bool
    quiet_hours: tuple[str, str] | None
    see_push: float
    see_sms: float
    board_per_hour: float  # looks at the job board an on-shift hour, unprompted
    claim_delay: Distribution
    abandon: float
    start_delay: Distribution


@dataclass(frozen=True)
class Customers:
    pool: int
    cancel_while_waiting: float
    patience: Distribution
    no_join: float
    join_delay: Distribution
    session: Distribution
    resolved: float


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    day: date
    timezone: str
    seed: int
    per_hour: tuple[float, ...]  # requests per local hour, 24 values
    multiplier: float
    categories: dict[str, float]  # shares, summing to 1
    customers: Customers
    helpers: tuple[HelperGroup, ...]
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    # requests at fixed local times (in addition to the random ones of `per_hour`)
    scheduled: tuple[tuple[time, str], ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def expected_requests(self) -> float:
        return sum(self.per_hour) * self.multiplier + len(self.scheduled)


# The keys each table may hold: any other is a typo, and running on a default would mislead.
TOP_KEYS = {"name", "description", "date", "timezone", "seed"}
TOP_KEYS |= {"demand", "customers", "helpers", "arrivals", "policies"}
DEMAND_KEYS = {"per_hour", "multiplier", "categories"}
CUSTOMER_KEYS = {"pool", "cancel_while_waiting", "patience_minutes", "no_join"}
CUSTOMER_KEYS |= {"join_delay_minutes", "session_minutes", "resolved"}
HELPER_KEYS = {"name", "count", "categories", "shift", "devices", "phone", "quiet_hours"}
HELPER_KEYS |= {"see_push", "see_sms", "board_per_hour", "claim_delay_minutes", "abandon"}
HELPER_KEYS |= {"start_delay_minutes"}

# How often an on-shift helper with the app looks at the job board unprompted, if the group does
# not say: once an hour. Deliberately low: most helpers are on a job site (they act on 12-15 % of
# pushes), and the board must not do the work of the policies it is the same for. A helper
# without the app (`devices = 0`) has no board.
BOARD_PER_HOUR = 1.0
ARRIVAL_KEYS = {"at", "category"}


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _known(table: Any, keys: set[str], where: str) -> dict[str, Any]:
    """`table`, if it is a table of only `keys`."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where or 'scenario'}: must be a table")
    unknown = sorted(set(table) - keys)
    if unknown:
        known = ", ".join(sorted(keys))
        raise ScenarioError(f"{_path(where, unknown[0])}: unknown key (known: {known})")
    return table


def _number(table: dict[str, Any], key: str, where: str, default: float, least: float) -> float:
    value = _get(table, key, where, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
        raise ScenarioError(f"{_path(where, key)}: must be a number >= {least:g}")
    return float(value)


def _whole(table: dict[str, Any], key: str, where: str, default: int, least: int) -> int:
    value = _get(table, key, where, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ScenarioError(f"{_path(where, key)}: must be a whole number >= {least}")
    return value


def _get(table: dict[str, Any], key: str, where: str, default: Any = ...) -> Any:
    if key in table:
        return table[key]
    if default is ...:
        raise ScenarioError(f"{_path(where, key)}: is required")
    return default


def _share(table: dict[str, Any], key: str, where: str, default: float) -> float:
    value = _get(table, key, where, default)
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ScenarioError(f"{where}.{key}: must be a probability between 0 and 1")
    return float(value)


def _distribution(table: dict[str, Any], key: str, where: str, default: Any = ...) -> Distribution:
    spec = _get(table, key, where, default)
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, int | float):
        return Distribution("fixed", float(spec))
    if not isinstance(spec, dict):
        raise ScenarioError(f"{where}.{key}: must be minutes or a table with dist = …")
    kind = spec.get("dist", "fixed")
    params = {
        "fixed": ("value",),
        "uniform": ("low", "high"),
        "exponential": ("mean",),
        "lognormal": ("median", "sigma"),
    }.get(kind)
    if params is None:
        raise ScenarioError(f"{where}.{key}.dist: must be fixed, uniform, exponential or lognormal")
    values = []
    for name in params:
        value = spec.get(name)
        if not isinstance(value, int | float) or value < 0:
            raise ScenarioError(f"{where}.{key}.{name}: must be a number of minutes >= 0")
        values.append(float(value))
    if kind == "uniform" and values[0] > values[1]:
        raise ScenarioError(f"{where}.{key}: low must not exceed high")
    return Distribution(kind, *values)


def _clock(text: Any, where: str) -> time:
    if str(text) == "24:00":  # the end of the day: the shift ends at midnight
        return time(0)
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise ScenarioError(f"{where}: must be HH:MM") from None


def _window(text: Any, where: str) -> tuple[str, str]:
    parts = str(text).split("-")
    if len(parts) != 2:
        raise ScenarioError(f"{where}: must be HH:MM-HH:MM")
    start, end = (_clock(part.strip(), where) for part in parts)
    return start.strftime("%H:%M"), end.strftime("%H:%M")


def _helpers(raw: Any) -> tuple[HelperGroup, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("helpers: at least one [[helpers]] group is required")
    groups = []
    names: set[str] = set()
    for n, table in enumerate(raw):
        where = f"helpers[{n}]"
        if isinstance(table, dict) and "see_board" in table:  # its meaning changed: say so
            raise ScenarioError(
                f"{where}.see_board: replaced by board_per_hour (looks at the board an on-shift"
                " hour; a job seen there is acted on with the see_push chance)"
            )
        _known(table, HELPER_KEYS, where)
        name = str(_get(table, "name", where, f"group-{n}"))
        if name in names:
            raise ScenarioError(f"{where}.name: {name} is used twice")
        names.add(name)
        categories = tuple(_get(table, "categories", where, []))
        unknown = sorted(set(categories) - set(CATEGORIES))
        if unknown:
            raise ScenarioError(f"{where}.categories: unknown {unknown}")
        count = _get(table, "count", where)
        devices = _get(table, "devices", where, 1)
        if not isinstance(count, int) or count < 0 or not isinstance(devices, int) or devices < 0:
            raise ScenarioError(f"{where}: count and devices must be whole numbers >= 0")
        start, end = _window(_get(table, "shift", where, "00:00-00:00"), f"{where}.shift")
        quiet = table.get("quiet_hours") or None
        groups.append(
            HelperGroup(
                name=name,
                count=count,
                categories=categories,
                shift=(_clock(start, where), _clock(end, where)),
                devices=devices,
                phone=bool(_get(table, "phone", where, False)),
                quiet_hours=_window(quiet, f"{where}.quiet_hours") if quiet else None,
                see_push=_share(table, "see_push", where, 0.8),
                see_sms=_share(table, "see_sms", where, 0.9),
                board_per_hour=_number(
                    table, "board_per_hour", where, BOARD_PER_HOUR if devices else 0.0, 0
                ),
                claim_delay=_distribution(table, "claim_delay_minutes", where),
                abandon=_share(table, "abandon", where, 0.0),
                start_delay=_distribution(table, "start_delay_minutes", where, 2),
            )
        )
    return tuple(groups)


def parse(raw: dict[str, Any], name: str = "scenario") -> Scenario:
    """A scenario from its TOML tables; ScenarioError names the first bad key."""
    _known(raw, TOP_KEYS, "")
    demand = _known(_get(raw, "demand", "", {}), DEMAND_KEYS, "demand")
    per_hour = _get(demand, "per_hour", "demand", [0] * 24)
    if (
        not isinstance(per_hour, list)
        or len(per_hour) != 24
        or not all(isinstance(v, int | float) and v >= 0 for v in per_hour)
    ):
        raise ScenarioError("demand.per_hour: must be 24 numbers >= 0 (requests per local hour)")
    mix = dict(_get(demand, "categories", "demand", dict.fromkeys(CATEGORIES, 1)))
    unknown = sorted(set(mix) - set(CATEGORIES))
    if unknown or not mix or any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise ScenarioError(f"demand.categories: shares >= 0 of {', '.join(CATEGORIES)}")
    total = float(sum(mix.values()))
    customers = _known(_get(raw, "customers", "", {}), CUSTOMER_KEYS, "customers")
    timezone = str(_get(raw, "timezone", "", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScenarioError(f"timezone: {timezone} is not a time zone") from None
    try:
        day = date.fromisoformat(str(_get(raw, "date", "", "2026-03-10")))
    except ValueError:
        raise ScenarioError("date: must be YYYY-MM-DD") from None
    policies = raw.get("policies", {})
    if not isinstance(policies, dict) or not all(isinstance(v, dict) for v in policies.values()):
        raise ScenarioError("policies: must be tables [policies.NAME] of PARAMETER = value")
    scheduled = []
    for n, table in enumerate(raw.get("arrivals", [])):
        where = f"arrivals[{n}]"
        _known(table, ARRIVAL_KEYS, where)
        category = _get(table, "category", where)
        if category not in CATEGORIES:
            raise ScenarioError(f"{where}.category: must be one of {', '.join(CATEGORIES)}")
        scheduled.append((_clock(_get(table, "at", where), f"{where}.at"), str(category)))
    return Scenario(
        scheduled=tuple(scheduled),
        name=str(raw.get("name", name)),
        description=str(raw.get("description", "")),
        day=day,
        timezone=timezone,
        seed=_whole(raw, "seed", "", 1, 0),
        per_hour=tuple(float(v) for v in per_hour),
        multiplier=_number(demand, "multiplier", "demand", 1.0, 0),
        categories={k: v / total for k, v in sorted(mix.items()) if v > 0},
        customers=Customers(
            pool=_whole(customers, "pool", "customers", 400, 1),
            cancel_while_waiting=_share(customers, "cancel_while_waiting", "customers", 0.0),
            patience=_distribution(customers, "patience_minutes", "customers", 20),
            no_join=_share(customers, "no_join", "customers", 0.0),
            join_delay=_distribution(customers, "join_delay_minutes", "customers", 1),
            session=_distribution(customers, "session_minutes", "customers", 25),
            resolved=_share(customers, "resolved", "customers", 0.85),
        ),
        helpers=_helpers(raw.get("helpers")),
        policies={k: dict(v) for k, v in policies.items()},
    )


def load(path: Path) -> Scenario:
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: {err}") from None
    return parse(raw, path.stem)
