"""The wait shown before paying, through the callables with real ID tokens: quote_wait, then
create_request with the quote; the request stores what was shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import emulator_client as ec
from conftest import wait_for
from homepro import bootstrap
from homepro.services.quotes import live_supply


def _ask(category: str = "plumbing", **fields):
    return {
        "category": category,
        "description": "The kitchen sink drips all night.",
        "paymentMethodId": "pm_card_visa",
        **fields,
    }


def _free(category: str) -> int:
    supply = live_supply(bootstrap.context(), category, datetime.now(UTC))
    return supply.free_helpers


def test_a_quote_then_a_request_that_stores_it(clean, make_account):
    customer = make_account()
    for _ in range(2):
        make_account("helper", categories=["plumbing"])
    wait_for(lambda: _free("plumbing") == 2)  # the directory follows the profiles

    shown = ec.call("quote_wait", {"category": "plumbing"}, customer.id_token)
    assert shown["category"] == "plumbing" and shown["helpersAvailable"] == 2
    assert shown["overPromise"] is False and 0 < shown["expectedMinutes"] <= 15
    assert shown["p90Minutes"] >= shown["expectedMinutes"]
    assert datetime.fromisoformat(shown["expiresAt"]) > datetime.now(UTC)

    made = ec.call("create_request", _ask(quoteId=shown["quoteId"]), customer.id_token)
    assert made["paymentStatus"] == "authorized"
    request = clean.collection("requests").document(made["requestId"]).get().to_dict()
    assert request["quote"]["id"] == shown["quoteId"]
    assert request["quote"]["expectedMinutes"] == shown["expectedMinutes"]
    assert request["quote"]["p90Minutes"] == shown["p90Minutes"]
    assert request["quote"]["shownAt"] <= request["createdAt"]
    quote = clean.collection("quotes").document(shown["quoteId"]).get().to_dict()
    assert quote["used"] is True and quote["requestId"] == made["requestId"]
    # the customer reads what they were shown on their request, never the quote itself
    status, fields = ec.read_as(f"requests/{made['requestId']}", customer.id_token)
    assert status == 200 and "quote" in fields
    assert ec.read_as(f"quotes/{shown['quoteId']}", customer.id_token)[0] == 403

    # one quote, one request
    with pytest.raises(ec.CallError) as err:
        ec.call("create_request", _ask(quoteId=shown["quoteId"]), customer.id_token)
    assert err.value.status == "FAILED_PRECONDITION"


def test_with_no_helper_free_the_wait_is_over_the_promise(clean, make_account):
    customer = make_account()
    shown = ec.call("quote_wait", {"category": "hvac"}, customer.id_token)
    assert shown["helpersAvailable"] == 0
    assert shown["overPromise"] is True and shown["expectedMinutes"] > 15


def test_an_expired_quote_is_refused_and_nothing_is_held(clean, make_account):
    customer = make_account()
    shown = ec.call("quote_wait", {"category": "plumbing"}, customer.id_token)
    past = datetime.now(UTC) - timedelta(seconds=1)
    clean.collection("quotes").document(shown["quoteId"]).update({"expiresAt": past})
    with pytest.raises(ec.CallError) as err:
        ec.call("create_request", _ask(quoteId=shown["quoteId"]), customer.id_token)
    assert err.value.status == "FAILED_PRECONDITION"
    assert "ask again" in err.value.message
    assert not list(clean.collection("requests").stream())


def test_bad_category_unknown_foreign_and_other_category_quotes_are_invalid(clean, make_account):
    customer, other = make_account(), make_account()
    with pytest.raises(ec.CallError) as err:
        ec.call("quote_wait", {"category": "roofing"}, customer.id_token)
    assert err.value.status == "INVALID_ARGUMENT" and "category" in err.value.message

    theirs = ec.call("quote_wait", {"category": "plumbing"}, other.id_token)
    mine = ec.call("quote_wait", {"category": "hvac"}, customer.id_token)
    for quote_id in ("no-such-quote", theirs["quoteId"], mine["quoteId"]):
        with pytest.raises(ec.CallError) as err:
            ec.call("create_request", _ask(quoteId=quote_id), customer.id_token)
        assert err.value.status == "INVALID_ARGUMENT" and "quoteId" in err.value.message
    assert not list(clean.collection("requests").stream())


def test_only_customers_ask_for_the_wait(clean, make_account):
    helper = make_account("helper")
    with pytest.raises(ec.CallError) as err:
        ec.call("quote_wait", {"category": "plumbing"}, helper.id_token)
    assert err.value.status == "PERMISSION_DENIED"
