"""The discrete-event simulation: a virtual clock, an event queue, and the real services.

Every rule is the product's own code, called as the functions call it: `payments.create_request`
and `cancel_request`, `claims.claim_request` and `set_availability`, `sessions.start_session`,
`join_session`, `end_session`, the two sweeps (`sweeps.sweep_stale_requests`,
`sweep_stale_claims`) on their schedule, and after every write of a request the triggers' code
(`reactions`: dispatch rounds, escalations, notifications, analytics). Firestore, Stripe and the
video provider are the package's fakes (`homepro.testing`); push and SMS are fakes that tell the
simulation who was notified. Only people are modelled here: when a helper sees a notification,
how long they take to claim, whether they abandon a claim, whether a customer gives up or never
joins.

Randomness is drawn per decision from a generator seeded by the run's seed and the decision's
identity (request, helper, round), so a run is reproducible, and two policies face the same
people: the same arrivals, the same helper who notices the same round of the same request.

Three things about people are fixed here (issue 17), so that no policy is tuned against them:
fatigue (a helper who has heard of many new jobs in the last hour acts on the next one less
often: `fatigue_factor`), the job board, which every on-shift helper looks at by themselves
at their group's `board_per_hour`, whatever the policy sends (`_look`), and walk-aways: each
customer asks the product's `quote_wait` before paying and, shown over 15 minutes, leaves with
probability 0.5 (`_walks_away`).
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from homepro.adapters.documents import DocumentInbox
from homepro.domain.errors import Conflict, HomeProError
from homepro.domain.jobs import JOBS
from homepro.domain.models import (
    Actor,
    CancelRequestInput,
    Category,
    CreateRequestInput,
    Device,
    EndSessionInput,
    QuoteWaitInput,
    RequestDoc,
    RequestRef,
    Role,
    SessionRef,
    SetAvailabilityInput,
    StartSessionInput,
    UserDoc,
)
from homepro.domain.notifications import Notification, NotificationType
from homepro.domain.outbox import DRAIN_QUEUE
from homepro.domain.policy import AbuseLimits, Policy
from homepro.domain.sessions import DEFAULT_CHECKLISTS
from homepro.domain.states import TERMINAL_REQUEST_STATES
from homepro.logs import LOGGER
from homepro.services import claims, payments, quotes, sessions, sweeps
from homepro.services.context import Context, Tuning
from homepro.services.drain import OutboxBusy, drain_task
from homepro.services.ports import PushMessage, PushResult
from homepro.services.settlements import SETTLE_QUEUE, SettlementPending, settle_task
from homepro.services.stores import Admitter, Stores
from homepro.services.timers import TIMER_QUEUE, run_timer
from homepro.testing import (
    FakeClock,
    FakeDispatch,
    FakeDocuments,
    FakePayments,
    FakeQuotes,
    FakeRequests,
    FakeVideo,
    fake_stores,
)
from marketsim.scenario import HelperGroup, Scenario
from marketsim.tasks import SimTasks
from marketsim.triggers import Triggers

# `--set` names (the deploy-time parameters) -> Policy fields.
PARAMETERS: dict[str, str] = {
    "PENDING_TIMEOUT_MINUTES": "pending_timeout_minutes",
    "CLAIM_TIMEOUT_MINUTES": "claim_timeout_minutes",
    "MAX_RELEASES": "max_releases",
    "ESCALATION_MINUTES": "escalation_minutes",
    "JOIN_TIMEOUT_MINUTES": "join_timeout_minutes",
    "SMS_FROM_ROUND": "sms_from_round",
    "TEXT_FROM_ROUND": "text_from_round",
    "REDISPATCH_ON_RELEASE": "redispatch_on_release",
    "MAX_CLAIMS_PER_HELPER": "max_claims_per_helper",
    "MAX_TEXTS_PER_PHONE_PER_HOUR": "max_texts_per_phone_per_hour",
    "WAVE_FIRST": "wave_first",
    "WAVE_GROWTH": "wave_growth",
    "LATE_AFTER_MINUTES": "late_after_minutes",
    "MAX_JOB_ALERTS_PER_HOUR": "max_job_alerts_per_hour",
}
SWEEP_EVERY = "SWEEP_EVERY_MINUTES"  # the schedule of both sweeps (production: every minute)
FATIGUE = "FATIGUE"  # 1 (the default): helpers tire of new-job notifications; 0: they never do
# The simulation's own parameters (not the product's): the sweeps' schedule and people's fatigue.
SIMULATION_KEYS = (SWEEP_EVERY, FATIGUE)
# The parameters 0 turns off; every other (a timeout, a limit, the schedule) is at least 1.
OFF_AT_ZERO = frozenset(
    {"ESCALATION_MINUTES", "SMS_FROM_ROUND", "TEXT_FROM_ROUND", "WAVE_FIRST"}
    | {"MAX_JOB_ALERTS_PER_HOUR", "LATE_AFTER_MINUTES"}
)

# The seed's behaviour in the product's parameters: one round at creation to every matching
# helper, no escalation, no SMS, a released claim not sent again, releases without limit, sweeps
# every 5 minutes. `broadcast`: the first build's product (a round every 5 minutes to every
# matching helper, busy or not, no alert budget, no texts to helpers with the app, a late
# request asking as much as any);
# `product`: the defaults (waves, which text who gave a phone).
BUILTIN_POLICIES: dict[str, dict[str, Any]] = {
    "seed": {
        "WAVE_FIRST": 0,
        "ESCALATION_MINUTES": 0,
        "SMS_FROM_ROUND": 0,
        "REDISPATCH_ON_RELEASE": False,
        "MAX_RELEASES": 1000,
        "LATE_AFTER_MINUTES": 0,
        SWEEP_EVERY: 5,
    },
    # (texts capped as they were then: the product's cap rose with the waves' texts)
    "broadcast": {
        "WAVE_FIRST": 0,
        "ESCALATION_MINUTES": 5,
        "MAX_TEXTS_PER_PHONE_PER_HOUR": 12,
        "LATE_AFTER_MINUTES": 0,
    },
    "product": {},
}
DRAIN_HOURS = 3  # after the day, the clock runs on until every request has ended (at most)
OPEN = {"pending", "claimed", "in_session"}
# Events of the queue that are no person's business with a request: a day with only these left
# is over (shifts changing, helpers glancing at an empty board).
BACKGROUND = ("0-shift", "0-look")

# Fatigue, fixed by issue 17 (not a knob to tune): the chance a helper acts on a new-job
# notification is the scenario's chance x 1 / (1 + n / FATIGUE_HALF_AT), n being the new-job
# notifications that helper received in the FATIGUE_WINDOW before it (at n = 20 the chance halves).
FATIGUE_HALF_AT = 20
FATIGUE_WINDOW = timedelta(minutes=60)

# Issue 17 item 3: before paying, each customer asks the product for the wait (`quote_wait`, at
# the simulated time, on the simulation's database); shown an expected wait over
# WALK_AWAY_OVER_MINUTES they walk away with WALK_AWAY_CHANCE (their own draw), and count as not
# served. Fixed here, like fatigue, so that no estimator is tuned against them.
WALK_AWAY_OVER_MINUTES = 15
WALK_AWAY_CHANCE = 0.5


def fatigue_factor(n: int) -> float:
    """What `n` new-job notifications in the last hour leave of the chance to act on the next
    one: 1 / (1 + n / 20) (n = 0: x 1; n = 8: x 0.71; n = 37: x 0.35)."""
    return 1 / (1 + n / FATIGUE_HALF_AT)


@dataclass(frozen=True)
class PolicySpec:
    name: str
    policy: Policy
    sweep_every_minutes: int
    parameters: Mapping[str, Any]
    fatigue: bool = True  # FATIGUE (the simulation's, not the product's)


def parse_value(name: str, value: Any) -> Any:
    if name == FATIGUE:
        text = str(value).strip().lower()
        if text not in {"1", "0", "true", "false"}:
            raise ValueError(f"{name}: must be 1 (on) or 0 (off), not {value!r}")
        return text in {"1", "true"}
    if name == "REDISPATCH_ON_RELEASE":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in {"true", "false", "1", "0"}:
            raise ValueError(f"{name}: must be true or false")
        return text in {"true", "1"}
    least = 0 if name in OFF_AT_ZERO else 1
    if isinstance(value, bool | float):  # TOML: true, 3.7 are not minutes
        raise ValueError(f"{name}: must be a whole number >= {least}, not {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a whole number >= {least}, not {value!r}") from None
    if number < least:
        off = " (0 turns it off)" if least == 0 else ""
        raise ValueError(f"{name}: must be a whole number >= {least}{off}")
    return number


# The simulated customers are honest and stand for many households each (a pool of a few hundred
# accounts makes a day of thousands of requests): the abuse limits, which bound one account or
# one address, are not what the simulation measures.
UNLIMITED = 10**9
HONEST_MARKET = AbuseLimits(*(UNLIMITED,) * 6)


def policy_spec(name: str, *layers: Mapping[str, Any]) -> PolicySpec:
    """A policy from the defaults and layers of parameters (later layers win)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key not in PARAMETERS and key not in SIMULATION_KEYS:
                known = ", ".join([*PARAMETERS, *SIMULATION_KEYS])
                raise ValueError(f"{key}: not a parameter (known: {known})")
            merged[key] = parse_value(key, value)
    fields = {PARAMETERS[k]: v for k, v in merged.items() if k in PARAMETERS}
    policy = Policy(**fields, abuse=HONEST_MARKET)
    sweep_every = int(merged.get(SWEEP_EVERY, 1))
    return PolicySpec(name, policy, sweep_every, merged, bool(merged.get(FATIGUE, True)))


