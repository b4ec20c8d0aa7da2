"""The callables' share of the Stripe budget across every instance, on the emulators: each
create_request and cancel_request runs in its own worker (its own pacer), and together they
take at most STRIPE_MAX_RPS - STRIPE_BULK_RPS tokens a second, as localstripe counts too."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from google.cloud.firestore_v1 import Client

import emulator_client as ec
from conftest import wait_for

INLINE_SHARE = 20 - 10  # the local stack's STRIPE_MAX_RPS - STRIPE_BULK_RPS (the defaults)
BODY = {
    "category": "plumbing",
    "description": "The kitchen sink drips all night long.",
    "paymentMethodId": "pm_card_visa",
}


def test_concurrent_callables_stay_within_the_shared_share(db: Client, make_account):
    customers = [make_account("customer") for _ in range(8)]
    ec.call("create_request", BODY, customers[0].id_token)  # warm: both workers started
    ec.reset_stripe_calls()
    before = {d.id for d in db.collection("stripeBudget").select([]).stream()}

    def one(customer: ec.Account) -> str:
        request_id = ec.call("create_request", BODY, customer.id_token)["requestId"]
        answer = ec.call("cancel_request", {"requestId": request_id}, customer.id_token)
        return str(answer["paymentStatus"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(one, customers)) == ["released"] * 8

    tokens = [d.to_dict() for d in db.collection("stripeBudget").stream() if d.id not in before]
    assert len(tokens) >= 8 * 3  # create, confirm, cancel: one token each
    per_second = Counter(t["second"] for t in tokens)
    assert max(per_second.values()) <= INLINE_SHARE
    assert all("expireAt" in t for t in tokens)  # the TTL policy's field
    calls = wait_for(ec.stripe_calls)
    assert sum(sum(by.values()) for by in calls.values()) == 8 * 3
    assert max(sum(by.values()) for by in calls.values()) <= INLINE_SHARE
