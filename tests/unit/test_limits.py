"""Abuse limits on the money calls and sign-ups, on the fakes: each refused with
`ResourceExhausted` naming the limit and when to try again, before anything is written and
before Stripe is called."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from homepro.domain import limits
from homepro.domain.errors import FailedPrecondition, ResourceExhausted
from homepro.domain.models import Actor, CancelRequestInput, CreateRequestInput
from homepro.domain.policy import AbuseLimits
from homepro.services import payments, roles
from homepro.testing import FakeDocuments, fake_docs, make_context

CUSTOMER = Actor(uid="cust-1", role="customer")
DECLINED_CARD = "pm_card_visa_chargeDeclined"


def ask(card: str = "pm_card_visa") -> CreateRequestInput:
    return CreateRequestInput.model_validate(
        {"category": "plumbing", "description": "The sink leaks.", "paymentMethodId": card}
    )


def context(**abuse):
    return make_context(FakeDocuments(), abuse=AbuseLimits(**abuse))


def authorizations(ctx) -> int:
    """Holds begun at Stripe (each begins with its PaymentIntent's creation)."""
    return sum(1 for action, _ in ctx.payments.calls if action == "create")


def cancel(ctx, actor, request_id):
    payments.cancel_request(ctx, actor, CancelRequestInput(requestId=request_id))


def test_open_requests_per_customer_refuses_the_next_until_one_ends():
    ctx = context(open_requests_per_customer=2)
    first = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
    payments.create_request(ctx, CUSTOMER, ask())
    with pytest.raises(ResourceExhausted, match="2 open requests, the most at once is 2"):
        payments.create_request(ctx, CUSTOMER, ask())
    assert len(fake_docs(ctx).requests) == 2 and authorizations(ctx) == 2  # nothing written
    cancel(ctx, CUSTOMER, first)  # one ends: room for one more
    payments.create_request(ctx, CUSTOMER, ask())
    assert len(fake_docs(ctx).requests) == 3


def test_requests_per_hour_says_when_to_try_again():
    ctx = context(open_requests_per_customer=100, requests_per_customer_per_hour=3)
    start = ctx.clock.now()
    for minute in range(3):
        ctx.clock.set(start + timedelta(minutes=minute * 10))
        payments.create_request(ctx, CUSTOMER, ask())
    with pytest.raises(ResourceExhausted, match="at most 3 requests an hour") as refused:
        payments.create_request(ctx, CUSTOMER, ask())
    assert refused.value.retry_at == start + timedelta(hours=1)
    assert "try again in 40 minutes" in refused.value.message
    ctx.clock.set(start + timedelta(hours=1, seconds=1))  # the first left the window
    payments.create_request(ctx, CUSTOMER, ask())


def test_declines_per_customer_per_day_stop_reaching_stripe():
    ctx = context(declines_per_customer_per_day=3, declines_per_source_per_hour=100)
    for _ in range(3):
        with pytest.raises(FailedPrecondition, match="Your card was declined"):
            payments.create_request(ctx, CUSTOMER, ask(DECLINED_CARD))
    with pytest.raises(ResourceExhausted, match="at most 3 card attempts a day") as refused:
        payments.create_request(ctx, CUSTOMER, ask(DECLINED_CARD))
    assert authorizations(ctx) == 3  # the fourth never reached Stripe
    assert refused.value.retry_at == ctx.clock.now() + timedelta(days=1)
    ctx.clock.advance(days=1, seconds=1)
    payments.create_request(ctx, CUSTOMER, ask())


def test_authorized_cards_are_not_counted_as_declines():
    ctx = context(declines_per_customer_per_day=2, requests_per_customer_per_hour=100)
    for _ in range(5):
        request_id = payments.create_request(ctx, CUSTOMER, ask())["requestId"]
        cancel(ctx, CUSTOMER, request_id)
    counters = fake_docs(ctx).collection("customerLimits")[CUSTOMER.uid]
    assert counters["attempts"] == {} and counters["open"] == [request_id]
    assert len(counters["created"]) == 5
    with pytest.raises(FailedPrecondition):
        payments.create_request(ctx, CUSTOMER, ask(DECLINED_CARD))
    payments.create_request(ctx, CUSTOMER, ask())  # one decline of two allowed


def test_declines_per_source_count_every_account_on_that_address():
    ctx = context(declines_per_source_per_hour=2)
    for n in range(2):
        with pytest.raises(FailedPrecondition):
            payments.create_request(
                ctx, Actor(uid=f"tester-{n}", role="customer"), ask(DECLINED_CARD), "203.0.113.9"
            )
    fresh = Actor(uid="tester-9", role="customer")
    with pytest.raises(ResourceExhausted, match="from this network"):
        payments.create_request(ctx, fresh, ask(), "203.0.113.9")
    assert authorizations(ctx) == 2
    # another address, or the same account from elsewhere, is not held back by it
    payments.create_request(ctx, fresh, ask(), "198.51.100.7")
    # the counters name no address
    assert all("203.0.113.9" not in key for key in fake_docs(ctx).collection("sourceLimits"))


def test_a_stripe_outage_is_not_counted_as_a_declined_attempt():
    ctx = context(declines_per_customer_per_day=1)
    ctx.payments.failures = 1
    with pytest.raises(Exception, match="try again"):
        payments.create_request(ctx, CUSTOMER, ask())
    assert fake_docs(ctx).collection("customerLimits")[CUSTOMER.uid]["attempts"] == {}


def test_the_same_client_request_id_again_is_not_counted_twice():
    ctx = context(requests_per_customer_per_hour=1)
    data = CreateRequestInput.model_validate(
        {**ask().model_dump(by_alias=True), "clientRequestId": "tab-1"}
    )
    first = payments.create_request(ctx, CUSTOMER, data)
    assert payments.create_request(ctx, CUSTOMER, data)["requestId"] == first["requestId"]


def test_twenty_parallel_requests_get_no_more_holds_than_the_limit():
    ctx = context(open_requests_per_customer=2)

    def attempt(_: int) -> str:
        try:
            return payments.create_request(ctx, CUSTOMER, ask())["paymentStatus"]
        except ResourceExhausted:
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(attempt, range(20)))
    assert answers.count("authorized") == 2 and answers.count("refused") == 18
    held = [i for i in ctx.payments.intents.values() if i["status"] == "requires_capture"]
    assert len(held) == 2