def stable_rng(*key: object) -> random.Random:
    """A generator for one decision, seeded by its identity (sha512 of the text: stable)."""
    return random.Random(":".join(str(part) for part in key))


@dataclass
class Helper:
    uid: str
    group: HelperGroup
    tokens: tuple[str, ...]
    phone: str | None
    shifts: list[tuple[datetime, datetime]]
    busy_with: str | None = None
    considered: set[str] = field(default_factory=set)
    shift_seconds: float = 0.0
    on_duty: bool = False
    # when each new-job notification reached them (a push to a device or an SMS; one a round),
    # the last FATIGUE_WINDOW's worth
    heard: deque[datetime] = field(default_factory=deque)
    told: list[datetime] = field(default_factory=list)  # every one of them, for the figures

    def heard_recently(self, now: datetime) -> int:
        """New-job notifications received in the FATIGUE_WINDOW before `now`."""
        while self.heard and self.heard[0] <= now - FATIGUE_WINDOW:
            self.heard.popleft()
        return len(self.heard)

    def serves(self, category: str) -> bool:
        return not self.group.categories or category in self.group.categories


@dataclass
class Outcome:
    """What one run produced: the database (to report on) and the people's side of it."""

    docs: FakeDocuments
    stores: Stores
    window: tuple[datetime, datetime]
    helpers: list[Helper]
    arrivals: int
    log_errors: int
    events: Counter[str] = field(default_factory=Counter)


