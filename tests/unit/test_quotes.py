"""The wait shown before paying: known supply -> known answer; the quote tied to its request."""

from datetime import timedelta

import pytest

from homepro.domain import quotes
from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidInput, ResourceExhausted
from homepro.domain.models import Actor, CreateRequestInput, QuoteWaitInput, parse_input
from homepro.domain.policy import AbuseLimits
from homepro.domain.quotes import Supply, estimate
from homepro.services import payments
from homepro.services.quotes import live_supply, quote_wait
from homepro.testing import FakeDocuments, fake_docs, make_context

CUSTOMER = Actor(uid="cust-1", role="customer")
OTHER = Actor(uid="cust-2", role="customer")


def ask(**fields) -> CreateRequestInput:
    data = {
        "category": "plumbing",
        "description": "The kitchen sink drips all night.",
        "paymentMethodId": "pm_card_visa",
        **fields,
    }
    return CreateRequestInput.model_validate(data)


@pytest.fixture
def ctx():
    return make_context(FakeDocuments())


def helpers(docs: FakeDocuments, n: int, **fields) -> list[str]:
    return [docs.add_helper(f"h{i}", f"tok-{i}", **fields) for i in range(n)]


# ---------------------------------------------------------------- the estimator


def test_no_free_helper_says_over_the_promise():
    shown = estimate(Supply(free_helpers=0))
    assert shown.expected_minutes == quotes.NO_HELPER_MINUTES > 15
    assert shown.over_promise and shown.p90_minutes >= shown.expected_minutes


def test_known_supply_gives_the_prior_and_more_helpers_a_shorter_wait():
    one, three, twenty = (estimate(Supply(n)) for n in (1, 3, 20))
    assert one.expected_minutes == pytest.approx(quotes.prior_minutes(1), abs=0.1)
    assert one.expected_minutes > three.expected_minutes > twenty.expected_minutes
    assert twenty.expected_minutes >= quotes.FLOOR_MINUTES
    assert twenty.p90_minutes == pytest.approx(twenty.expected_minutes * quotes.P90_RATIO, 0.05)


def test_recent_claims_pull_the_estimate_towards_what_they_show():
    prior = estimate(Supply(10)).expected_minutes
    slow = estimate(Supply(10, recent=(9.0,) * 30)).expected_minutes
    fast = estimate(Supply(10, recent=(1.0,) * 30)).expected_minutes
    assert fast < prior < slow
    # weighed by how many: 30 claims of 9 minutes against the prior's PRIOR_WEIGHT
    w = quotes.PRIOR_WEIGHT
    assert slow == pytest.approx((w * quotes.prior_minutes(10) + 30 * 9.0) / (w + 30), abs=0.1)


def test_requests_waiting_longer_than_the_estimate_raise_it():
    base = estimate(Supply(2, recent=(3.0,) * 10)).expected_minutes
    queued = estimate(Supply(2, waiting=(20.0, 25.0, 30.0), recent=(3.0,) * 10))
    assert queued.expected_minutes > base
    # waiting less than the estimate says nothing
    assert estimate(Supply(2, waiting=(0.5,), recent=(3.0,) * 10)).expected_minutes == base


# ---------------------------------------------------------------- the live supply


def test_the_supply_counts_free_helpers_of_the_category_only(ctx):
    docs = fake_docs(ctx)
    helpers(docs, 3)  # every category
    docs.add_helper("elec", "tok-e", categories=["electrical"])
    docs.add_helper("off", "tok-o", isAvailable=False)
    docs.add_request("r1", status="claimed", helperId="h0")
    supply = live_supply(ctx, "plumbing", ctx.clock.now())
    assert supply.free_helpers == 2  # h1, h2: h0 holds a claim, elec serves another category


def test_the_supply_reads_recent_claims_and_waiting_requests(ctx):
    docs = fake_docs(ctx)
    now = ctx.clock.now()
    docs.add_request("old", status="claimed", firstClaimedAt=now - timedelta(hours=2), helperId="x")
    docs.add_request(
        "recent",
        status="completed",
        dispatchableAt=now - timedelta(minutes=20),
        firstClaimedAt=now - timedelta(minutes=17),
    )
    docs.add_request("waits", pendingSince=now - timedelta(minutes=4))
    docs.add_request("unpaid", paymentStatus="requires_payment")
    docs.add_request("other", category="hvac")
    supply = live_supply(ctx, "plumbing", now)
    assert supply.recent == (3.0,)
    assert supply.waiting == (4.0,)


# ---------------------------------------------------------------- quote_wait


def test_quote_wait_answers_and_keeps_the_quote(ctx):
    docs = fake_docs(ctx)
    helpers(docs, 4)
    answer = quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="plumbing"))
    assert answer["category"] == "plumbing" and answer["helpersAvailable"] == 4
    assert answer["expectedMinutes"] == estimate(Supply(4)).expected_minutes
    assert answer["overPromise"] is False
    expires = ctx.clock.now() + timedelta(seconds=ctx.policy.quote_ttl_seconds)
    assert answer["expiresAt"] == expires.isoformat()
    stored = docs.collection("quotes")[answer["quoteId"]]
    assert stored["customerId"] == "cust-1" and stored["used"] is False
    assert stored["expireAt"] > stored["expiresAt"]  # kept past its use, for the report


