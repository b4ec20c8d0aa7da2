"""The abuse counters, on the fake and on Firestore: the per-address limits with given addresses
(every call of the local stack comes from 127.0.0.1, so they are exercised here, on the
service), and the counting under 20 parallel calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from contract import NOW
from homepro.domain import limits
from homepro.domain.errors import FailedPrecondition, ResourceExhausted
from homepro.domain.models import Actor, CreateRequestInput
from homepro.domain.policy import AbuseLimits
from homepro.services import payments, roles
from homepro.testing import make_context

TESTER = "203.0.113.9"


def ask(card: str = "pm_card_visa") -> CreateRequestInput:
    return CreateRequestInput.model_validate(
        {"category": "hvac", "description": "No heat upstairs.", "paymentMethodId": card}
    )


def test_card_attempts_from_one_address_are_counted_across_accounts(backend):
    ctx = make_context(
        stores=backend.stores,
        clock=backend.clock,
        abuse=AbuseLimits(declines_per_source_per_hour=3),
    )
    for n in range(3):
        with pytest.raises(FailedPrecondition):
            payments.create_request(
                ctx, Actor(uid=f"t{n}", role="customer"), ask("pm_card_visa_chargeDeclined"), TESTER
            )
    with pytest.raises(ResourceExhausted, match="from this network") as refused:
        payments.create_request(ctx, Actor(uid="t9", role="customer"), ask(), TESTER)
    assert refused.value.retry_at == NOW + timedelta(hours=1)
    stored = backend.dump()
    key = limits.source_key(TESTER)
    declined = {p.split("/")[1] for p in stored if p.startswith("requests/") and p.count("/") == 1}
    assert set(stored[f"sourceLimits/{key}"]["attempts"]) == declined and len(declined) == 3
    assert not any(path.startswith("customerLimits/t9") for path in stored)  # nothing written
    payments.create_request(ctx, Actor(uid="t9", role="customer"), ask(), "198.51.100.7")


def test_sign_ups_from_one_address_are_refused_past_the_limit(backend):
    ctx = make_context(
        stores=backend.stores,
        clock=backend.clock,
        abuse=AbuseLimits(signups_per_source_per_hour=2),
    )
    roles.role_for_new_account(ctx, "u1", "u1@example.com", None, TESTER)
    roles.role_for_new_account(ctx, "u2", "u2@example.com", None, TESTER)
    with pytest.raises(ResourceExhausted, match="at most 2 new accounts an hour"):
        roles.role_for_new_account(ctx, "u3", "u3@example.com", None, TESTER)
    stored = backend.dump()
    assert "users/u3" not in stored and "users/u2" in stored
    assert stored[f"sourceLimits/{limits.source_key(TESTER)}"]["signups"] == [NOW, NOW]


def test_twenty_parallel_requests_are_counted_one_at_a_time(backend):
    ctx = make_context(stores=backend.stores, clock=backend.clock)  # the defaults: 2 open
    customer = Actor(uid="racer", role="customer")

    def one(_: int) -> str:
        try:
            return payments.create_request(ctx, customer, ask(), TESTER)["paymentStatus"]
        except ResourceExhausted:
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(20)))
    assert answers.count("authorized") == 2 and answers.count("refused") == 18
    stored = backend.dump()
    assert len(stored["customerLimits/racer"]["open"]) == 2
    assert len([p for p in stored if p.startswith("requests/") and p.count("/") == 1]) == 2
