"""`make demo-traffic`: real requests on the running `make dev` stack, for the admin page.

Customers create requests through the real callables (real holds in localstripe, real
triggers, real pushes to the FCM stand-in, the stack's ticker running the sweeps every minute);
the demo helpers claim them after a random delay, and so on, in real time. Nothing is written
to Firestore directly: every KPI the admin page then shows was produced by the product.

Per request (seeded, `--seed`): the category is random; the customer cancels while waiting with
probability `--cancel`; otherwise a helper who serves the category claims after a delay drawn
from an exponential distribution with mean `--claim-mean` minutes (or never, with probability
`--ignore`: the sweeps escalate and, 30 minutes on, expire it); a helper releases a claim with
probability `--release` (it is dispatched again); otherwise the session starts a minute later,
the customer joins (or not, with probability `--no-show`), and it ends resolved (80 %) or
unresolved. Requests still open when the run ends stay as they are.

    make demo-traffic                                 # 5 minutes, 2 requests a minute
    make demo-traffic ARGS="--minutes 40 --rate 1.5 --claim-mean 6"
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import emulator_client as ec
from homepro.domain.sessions import DEFAULT_CHECKLISTS

PENDING_TIMEOUT_MINUTES = 30  # the stack's; a claim later than this would find it expired
CATEGORIES = ("plumbing", "electrical", "hvac", "appliance", "carpentry", "general")
# The demo helpers of tools/seed.py and what they serve (helper3: everything).
HELPERS = {
    "helper1@homepro.test": {"plumbing", "hvac"},
    "helper2@homepro.test": {"electrical", "appliance"},
    "helper3@homepro.test": set(CATEGORIES),
}
DESCRIPTIONS = {
    "plumbing": "The kitchen sink drains slowly and gurgles.",
    "electrical": "A breaker trips whenever the microwave runs.",
    "hvac": "The furnace blows cold air since this morning.",
    "appliance": "The dishwasher stops mid-cycle with an error light.",
    "carpentry": "A cabinet door hangs crooked and will not close.",
    "general": "Water stain on the ceiling below the bathroom.",
}


@dataclass(frozen=True)
class Behaviour:
    claim_mean: float
    ignore: float
    cancel: float
    release: float
    no_show: float


class Traffic:
    def __init__(self, args: argparse.Namespace) -> None:
        self.rng = random.Random(args.seed)
        self.scale = 60.0 / args.speed  # real seconds per product minute
        self.behaviour = Behaviour(
            args.claim_mean, args.ignore, args.cancel, args.release, args.no_show
        )
        self.tally: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.helpers = {email: ec.sign_in(email) for email in HELPERS}
        self.customers = [self._customer(n) for n in range(args.customers)]

    def _customer(self, n: int) -> ec.Account:
        email = f"demo-customer-{n}@homepro.test"
        try:
            return ec.sign_in(email)
        except RuntimeError:
            return ec.sign_up(email, display_name=f"Demo Customer {n}")

    def note(self, what: str) -> None:
        with self._lock:
            self.tally[what] += 1

    def wait(self, minutes: float) -> None:
        time.sleep(max(0.0, minutes) * self.scale)

    def call(self, name: str, data: dict[str, Any], account: ec.Account) -> dict[str, Any] | None:
        try:
            return ec.call(name, data, account.id_token)
        except ec.CallError as err:
            self.note(f"{name} refused ({err.status})")
            return None

    def one(self, plan: dict[str, Any]) -> None:
        customer: ec.Account = plan["customer"]
        body = {
            "category": plan["category"],
            "description": DESCRIPTIONS[plan["category"]],
            "paymentMethodId": "pm_card_visa",
            "clientRequestId": uuid.uuid4().hex,
        }
        created = self.call("create_request", body, customer)
        if created is None:
            return
        self.note("created")
        request = {"requestId": created["requestId"]}
        if plan["cancel_after"] is not None and (
            plan["claim_after"] is None or plan["cancel_after"] < plan["claim_after"]
        ):
            self.wait(plan["cancel_after"])
            if self.call("cancel_request", {**request, "reason": "found a fix"}, customer):
                self.note("cancelled while waiting")
            return
        if plan["claim_after"] is None or plan["claim_after"] >= PENDING_TIMEOUT_MINUTES:
            self.note("left to the sweeps")  # nobody comes before it expires
            return
        self.wait(plan["claim_after"])
        helper = self.helpers[plan["helper"]]
        if not self.call("claim_request", request, helper):
            return
        self.note("claimed")
        self.wait(1)
        if plan["release"]:
            if self.call("release_claim", request, helper):
                self.note("released (dispatched again)")
            return
        started = self.call("start_session", {**request, "checklist": plan["checklist"]}, helper)
        if started is None:
            return
        self.note("session started")
        if plan["no_show"]:
            self.note("customer never joins (no-show after 15 minutes)")
            return
        self.wait(0.5)
        self.call("join_session", {"sessionId": started["sessionId"]}, customer)
        self.wait(plan["session_minutes"])
        outcome = "resolved" if self.rng.random() < 0.8 else "unresolved"
        ended = self.call(
            "end_session", {"sessionId": started["sessionId"], "outcome": outcome}, helper
        )
        if ended:
            self.note(f"session {outcome}")

    def plan(self, checklists: dict[str, list[str]]) -> dict[str, Any]:
        rng, b = self.rng, self.behaviour
        category = rng.choice(CATEGORIES)
        serving = [email for email, served in HELPERS.items() if category in served]
        return {
            "customer": rng.choice(self.customers),
            "category": category,
            "helper": rng.choice(serving),
            "claim_after": None if rng.random() < b.ignore else rng.expovariate(1 / b.claim_mean),
            "cancel_after": rng.uniform(1, 12) if rng.random() < b.cancel else None,
            "release": rng.random() < b.release,
            "no_show": rng.random() < b.no_show,
            "session_minutes": rng.uniform(2, 6),
            "checklist": dict.fromkeys(checklists.get(category, []), True),
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=5, help="how long requests arrive")
    parser.add_argument("--rate", type=float, default=2, help="requests per minute")
    parser.add_argument(
        "--customers", type=int, default=30, help="accounts (each may hold 2 open requests)"
    )
    parser.add_argument("--claim-mean", type=float, default=3, help="minutes, mean claim delay")
    parser.add_argument("--ignore", type=float, default=0.08, help="share nobody claims")
    parser.add_argument("--cancel", type=float, default=0.1, help="share cancelled waiting")
    parser.add_argument("--release", type=float, default=0.08, help="share of claims released")
    parser.add_argument("--no-show", type=float, default=0.08, help="share never joining")
    parser.add_argument("--speed", type=float, default=1, help="1 = real time (the sweeps are)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        traffic = Traffic(args)
    except (OSError, RuntimeError) as err:
        print(f"demo-traffic: is `make dev` running? ({err})", file=sys.stderr)
        return 2
    checklists = _checklists()
    threads = []
    deadline = time.monotonic() + args.minutes * traffic.scale
    while time.monotonic() < deadline:
        thread = threading.Thread(target=traffic.one, args=(traffic.plan(checklists),))
        thread.start()
        threads.append(thread)
        traffic.wait(traffic.rng.expovariate(args.rate))
    print(f"demo-traffic: {len(threads)} requests sent; waiting for their people to finish")
    for thread in threads:
        thread.join()
    for what, count in sorted(traffic.tally.items()):
        print(f"  {what:48} {count}")
    return 0


def _checklists() -> dict[str, list[str]]:
    return {k: list(v) for k, v in DEFAULT_CHECKLISTS.items()}


if __name__ == "__main__":
    sys.exit(main())