# The fakes' ports, with the lookups Firestore answers from an index kept as indexes here too,
# so that a day of thousands of requests is not quadratic in the fake.


class SimRequests(FakeRequests):
    """The sweeps look only through requests that may still change."""

    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self.unsettled: set[str] = set()

    def create_request(
        self,
        request_id: str,
        data: Mapping[str, Any],
        now: datetime,
        admit: Admitter | None = None,
    ) -> tuple[RequestDoc, bool]:
        self.unsettled.add(request_id)
        return super().create_request(request_id, data, now, admit)

    def sweepable(self) -> Iterator[tuple[str, dict[str, Any]]]:
        # A request that ended with nothing owed (nor a hold waiting for an admin) never
        # changes again in a simulated day (no refunds, no webhooks, nobody edits it): no sweep
        # can match it, so it is dropped from the look-through the first time it is seen so.
        for request_id in list(self.unsettled):  # the queries sort what they find
            data = self.docs.requests[request_id]
            settled = not data.get("paymentOwed") and not data.get("paymentAttention")
            if data["status"] in TERMINAL_REQUEST_STATES and settled:
                self.unsettled.discard(request_id)
            else:
                yield request_id, data

    def open_requests(self) -> bool:
        """Whether any request has not ended yet."""
        return any(data["status"] in OPEN for _, data in self.sweepable())