def test_with_nobody_free_the_quote_says_so(ctx):
    answer = quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="hvac"))
    assert answer["helpersAvailable"] == 0
    assert answer["overPromise"] is True and answer["expectedMinutes"] > 15


def test_only_customers_ask_for_the_wait(ctx):
    with pytest.raises(Forbidden):
        quote_wait(ctx, Actor(uid="h", role="helper"), QuoteWaitInput(category="hvac"))


def test_a_bad_category_is_invalid_input():
    with pytest.raises(InvalidInput) as err:
        parse_input(QuoteWaitInput, {"category": "roofing"})
    assert err.value.field == "category"


def test_quotes_are_limited_per_customer_per_hour():
    ctx = make_context(FakeDocuments(), abuse=AbuseLimits(quotes_per_customer_per_hour=2))
    for _ in range(2):
        quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="hvac"))
    with pytest.raises(ResourceExhausted) as err:
        quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="hvac"))
    assert err.value.retry_at == ctx.clock.now() + timedelta(hours=1)
    quote_wait(ctx, OTHER, QuoteWaitInput(category="hvac"))  # another customer's own count
    ctx.clock.advance(hours=1)
    quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="hvac"))


# ---------------------------------------------------------------- create_request with a quote


def test_the_request_stores_the_quote_shown_and_uses_it(ctx):
    docs = fake_docs(ctx)
    helpers(docs, 2)
    shown = quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="plumbing"))
    ctx.clock.advance(minutes=2)
    made = payments.create_request(ctx, CUSTOMER, ask(quoteId=shown["quoteId"]))
    request = docs.requests[made["requestId"]]
    assert request["quote"] == {
        "id": shown["quoteId"],
        "expectedMinutes": shown["expectedMinutes"],
        "p90Minutes": shown["p90Minutes"],
        "shownAt": ctx.clock.now() - timedelta(minutes=2),
    }
    assert (
        ctx.requests.get_request(made["requestId"]).quote.expected_minutes
        == (shown["expectedMinutes"])
    )
    quote = docs.collection("quotes")[shown["quoteId"]]
    assert quote["used"] is True and quote["requestId"] == made["requestId"]


def test_a_request_without_a_quote_still_works(ctx):
    made = payments.create_request(ctx, CUSTOMER, ask())
    assert "quote" not in fake_docs(ctx).requests[made["requestId"]]


def test_an_unknown_quote_is_invalid(ctx):
    with pytest.raises(InvalidInput) as err:
        payments.create_request(ctx, CUSTOMER, ask(quoteId="nope"))
    assert err.value.field == "quoteId"
    assert not fake_docs(ctx).requests and not ctx.payments.calls


def test_another_customers_quote_is_invalid(ctx):
    shown = quote_wait(ctx, OTHER, QuoteWaitInput(category="plumbing"))
    with pytest.raises(InvalidInput):
        payments.create_request(ctx, CUSTOMER, ask(quoteId=shown["quoteId"]))


def test_another_categorys_quote_is_invalid(ctx):
    shown = quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="hvac"))
    with pytest.raises(InvalidInput) as err:
        payments.create_request(ctx, CUSTOMER, ask(quoteId=shown["quoteId"]))
    assert "hvac" in err.value.message


def test_an_expired_quote_is_refused_with_ask_again(ctx):
    shown = quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="plumbing"))
    ctx.clock.advance(seconds=ctx.policy.quote_ttl_seconds)
    with pytest.raises(FailedPrecondition) as err:
        payments.create_request(ctx, CUSTOMER, ask(quoteId=shown["quoteId"]))
    assert err.value.message == quotes.EXPIRED
    assert not fake_docs(ctx).requests and not ctx.payments.calls


def test_a_quote_makes_one_request_only_but_its_retry_is_the_same(ctx):
    shown = quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="plumbing"))
    first = payments.create_request(
        ctx, CUSTOMER, ask(quoteId=shown["quoteId"], clientRequestId="a")
    )
    # the retry of the same request: the same answer, even once the quote has expired
    ctx.clock.advance(seconds=ctx.policy.quote_ttl_seconds + 1)
    again = payments.create_request(
        ctx, CUSTOMER, ask(quoteId=shown["quoteId"], clientRequestId="a")
    )
    assert again == first
    with pytest.raises(FailedPrecondition):
        payments.create_request(ctx, CUSTOMER, ask(quoteId=shown["quoteId"], clientRequestId="b"))
    assert len(fake_docs(ctx).requests) == 1


def test_a_used_quote_is_refused_for_a_second_request_before_it_expires(ctx):
    shown = quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="plumbing"))
    payments.create_request(ctx, CUSTOMER, ask(quoteId=shown["quoteId"], clientRequestId="a"))
    with pytest.raises(FailedPrecondition) as err:
        payments.create_request(ctx, CUSTOMER, ask(quoteId=shown["quoteId"], clientRequestId="b"))
    assert "another request" in err.value.message
    assert len(fake_docs(ctx).requests) == 1
