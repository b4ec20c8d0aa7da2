"""Fault injection (issue 16 item 5): off unless HOMEPRO_FAULTS=1, armed once per point, the
token taken by one worker only; and what a worker that dies at a payment point leaves owed."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from homepro import faults
from homepro.domain.models import Actor, CancelRequestInput, CreateRequestInput
from homepro.services import payments, sweeps
from homepro.testing import FakeDocuments, fake_docs, make_context

CUSTOMER = Actor(uid="cust-1", role="customer")


class Died(BaseException):
    """What `os._exit` does to the worker, as an exception the test can catch."""


class Refusing:
    def take(self, point: str) -> bool:
        raise AssertionError("faults are off: no token is looked up")


@pytest.fixture
def tokens(monkeypatch):
    """Faults on, an in-memory token store, and a death the test can watch."""
    monkeypatch.setenv(faults.ENV, "1")
    store = faults.MemoryTokens()
    faults.use_tokens(store)
    deaths: list[int] = []

    def die(code: int) -> None:
        deaths.append(code)
        raise Died(code)

    monkeypatch.setattr(faults, "_exit", die)
    yield store
    faults.use_tokens(None)


def test_off_by_default_no_token_is_looked_up(monkeypatch):
    monkeypatch.delenv(faults.ENV, raising=False)
    faults.use_tokens(Refusing())
    try:
        for point in faults.POINTS:
            faults.fault(point)  # returns: no lookup, no exit
        faults.fault("not-a-point")  # not even checked when off
    finally:
        faults.use_tokens(None)
    assert not faults.enabled()


def test_importing_faults_costs_no_firebase_import():
    code = "import sys, homepro.faults; print(sorted(m for m in sys.modules if 'fire' in m))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2] / "functions",
    )
    assert out.stdout.strip() == "[]"


def test_an_unarmed_point_does_nothing(tokens):
    faults.fault(faults.BEFORE_STRIPE_CALL)


def test_an_armed_point_kills_the_worker_once(tokens):
    tokens.arm(faults.AFTER_STRIPE_CALL)
    with pytest.raises(Died):
        faults.fault(faults.AFTER_STRIPE_CALL)
    faults.fault(faults.AFTER_STRIPE_CALL)  # the retry goes through
    faults.fault(faults.BEFORE_STRIPE_CALL)  # another point was never armed


def test_an_unknown_point_is_a_programming_error(tokens):
    with pytest.raises(ValueError, match="unknown fault point"):
        faults.fault("after_lunch")


def test_one_of_many_racing_workers_takes_the_token(tokens):
    tokens.arm(faults.MID_FANOUT)

    def reach() -> bool:
        try:
            faults.fault(faults.MID_FANOUT)
        except Died:
            return True
        return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        died = list(pool.map(lambda _: reach(), range(32)))
    assert died.count(True) == 1


def _cancelled_request(ctx):
    data = CreateRequestInput.model_validate(
        {
            "category": "hvac",
            "description": "The furnace will not start.",
            "paymentMethodId": "pm_card_visa",
        }
    )
    return payments.create_request(ctx, CUSTOMER, data)["requestId"]


@pytest.mark.parametrize("point", [faults.BEFORE_STRIPE_CALL, faults.AFTER_STRIPE_CALL])
def test_a_worker_dead_around_the_stripe_call_leaves_it_owed_for_the_sweep(tokens, point):
    ctx = make_context(FakeDocuments())
    request_id = _cancelled_request(ctx)
    tokens.arm(point)
    with pytest.raises(Died):
        payments.cancel_request(ctx, CUSTOMER, CancelRequestInput(request_id=request_id))
    doc = fake_docs(ctx).requests[request_id]
    assert (doc["status"], doc["paymentOwed"]) == ("cancelled", "release")
    released_before = [c for c in ctx.payments.calls if c[0] == "release"]
    assert len(released_before) == (1 if point == faults.AFTER_STRIPE_CALL else 0)

    assert sweeps.sweep_stale_requests(ctx).counts == {"payment_released": 1}
    assert sweeps.sweep_stale_requests(ctx).counts == {}
    doc = fake_docs(ctx).requests[request_id]
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("released", None)
    assert fake_docs(ctx).event_types(request_id).count("payment_released") == 1
    intent = doc["paymentIntentId"]
    assert ctx.payments.intents[intent]["status"] == "canceled"