class SimDispatch(FakeDispatch):
    """The directory cached between profile and device changes (a round reads it, and there
    are thousands of rounds); the targets of a request kept per request."""

    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self._directory: list[tuple[UserDoc, list[Device]]] | None = None
        self._by_category: dict[str, list[tuple[UserDoc, list[Device]]]] = {}
        self._targets_of: dict[str, Counter[str]] = {}
        docs.listeners.append(self._written)

    def _written(self, path: str, data: Mapping[str, Any] | None) -> None:
        parts = path.split("/")
        if parts[0] == "users" and (len(parts) == 2 or parts[2] == "devices"):
            self._directory = None  # a profile or a device changed
            self._by_category = {}

    def record_targets(
        self, request_id: str, round_key: str, devices_by_uid: Mapping[str, int], now: datetime
    ) -> None:
        super().record_targets(request_id, round_key, devices_by_uid, now)
        self._targets_of.setdefault(request_id, Counter()).update(devices_by_uid.keys())

    def round_targets(self, request_id: str) -> set[str]:
        return set(self._targets_of.get(request_id, ()))

    def asks_of(self, request_id: str) -> dict[str, int]:
        return dict(self._targets_of.get(request_id, ()))

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        if self._directory is None:
            self._directory = super().directory()
        return list(self._directory)

    def directory_of(
        self, category: str, *, start: int, want: int | None
    ) -> list[tuple[UserDoc, list[Device]]]:
        """The category's part of the cached directory, whole (a simulated pool is a shard)."""
        every = self.directory()
        if category not in self._by_category:
            wanted = Category(category)
            self._by_category[category] = [(u, d) for u, d in every if u.serves(wanted)]
        return list(self._by_category[category])


class SimQuotes(FakeQuotes):
    """The quote's reads of the recent requests look through those dispatchable in the last hour
    only (kept as the requests are written), not the whole day."""

    def __init__(self, docs: FakeDocuments) -> None:
        super().__init__(docs)
        self._dispatchable: list[tuple[datetime, str]] = []  # (dispatchableAt, id), in order
        self._seen: set[str] = set()
        docs.listeners.append(self._written)

    def _written(self, path: str, data: Mapping[str, Any] | None) -> None:
        collection, _, request_id = path.partition("/")
        if collection != "requests" or "/" in request_id:
            return
        since = data.get("dispatchableAt") if data is not None else None
        if since is not None and request_id not in self._seen:
            self._seen.add(request_id)
            self._dispatchable.append((since, request_id))

    def dispatchable_since(self, since: datetime) -> Iterable[Mapping[str, Any]]:
        found = []
        for moment, request_id in reversed(self._dispatchable):
            if moment < since:
                break
            found.append(self.docs.requests[request_id])
        return found


class SimInbox(DocumentInbox):
    """Tells the simulation who each round reached."""

    def __init__(
        self, docs: FakeDocuments, on_round: Callable[[Sequence[str], Notification], None]
    ) -> None:
        super().__init__(docs)
        self._on_round = on_round

    def write_inbox(self, uids: Sequence[str], note: Notification, now: datetime) -> None:
        super().write_inbox(uids, note, now)
        self._on_round(uids, note)


def sim_stores(
    docs: FakeDocuments, on_round: Callable[[Sequence[str], Notification], None]
) -> Stores:
    return replace(
        fake_stores(docs, SEQUENTIAL),
        requests=SimRequests(docs),
        dispatch=SimDispatch(docs),
        inbox=SimInbox(docs, on_round),
        quotes=SimQuotes(docs),
    )


class SimPush:
    """Accepts every push and notes the new-request ones (the round being sent)."""

    def __init__(self) -> None:
        self.batch: set[str] = set()
        self.sent = 0

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        self.sent += len(messages)
        for message in messages:
            if message.data.get("type") == NotificationType.NEW_REQUEST.value:
                self.batch.add(message.token)
        return [PushResult(ok=True) for _ in messages]


class SimSms:
    def __init__(self) -> None:
        self.batch: set[str] = set()
        self.sent = 0

    def send(self, to: str, body: str) -> bool:
        self.sent += 1
        self.batch.add(to)
        return True


def local(day: date, at: time, tz: ZoneInfo, days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=days), at, tzinfo=tz).astimezone(UTC)


