"""Abuse limits on the emulators, through the callables with real ID tokens: a script that
spams requests or tests cards from one account is refused `resource-exhausted` before anything
is written and before Stripe is called; 20 parallel calls cannot slip past a limit.

The per-customer limits keep their production defaults on the local stack (2 open requests, 6
requests an hour, 5 card attempts not authorized a day); the per-address ones are set high there
(every local call comes from 127.0.0.1), and are exercised on the service with given addresses in
test_contract_limits.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from google.cloud.firestore_v1 import Client
from google.cloud.firestore_v1.base_query import FieldFilter

import emulator_client as ec
from homepro.domain import limits

DESCRIPTION = "The water heater makes a banging noise."
DECLINED = "pm_card_chargeCustomerFail"


def create(customer: ec.Account, card: str = "pm_card_visa") -> dict[str, Any]:
    body = {"category": "plumbing", "description": DESCRIPTION, "paymentMethodId": card}
    return ec.call("create_request", body, customer.id_token)


def attempt(customer: ec.Account, card: str = "pm_card_visa") -> tuple[str, str]:
    """(outcome, message): the payment status, or the error's status."""
    try:
        return create(customer, card)["paymentStatus"], ""
    except ec.CallError as err:
        return err.status, err.message


def requests_of(db: Client, uid: str) -> dict[str, dict[str, Any]]:
    query = db.collection("requests").where(filter=FieldFilter("customerId", "==", uid))
    return {snap.id: snap.to_dict() for snap in query.stream()}


def test_twenty_parallel_requests_from_one_account_get_no_more_holds_than_the_limit(
    db, make_account
):
    customer = make_account("customer")
    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(lambda _: attempt(customer), range(20)))
    statuses = [status for status, _ in outcomes]
    assert statuses.count("authorized") == 2, outcomes
    assert statuses.count("RESOURCE_EXHAUSTED") == 18, outcomes
    written = requests_of(db, customer.uid)
    assert len(written) == 2  # a refused call wrote nothing
    held = [ec.payment_intent(r["paymentIntentId"])["status"] for r in written.values()]
    assert held == ["requires_capture", "requires_capture"]


def test_requests_in_a_row_stop_at_the_open_limit_and_say_what_to_do(db, make_account):
    customer = make_account("customer")
    outcomes = [attempt(customer) for _ in range(12)]
    assert [s for s, _ in outcomes] == ["authorized"] * 2 + ["RESOURCE_EXHAUSTED"] * 10
    assert outcomes[2][1] == (
        "you have 2 open requests, the most at once is 2: try again when one of them ends "
        "(or cancel one)"
    )
    assert len(requests_of(db, customer.uid)) == 2  # two dispatched, not twelve
    first = next(iter(requests_of(db, customer.uid)))
    ec.call("cancel_request", {"requestId": first}, customer.id_token)
    assert attempt(customer)[0] == "authorized"  # room again once one ends


def test_declined_cards_stop_reaching_stripe_after_the_daily_limit(db, make_account):
    customer = make_account("customer")
    outcomes = [attempt(customer, DECLINED) for _ in range(12)]
    assert [s for s, _ in outcomes] == ["FAILED_PRECONDITION"] * 5 + ["RESOURCE_EXHAUSTED"] * 7
    assert {m for s, m in outcomes if s == "FAILED_PRECONDITION"} == {"Your card was declined"}
    refused = outcomes[5][1]
    assert refused.startswith("at most 5 card attempts a day that were not accepted: ")
    assert "try again in 1440 minutes" in refused
    # the refused seven reached neither Firestore nor Stripe: five requests, five intents
    written = requests_of(db, customer.uid)
    assert len(written) == 5
    assert all(r["paymentStatus"] == "failed" for r in written.values())
    # a good card is refused too until the day passes: the limit is the account's
    assert attempt(customer)[0] == "RESOURCE_EXHAUSTED"


def test_a_declined_cards_intent_is_cancelled_so_its_secret_tries_no_other_card(db, make_account):
    customer = make_account("customer")
    assert attempt(customer, DECLINED) == ("FAILED_PRECONDITION", "Your card was declined")
    [doc] = requests_of(db, customer.uid).values()
    assert (doc["paymentStatus"], doc["paymentOwed"]) == ("failed", None)
    # cancelled at Stripe: Stripe.js could otherwise confirm it again with card after card,
    # past every limit counted here
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"


def test_the_counters_are_server_only_and_name_no_address(db, make_account):
    customer = make_account("customer")
    create(customer)
    counters = db.collection("customerLimits").document(customer.uid).get().to_dict()
    assert len(counters["open"]) == 1 and len(counters["created"]) == 1
    assert counters["attempts"] == {}  # the authorized card is not a failed attempt
    status, _ = ec.read_as(f"customerLimits/{customer.uid}", customer.id_token)
    assert status == 403
    # the local stack's calls come from 127.0.0.1: counted under its digest, never the address
    key = limits.source_key("127.0.0.1")
    sources = db.collection("sourceLimits").document(key).get().to_dict()
    assert sources is not None and len(sources["signups"]) >= 1  # the blocking function counted
    assert all("127.0.0.1" not in doc.id for doc in db.collection("sourceLimits").stream())
