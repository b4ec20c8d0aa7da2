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
from homepro.testing import FakeClock, FakeDocuments, count_lookups, fake_docs, make_context

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
    shown = estimate(Supply(free_helpers=0, recent=((2.0, True),) * 50))
    assert shown.expected_minutes == 30.0 > 15  # the horizon: a pending request's life
    assert shown.over_promise and shown.p90_minutes == quotes.NO_HELPER_P90_MINUTES


def test_known_supply_gives_the_prior_and_more_helpers_a_shorter_wait():
    one, three, twenty = (estimate(Supply(n)) for n in (1, 3, 20))
    assert (one.expected_minutes, one.p90_minutes) == (12.0, 28.8)
    assert three.expected_minutes == 6.4  # 1.5 + 10.5 / 3 ** 0.7 = 6.37, to the tenth above
    assert twenty.expected_minutes == 2.8
    assert twenty.p90_minutes == pytest.approx(twenty.expected_minutes * quotes.P90_RATIO, 0.05)


def test_recent_waits_outweigh_the_prior_as_they_grow_in_number():
    # four requests of the last hour, each claimed after 9 minutes: as much as the prior
    prior = quotes.prior_minutes(10)
    four = estimate(Supply(10, recent=((9.0, True),) * 4)).expected_minutes
    assert four == pytest.approx((prior + 9.0) / 2, abs=0.1)
    many = estimate(Supply(10, recent=((9.0, True),) * 80)).expected_minutes
    assert four < many < 9.0
    fast = estimate(Supply(10, recent=((1.0, True),) * 80)).expected_minutes
    assert fast < prior


def test_the_median_and_p90_of_known_waits():
    waits = tuple((float(m), True) for m in range(1, 11))  # 1..10 minutes, all claimed
    assert quotes.waited_quantile(waits, 0.5, 30) == 5.0
    assert quotes.waited_quantile(waits, 0.9, 30) == 9.0


def test_requests_still_waiting_count_as_far_as_they_got():
    # four claimed within 2 minutes, six still waiting after 20: the median is not 2
    recent = ((2.0, True),) * 4 + ((20.0, False),) * 6
    assert quotes.waited_quantile(recent, 0.5, 30) == 30.0  # too few over to say: the horizon
    # ended unclaimed (expired after 30, cancelled after 12) is a wait over, and a long one
    ended = ((2.0, True),) * 4 + ((12.0, True), (30.0, True), (30.0, True))
    assert quotes.waited_quantile(ended, 0.5, 30) == 2.0
    assert quotes.waited_quantile(ended, 0.9, 30) == 30.0
    slow = estimate(Supply(5, recent=((20.0, False),) * 30))
    assert slow.over_promise


# ---------------------------------------------------------------- the live supply


def test_the_supply_counts_free_helpers_of_the_category_only(ctx):
    docs = fake_docs(ctx)
    helpers(docs, 3)  # every category
    docs.add_helper("elec", "tok-e", categories=["electrical"])
    docs.add_helper("off", "tok-o", isAvailable=False)
    docs.collection("helperClaims")["h0"] = {"open": ["r1"]}  # as claim_request writes it
    docs.collection("helperClaims")["h1"] = {"open": []}  # held one, done with it
    supply = live_supply(ctx, "plumbing", ctx.clock.now())
    assert supply.free_helpers == 2  # h1, h2: h0 holds a claim, elec serves another category


def test_the_supply_is_counted_in_a_bounded_sample_of_the_directory(ctx):
    docs = fake_docs(ctx)
    helpers(docs, 3 * quotes.SUPPLY_SAMPLE)
    looked = count_lookups(ctx)
    supply = live_supply(ctx, "plumbing", ctx.clock.now())
    assert supply.free_helpers == quotes.SUPPLY_SAMPLE and looked == [quotes.SUPPLY_SAMPLE]


def test_the_supply_reads_the_last_hours_requests_of_the_category(ctx):
    docs = fake_docs(ctx)
    now = ctx.clock.now()
    ago = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    docs.add_request("old", status="completed", dispatchableAt=ago(120), firstClaimedAt=ago(110))
    docs.add_request("claimed", status="completed", dispatchableAt=ago(20), firstClaimedAt=ago(17))
    docs.add_request("expired", status="expired", dispatchableAt=ago(50), expiredAt=ago(20))
    docs.add_request("gave-up", status="cancelled", dispatchableAt=ago(10), cancelledAt=ago(4))
    docs.add_request("waits", dispatchableAt=ago(4))
    docs.add_request("other", category="hvac", dispatchableAt=ago(4))
    supply = live_supply(ctx, "plumbing", now)
    assert sorted(supply.recent) == [(3.0, True), (4.0, False), (6.0, True), (30.0, True)]
    assert supply.horizon_minutes == ctx.policy.pending_timeout_minutes


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


def test_quote_ids_are_their_customers_and_moments():
    now = FakeClock().now()
    assert quotes.quote_id_for("c1", now) == quotes.quote_id_for("c1", now)
    assert quotes.quote_id_for("c1", now) != quotes.quote_id_for("c2", now)
    assert quotes.quote_id_for("c1", now) != quotes.quote_id_for(
        "c1", now + timedelta(microseconds=1)
    )


def test_a_bad_category_is_invalid_input():
    with pytest.raises(InvalidInput) as err:
        parse_input(QuoteWaitInput, {"category": "roofing"})
    assert err.value.field == "category"


def test_quotes_are_limited_per_customer_per_hour():
    ctx = make_context(FakeDocuments(), abuse=AbuseLimits(quotes_per_customer_per_hour=2))
    first = ctx.clock.now()
    for _ in range(2):
        quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="hvac"))
        ctx.clock.advance(seconds=1)
    with pytest.raises(ResourceExhausted) as err:
        quote_wait(ctx, CUSTOMER, QuoteWaitInput(category="hvac"))
    assert err.value.retry_at == first + timedelta(hours=1)
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