def shifts_of(group: HelperGroup, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """On-duty intervals touching the day (a shift ending before it starts wraps midnight; the
    same start and end is all day)."""
    start, end = group.shift
    if start == end:
        return [(local(day, time(0), tz), local(day, time(0), tz, days=2))]
    if start < end:
        return [(local(day, start, tz), local(day, end, tz))]
    if end == time(0):  # until midnight (`24:00`)
        return [(local(day, start, tz), local(day, end, tz, days=1))]
    return [
        (local(day, time(0), tz), local(day, end, tz)),
        (local(day, start, tz), local(day, end, tz, days=1)),
    ]


class Simulation:
    """One scenario under one policy."""

    def __init__(self, scenario: Scenario, spec: PolicySpec, seed: int | None = None) -> None:
        self.scenario, self.spec = scenario, spec
        self.seed = scenario.seed if seed is None else seed
        tz = scenario.tz
        self.day_start = local(scenario.day, time(0), tz)
        self.day_end = local(scenario.day, time(0), tz, days=1)
        self.docs = FakeDocuments()
        self.stores = sim_stores(self.docs, self._on_round)
        self.clock = FakeClock(self.day_start)
        self.push, self.sms = SimPush(), SimSms()
        self._queue: list[tuple[datetime, str, Callable[[], None]]] = []
        self.tasks = SimTasks(self.at, self.clock.now)
        base = Context(
            stores=self.stores,
            clock=self.clock,
            policy=spec.policy,
            push=self.push,
            sms=self.sms,
            payments=FakePayments(),
            video=FakeVideo(),
            tuning=SEQUENTIAL,
            tasks=self.tasks,
        )
        self.triggers = Triggers(base, self.docs.requests.get, on_change=self._on_change)
        self.ctx = self.triggers.ctx
        self._task_functions()
        self.events: Counter[str] = Counter()
        self.helpers: dict[str, Helper] = {}
        self._by_token: dict[str, Helper] = {}
        self._by_phone: dict[str, Helper] = {}
        self._customers = [f"cust-{n:04d}" for n in range(scenario.customers.pool)]
        self.arrivals = 0
        # the job board as helpers see it: the open `jobs/{id}` documents (the board's query is
        # `open == true`), kept as the product writes them
        self._board: dict[str, Mapping[str, Any]] = {}
        self.docs.listeners.append(self._job_written)

    # -- the queue

    def _task_functions(self) -> None:
        """The product's task queue functions, each given the simulation's context."""
        self.tasks.handle(SETTLE_QUEUE, lambda p: settle_task(self.ctx, p), SettlementPending)
        self.tasks.handle(DRAIN_QUEUE, lambda p: drain_task(self.ctx, p), OutboxBusy)
        self.tasks.handle(TIMER_QUEUE, lambda p: run_timer(self.ctx, p), Conflict)

    def at(self, moment: datetime, key: str, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (moment, key, action))

    def _rng(self, *key: object) -> random.Random:
        return stable_rng(self.seed, *key)

    # -- setting the day up

    def _people(self) -> None:
        tz = self.scenario.tz
        for group in self.scenario.helpers:
            for n in range(group.count):
                uid = f"{group.name}-{n:03d}"
                tokens = tuple(f"{uid}-device-{d}" for d in range(group.devices))
                phone = f"+1555{len(self.helpers):07d}" if group.phone else None
                helper = Helper(uid, group, tokens, phone, shifts_of(group, self.scenario.day, tz))
                self.helpers[uid] = helper
                profile: dict[str, Any] = {
                    "role": "helper",
                    "displayName": uid,
                    "isAvailable": False,
                    "categories": list(group.categories),
                }
                if phone:
                    profile["phone"] = phone
                if group.quiet_hours:
                    start, end = group.quiet_hours
                    profile["quietHours"] = {
                        "start": start,
                        "end": end,
                        "tz": self.scenario.timezone,
                    }
                self.docs.users[uid] = profile
                self.docs.devices(uid).update(
                    {
                        f"d{i}": {"token": token, "platform": "android"}
                        for i, token in enumerate(tokens)
                    }
                )
                for token in tokens:
                    self._by_token[token] = helper
                if phone:
                    self._by_phone[phone] = helper
                for start_at, end_at in helper.shifts:
                    self.at(
                        max(start_at, self.day_start), f"0-shift-on-{uid}", self._duty(helper, True)
                    )
                    self.at(end_at, f"0-shift-off-{uid}", self._duty(helper, False))
                self._board_looks(helper)
        for uid in self._customers:
            self.docs.users[uid] = {"role": "customer", "displayName": uid}

    def _arrivals(self) -> None:
        """A Poisson process per local hour at `per_hour[h] * multiplier` requests an hour."""
        scenario = self.scenario
        rng = self._rng("arrivals")
        categories = list(scenario.categories)
        weights = [scenario.categories[c] for c in categories]
        for at, category in scenario.scheduled:
            n = self.arrivals
            self.arrivals += 1
            when = local(scenario.day, at, scenario.tz)
            customer = self._customers[n % len(self._customers)]
            self.at(when, f"1-arrive-{n:05d}", self._arrive(n, customer, category))
        for hour, rate in enumerate(scenario.per_hour):
            rate *= scenario.multiplier
            if rate <= 0:
                continue
            start = local(scenario.day, time(hour), scenario.tz)
            moment = 0.0
            while True:
                moment += rng.expovariate(rate)
                if moment >= 1.0:
                    break
                n = self.arrivals
                self.arrivals += 1
                category = rng.choices(categories, weights)[0]
                customer = rng.choice(self._customers)
                when = start + timedelta(hours=moment)
                self.at(when, f"1-arrive-{n:05d}", self._arrive(n, customer, category))

    # -- people

    def _board_looks(self, helper: Helper) -> None:
        """When the helper looks at the job board by themselves: a Poisson process at their
        group's `board_per_hour` over each shift, drawn from the helper's own generator (so
        every policy sees the same helper look at the same moments)."""
        rate = helper.group.board_per_hour
        if rate <= 0:
            return
        rng = self._rng("board", helper.uid)
        stop = self.day_end + timedelta(hours=DRAIN_HOURS)
        k = 0
        for start_at, end_at in helper.shifts:
            moment = max(start_at, self.day_start)
            while True:
                moment += timedelta(hours=rng.expovariate(rate))
                if moment >= min(end_at, stop):
                    break
                self.at(moment, f"0-look-{helper.uid}-{k:05d}", self._look(helper, k))
                k += 1

    def _duty(self, helper: Helper, on: bool) -> Callable[[], None]:
        def run() -> None:
            actor = Actor(uid=helper.uid, role=Role.HELPER)
            claims.set_availability(self.ctx, actor, SetAvailabilityInput(is_available=on))
            helper.on_duty = on
            self.events["shift starts" if on else "shift ends"] += 1

        return run

    def _quoted_wait(self, customer: str, category: str) -> dict[str, Any]:
        """The wait the product shows the customer before the card is asked for: its own
        `quote_wait`, on the simulation's database at the simulated time."""
        actor = Actor(uid=customer, role=Role.CUSTOMER)
        return quotes.quote_wait(self.ctx, actor, QuoteWaitInput(category=category))

    def _walks_away(self, n: int, shown: Mapping[str, Any]) -> bool:
        """Whether the customer of arrival `n`, shown a wait over WALK_AWAY_OVER_MINUTES, walks
        away (their own draw: every policy faces the same customers). The figures count these
        as not served (`events["walked away"]`)."""
        if float(shown["expectedMinutes"]) <= WALK_AWAY_OVER_MINUTES:
            return False
        return self._rng("walk-away", n).random() < WALK_AWAY_CHANCE

    def _arrive(self, n: int, customer: str, category: str) -> Callable[[], None]:
        def run() -> None:
            shown = self._quoted_wait(customer, category)
            if self._walks_away(n, shown):
                self.events["walked away"] += 1
                return
            data = CreateRequestInput(
                category=category,
                description=f"Simulated request {n}: please help.",
                payment_method_id="pm_card_visa",
                client_request_id=f"sim-{n}",
                quote_id=shown["quoteId"],
            )
            result = payments.create_request(
                self.ctx, Actor(uid=customer, role=Role.CUSTOMER), data
            )
            request_id = str(result["requestId"])
            people = self.scenario.customers
            rng = self._rng("customer", request_id)
            if rng.random() < people.cancel_while_waiting:
                waited = timedelta(minutes=people.patience.draw(rng))
                self.at(
                    self.clock.now() + waited,
                    f"2-cancel-{request_id}",
                    self._cancel(request_id, customer),
                )

        return run

    def _cancel(self, request_id: str, customer: str) -> Callable[[], None]:
        def run() -> None:
            request = self.docs.requests[request_id]
            if request["status"] != "pending":
                return  # no longer waiting: a helper has it, or it ended
            data = CancelRequestInput(request_id=request_id, reason="gave up waiting")
            payments.cancel_request(self.ctx, Actor(uid=customer, role=Role.CUSTOMER), data)
            self.events["customer gave up"] += 1

        return run

    def _on_round(self, uids: Sequence[str], note: Notification) -> None:
        """A round reached `uids`: each helper may notice it (push, SMS, or the job board)."""
        if note.type != NotificationType.NEW_REQUEST:
            return
        pushed, texted = self.push.batch, self.sms.batch
        self.push.batch, self.sms.batch = set(), set()
        now = self.clock.now()
        for uid in uids:
            helper = self.helpers.get(uid)
            if helper is None:
                continue
            got_push = any(t in pushed for t in helper.tokens)
            got_sms = helper.phone in texted
            # fatigue counts what reached them, busy or not, before this one (one a round)
            recently = helper.heard_recently(now)
            if not (got_push or got_sms):
                continue  # targeted, but nothing reached them (no app, no SMS this round)
            helper.heard.append(now)
            helper.told.append(now)
            if helper.busy_with or note.request_id in helper.considered:
                continue
            group, rng = helper.group, self._rng("notice", note.key, uid)
            # both draws whatever was sent: a policy that texts someone does not shift the
            # draws of the others (two policies face the same people)
            push_draw, sms_draw = rng.random(), rng.random()
            tired = fatigue_factor(recently) if self.spec.fatigue else 1.0
            by_push = got_push and push_draw < group.see_push * tired
            by_sms = got_sms and sms_draw < group.see_sms * tired
            if not (by_push or by_sms):
                continue
            how = "by push" if by_push else "by SMS"
            self._notice(helper, note.request_id, how, self._rng("delay", note.key, uid))

    def _notice(self, helper: Helper, request_id: str, how: str, rng: random.Random) -> None:
        """The helper means to take the request: they claim it after their claim delay."""
        helper.considered.add(request_id)
        self.events[f"noticed {how}"] += 1
        delay = timedelta(minutes=helper.group.claim_delay.draw(rng))
        self.at(
            self.clock.now() + delay,
            f"3-claim-{request_id}-{helper.uid}",
            self._claim(helper, request_id),
        )

    def _job_written(self, path: str, data: Mapping[str, Any] | None) -> None:
        collection, _, job_id = path.partition("/")
        if collection != JOBS or "/" in job_id:
            return
        if data is not None and data.get("open") is True:
            self._board[job_id] = data
        else:
            self._board.pop(job_id, None)

    def _look(self, helper: Helper, k: int) -> Callable[[], None]:
        """The helper's `k`-th look at the board: free and on duty, they read the open jobs they
        may claim, newest first as the board lists them, and act on each with their group's
        chance for a push, without fatigue (nobody notified them); the first they act on, they
        claim as if notified. Busy, they do not look."""

        def run() -> None:
            if helper.busy_with or not helper.on_duty:
                return
            seen = [
                (rid, job)
                for rid, job in self._board.items()
                if helper.serves(job["category"]) and rid not in helper.considered
            ]
            seen.sort(key=_newest_first)
            for rid, _ in seen:
                if helper.uid in self.docs.requests[rid].get("releasedBy", ()):
                    continue  # they gave it back: the product would refuse their claim
                if self._rng("look", helper.uid, k, rid).random() < helper.group.see_push:
                    delay = self._rng("look-delay", helper.uid, k)
                    self._notice(helper, rid, "on the board", delay)
                    return

        return run

    def _claim(self, helper: Helper, request_id: str) -> Callable[[], None]:
        def run() -> None:
            if helper.busy_with:  # took another job meanwhile: a later round may tell again
                helper.considered.discard(request_id)
                self.events["noticed while busy"] += 1
                return
            actor = Actor(uid=helper.uid, role=Role.HELPER)
            try:
                claims.claim_request(self.ctx, actor, RequestRef(request_id=request_id))
            except HomeProError:  # someone was faster (if they release it, a round tells again)
                helper.considered.discard(request_id)
                self.events["too late to claim"] += 1
                return
            helper.busy_with = request_id
            rng = self._rng("claimed", request_id, helper.uid)
            if rng.random() < helper.group.abandon:
                self.events["claim abandoned"] += 1
                return
            later = timedelta(minutes=helper.group.start_delay.draw(rng))
            self.at(
                self.clock.now() + later, f"4-start-{request_id}", self._start(helper, request_id)
            )

        return run

    def _start(self, helper: Helper, request_id: str) -> Callable[[], None]:
        def run() -> None:
            request = self.docs.requests[request_id]
            if request["status"] != "claimed" or request.get("helperId") != helper.uid:
                return  # cancelled, or released by the sweep first
            checklist = dict.fromkeys(DEFAULT_CHECKLISTS[request["category"]], True)
            data = StartSessionInput(request_id=request_id, checklist=checklist)
            actor = Actor(uid=helper.uid, role=Role.HELPER)
            try:
                session_id = str(sessions.start_session(self.ctx, actor, data)["sessionId"])
            except HomeProError:
                return
            people = self.scenario.customers
            rng = self._rng("session", request_id)
            if rng.random() < people.no_join:
                self.events["customer never joined"] += 1
                return
            later = timedelta(minutes=people.join_delay.draw(rng))
            self.at(
                self.clock.now() + later,
                f"5-join-{request_id}",
                self._join(helper, request, session_id, rng),
            )

        return run

    def _join(
        self, helper: Helper, request: Mapping[str, Any], session_id: str, rng: random.Random
    ) -> Callable[[], None]:
        def run() -> None:
            customer = Actor(uid=request["customerId"], role=Role.CUSTOMER)
            try:
                sessions.join_session(self.ctx, customer, SessionRef(session_id=session_id))
            except HomeProError:
                return  # the sweep ended it no-show first
            people = self.scenario.customers
            length = timedelta(minutes=people.session.draw(rng))
            outcome = "resolved" if rng.random() < people.resolved else "unresolved"
            self.at(
                self.clock.now() + length,
                f"6-end-{session_id}",
                self._end(helper, session_id, outcome),
            )

        return run

    def _end(self, helper: Helper, session_id: str, outcome: str) -> Callable[[], None]:
        def run() -> None:
            data = EndSessionInput(session_id=session_id, outcome=outcome)
            sessions.end_session(self.ctx, Actor(uid=helper.uid, role=Role.HELPER), data)
            self.events[f"session {outcome}"] += 1

        return run

    def _on_change(
        self, request_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any]
    ) -> None:
        """A helper is free again once the request they held leaves them."""
        if before is None or before.get("status") not in ("claimed", "in_session"):
            return
        held_by = before.get("helperId")
        if after.get("status") in ("claimed", "in_session") and after.get("helperId") == held_by:
            return
        helper = self.helpers.get(str(held_by))
        if helper is not None and helper.busy_with == request_id:
            helper.busy_with = None

    def _sweep(self) -> None:
        sweeps.sweep_stale_requests(self.ctx)
        sweeps.sweep_stale_claims(self.ctx)

    # -- running

    def _open(self) -> bool:
        assert isinstance(self.stores.requests, SimRequests)
        return self.stores.requests.open_requests()

    def _idle(self) -> bool:
        """Nothing left to happen but shifts changing and helpers looking at the board: every
        request has ended."""
        people = any(not key.startswith(BACKGROUND) for _, key, _ in self._queue)
        return not people and not self._open()

    def run(self) -> Outcome:
        self._people()
        self._arrivals()
        every = timedelta(minutes=self.spec.sweep_every_minutes)
        stop = self.day_end + timedelta(hours=DRAIN_HOURS)
        next_sweep = self.day_start
        with _counting_errors() as errors:
            while True:
                upcoming = self._queue[0][0] if self._queue else None
                if next_sweep <= stop and (upcoming is None or next_sweep <= upcoming):
                    self.clock.set(next_sweep)
                    self._sweep()
                    self.triggers.deliver()
                    next_sweep += every
                    if next_sweep > self.day_end and self._idle():
                        break
                    continue
                if upcoming is None:
                    break
                moment, _, action = heapq.heappop(self._queue)
                if moment > stop:
                    break
                self.clock.set(max(moment, self.clock.now()))
                action()
                self.triggers.deliver()
        for helper in self.helpers.values():
            helper.shift_seconds = sum(
                (min(end, self.day_end) - max(start, self.day_start)).total_seconds()
                for start, end in helper.shifts
                if end > self.day_start and start < self.day_end
            )
        return Outcome(
            self.docs,
            self.stores,
            (self.day_start, self.day_end),
            list(self.helpers.values()),
            self.arrivals,
            errors.count,
            self.events,
        )


def _newest_first(item: tuple[str, Mapping[str, Any]]) -> tuple[float, float]:
    """The board's order (web/src/queries.ts `newestFirst`): latest pending first."""
    _, job = item
    created = job["createdAt"]
    return (-(job.get("pendingSince") or created).timestamp(), -created.timestamp())


# One request at a time in the sweeps and notifications: a run's order of events (and so its
# figures) must not depend on thread scheduling. Concurrency is a deployment setting, not a rule.
SEQUENTIAL = Tuning(
    sweep_concurrency=1, notify_concurrency=1, io_concurrency=1, backstop_on_thread=False
)


class _ErrorCount(logging.Handler):
    """The services' log records during a run: dropped, but errors are counted."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def _counting_errors() -> Iterator[_ErrorCount]:
    logger = logging.getLogger(LOGGER)
    handler = _ErrorCount()
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [handler], False
    try:
        yield handler
    finally:
        logger.handlers, logger.propagate = saved
