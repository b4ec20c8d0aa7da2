"""The promise shown before paying, kept or not: the report's `promiseKept` and its print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import report as report_cli

from homepro.domain.models import Actor, CreateRequestInput, QuoteWaitInput, RequestRef
from homepro.services import claims, payments, reports
from homepro.services.quotes import quote_wait
from homepro.testing import FakeClock, FakeDocuments, fake_docs, make_context

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _made(ctx, customer: str, category: str, n: int) -> str:
    actor = Actor(uid=customer, role="customer")
    shown = quote_wait(ctx, actor, QuoteWaitInput(category=category))
    data = CreateRequestInput(
        category=category,
        description="Something needs fixing, please.",
        payment_method_id="pm_card_visa",
        client_request_id=f"k{n}",
        quote_id=shown["quoteId"],
    )
    return str(payments.create_request(ctx, actor, data)["requestId"])


def test_a_day_of_quotes_kept_and_broken():
    ctx = make_context(FakeDocuments(), FakeClock(START))
    docs = fake_docs(ctx)
    for n in range(3):
        docs.add_helper(f"h{n}", f"tok-{n}", categories=["plumbing"])
    # plumbing is shown <= 15 (three helpers free), hvac more (nobody serves it)
    fast = _made(ctx, "c1", "plumbing", 1)
    slow = _made(ctx, "c2", "plumbing", 2)
    late = _made(ctx, "c3", "plumbing", 3)
    over = _made(ctx, "c4", "hvac", 4)
    quote_wait(ctx, Actor(uid="c5", role="customer"), QuoteWaitInput(category="hvac"))  # unused
    for request_id in (fast, slow, late, over):
        docs.requests[request_id]["dispatchableAt"] = START
    helper = Actor(uid="h0", role="helper")
    ctx.clock.set(START + timedelta(minutes=5))
    claims.claim_request(ctx, helper, RequestRef(request_id=fast))
    ctx.clock.set(START + timedelta(minutes=20))
    claims.claim_request(ctx, Actor(uid="h1", role="helper"), RequestRef(request_id=slow))
    # `late` still waits: broken at 20 minutes; made later it would be undecided
    answer = reports.report(ctx.views, START, START + timedelta(hours=1), as_of=ctx.clock.now())
    kept = answer["promiseKept"]
    assert kept["shownWithin15"] == {
        "requests": 3,
        "claimedWithin15": 1,
        "undecided": 0,
        "claimedWithin15Share": 0.3333,
    }
    assert kept["shownOver15"] == {
        "requests": 1,
        "claimedWithin15": 0,
        "undecided": 0,
        "claimedWithin15Share": 0.0,
    }
    assert kept["quotes"] == {
        "shown": 5,
        "unused": 1,
        "shownWithin15": 3,
        "unusedWithin15": 0,
        "shownOver15": 2,
        "unusedOver15": 1,
    }
    printed = report_cli.render(answer)
    assert "shown <= 15 min       3 requests, claimed within 15 min 33.3 % (1)" in printed
    assert "never used 1" in printed


def test_a_request_waiting_less_than_15_minutes_is_undecided():
    ctx = make_context(FakeDocuments(), FakeClock(START))
    fake_docs(ctx).add_helper("h0", "tok-0")
    made = _made(ctx, "c1", "plumbing", 1)
    fake_docs(ctx).requests[made]["dispatchableAt"] = START
    ctx.clock.set(START + timedelta(minutes=10))
    answer = reports.report(ctx.views, START, START + timedelta(hours=1), as_of=ctx.clock.now())
    within = answer["promiseKept"]["shownWithin15"]
    assert (within["requests"], within["undecided"], within["claimedWithin15Share"]) == (1, 1, None)


def test_a_window_without_quotes_has_empty_sides():
    ctx = make_context(FakeDocuments())
    answer = reports.report(ctx.views, START, START + timedelta(hours=1))
    assert answer["promiseKept"]["shownWithin15"]["claimedWithin15Share"] is None
    assert answer["promiseKept"]["quotes"]["shown"] == 0