def test_signups_per_source_refuse_past_the_limit():
    ctx = context(signups_per_source_per_hour=2)
    for n in range(2):
        roles.role_for_new_account(ctx, f"u{n}", f"u{n}@example.com", None, "192.0.2.1")
    with pytest.raises(ResourceExhausted, match="at most 2 new accounts an hour from this network"):
        roles.role_for_new_account(ctx, "u9", "u9@example.com", None, "192.0.2.1")
    assert "u9" not in fake_docs(ctx).collection("users")  # no profile for the refused one
    roles.role_for_new_account(ctx, "u9", "u9@example.com", None, "192.0.2.2")
    roles.role_for_new_account(ctx, "u8", "u8@example.com", None, None)  # no address: no limit


def test_the_source_key_is_a_digest_of_the_address():
    key = limits.source_key("203.0.113.9")
    assert key == limits.source_key(" 203.0.113.9 ") and "203" not in key and len(key) == 32


def test_the_source_is_the_address_googles_front_end_appended(monkeypatch):
    from homepro import config

    monkeypatch.delenv("FUNCTIONS_EMULATOR", raising=False)
    # whatever the client wrote comes first; the front end appends the address it saw
    assert config.source_address("6.6.6.6, 203.0.113.1", "10.0.0.1") == "203.0.113.1"
    assert config.source_address("203.0.113.1", "10.0.0.1") == "203.0.113.1"
    assert config.source_address("", "10.0.0.1") == "10.0.0.1"
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")  # behind a load balancer of ours
    assert config.source_address("6.6.6.6, 203.0.113.1, 130.211.0.1", None) == "203.0.113.1"
    monkeypatch.setenv("FUNCTIONS_EMULATOR", "true")  # nothing appends locally: the socket's
    assert config.source_address("6.6.6.6", "127.0.0.1") == "127.0.0.1"
