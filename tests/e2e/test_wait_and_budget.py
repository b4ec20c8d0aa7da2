"""Issue 17 in the browser: the expected wait on the request form before the card step (an
over-15 wait asks the customer first, the request stores what was shown, an expired quote is
asked again), and the helper's alert budget in settings (saved, and said when used up)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud.firestore_v1 import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from playwright.sync_api import BrowserContext, Page, expect

import emulator_client as ec
from conftest import choose_category, quoted_request, shot, sign_in, unique

DESCRIPTION = "The dryer stops after five minutes and smells hot."
WITHIN = re.compile(r"^A helper usually answers in about \d+ minutes? \(9 in 10 within \d+\)\.$")
OVER = re.compile(
    r"^Helpers are busy: the wait is likely over 15 minutes, about \d+ minutes"
    r" \(9 in 10 within \d+\)\."
)


def customer(page: Page) -> ec.Account:
    """A new customer signed in on `page`, on the request form."""
    account = ec.sign_up(f"{unique('customer')}@homepro.test", display_name="Quinn Customer")
    sign_in(page, account)
    page.wait_for_url("**/customer/request")
    return account


def requests_of(db: Client, uid: str) -> list[dict[str, Any]]:
    found = db.collection("requests").where(filter=FieldFilter("customerId", "==", uid)).stream()
    return [snap.to_dict() or {} for snap in found]


def submit(page: Page) -> str:
    page.get_by_test_id("submit-request").click()
    page.wait_for_url("**/customer/request/*/status")
    return page.url.rstrip("/").split("/")[-2]


def stored_quote(db: Client, request_id: str) -> dict[str, Any]:
    doc = db.collection("requests").document(request_id).get().to_dict() or {}
    quote: dict[str, Any] = doc.get("quote") or {}
    return quote


@pytest.fixture
def no_free_helper(db: Client) -> Iterator[Callable[[str], None]]:
    """Every available helper off duty (helpers with no categories serve every one), until the
    server's own quote for a category says no helper is free; put back on duty afterwards."""
    off: list[str] = []

    def make(category: str) -> None:
        on_duty = db.collection("users").where(filter=FieldFilter("isAvailable", "==", True))
        for snap in on_duty.stream():
            snap.reference.update({"isAvailable": False})
            off.append(snap.id)
        probe = ec.sign_up(f"{unique('probe')}@homepro.test")
        for _ in range(25):  # the directory follows profiles through a trigger
            quote = ec.call("quote_wait", {"category": category}, probe.id_token)
            if quote["helpersAvailable"] == 0:
                return
            time.sleep(1)
        raise AssertionError(f"{category} still has a free helper: {quote}")

    yield make
    for uid in off:
        db.collection("users").document(uid).update({"isAvailable": True})


def test_the_form_shows_the_wait_before_the_card_and_the_request_stores_it(
    db: Client, new_context: Callable[..., BrowserContext], helper_account
) -> None:
    helper_account("Wes Helper", categories=["hvac"])  # a free helper of the category
    page = new_context().new_page()
    account = customer(page)

    # no category, no wait, no card
    expect(page.get_by_test_id("wait-hint")).to_be_visible()
    expect(page.get_by_test_id("payment-method")).to_have_count(0)
    expect(page.get_by_test_id("submit-request")).to_have_count(0)

    page.get_by_test_id("category").select_option("hvac")
    wait = page.get_by_test_id("wait-quote")
    expect(wait).to_have_attribute("data-over-promise", "false")
    expect(wait).to_have_text(WITHIN)
    expect(page.get_by_test_id("payment-method")).to_be_visible()
    expect(page.get_by_test_id("accept-wait")).to_have_count(0)
    shot(page, "customer-form-wait")
    quote_id = wait.get_attribute("data-quote-id")
    expected = float(wait.get_attribute("data-expected") or "nan")
    p90 = float(wait.get_attribute("data-p90") or "nan")
    assert quote_id and expected <= 15

    page.get_by_test_id("description").fill(DESCRIPTION)
    page.get_by_test_id("payment-method").select_option("pm_card_visa")
    request_id = submit(page)

    quote = stored_quote(db, request_id)
    assert (quote.get("id"), quote.get("expectedMinutes"), quote.get("p90Minutes")) == (
        quote_id,
        expected,
        p90,
    )
    assert quote.get("shownAt") is not None
    assert [r.get("quote", {}).get("id") for r in requests_of(db, account.uid)] == [quote_id]


def test_a_waiting_request_shows_its_minutes_beside_the_wait_shown_then_that_it_is_late(
    db: Client, new_context: Callable[..., BrowserContext], helper_account
) -> None:
    helper_account("Lou Helper", categories=["plumbing"])  # a free helper: within 15 minutes
    page = new_context().new_page()
    account = customer(page)
    request_id, quote = quoted_request(
        account, "plumbing", "The shower drain backs up every morning."
    )
    page.goto(f"/customer/request/{request_id}/status")

    note = page.get_by_test_id("waiting-note")
    expect(note).to_have_attribute("data-late", "false")
    said = max(1, math.floor(float(quote["expectedMinutes"]) + 0.5))  # JS Math.round
    expect(note).to_contain_text(f"We said about {said} minute")

    # past the promise (its rounds now give way to newer requests): said plainly, with the way out
    late = datetime.now(UTC) - timedelta(minutes=16)
    db.collection("requests").document(request_id).update({"dispatchableAt": late})
    expect(note).to_have_attribute("data-late", "true")
    expect(note).to_contain_text("longer than the 15 minutes we aim for")
    expect(note).to_contain_text("the hold on your card is released")
    shot(page, "customer-request-late")
    page.get_by_test_id("cancel-request").click()
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("notice")).to_contain_text("The hold on your card was released.")


def test_an_over_15_wait_is_said_plainly_and_the_customer_chooses(
    db: Client, new_context: Callable[..., BrowserContext], no_free_helper
) -> None:
    no_free_helper("appliance")
    page = new_context().new_page()
    account = customer(page)

    page.get_by_test_id("category").select_option("appliance")
    wait = page.get_by_test_id("wait-quote")
    expect(wait).to_have_attribute("data-over-promise", "true")
    expect(wait).to_contain_text(OVER)
    # no card until the customer chooses to go on
    expect(page.get_by_test_id("accept-wait")).to_be_visible()
    expect(page.get_by_test_id("payment-method")).to_have_count(0)
    expect(page.get_by_test_id("submit-request")).to_have_count(0)
    shot(page, "customer-form-wait-over-15")

    # "Not now": nothing asked, nothing held
    page.get_by_test_id("decline-wait").click()
    expect(page.get_by_test_id("wait-declined")).to_be_visible()
    expect(page.get_by_test_id("category")).to_have_value("")
    expect(page.get_by_test_id("wait-quote")).to_have_count(0)
    assert requests_of(db, account.uid) == []

    # again, and go on: the card step, then the request stores the over-15 wait shown
    page.get_by_test_id("category").select_option("appliance")
    expect(wait).to_have_attribute("data-over-promise", "true")
    expect(page.get_by_test_id("payment-method")).to_have_count(0)
    page.get_by_test_id("accept-wait").click()
    expect(wait).to_have_attribute("data-accepted", "true")
    quote_id = wait.get_attribute("data-quote-id")
    page.get_by_test_id("description").fill(DESCRIPTION)
    page.get_by_test_id("payment-method").select_option("pm_card_visa")
    request_id = submit(page)

    quote = stored_quote(db, request_id)
    assert quote.get("id") == quote_id
    assert quote.get("expectedMinutes", 0) > 15


def test_an_expired_quote_is_asked_again_and_nothing_is_held(
    db: Client, new_context: Callable[..., BrowserContext], helper_account
) -> None:
    helper_account("Eli Helper", categories=["electrical"])
    page = new_context().new_page()
    account = customer(page)
    wait = choose_category(page, "electrical")
    first = wait.get_attribute("data-quote-id")
    page.get_by_test_id("description").fill(DESCRIPTION)
    page.get_by_test_id("payment-method").select_option("pm_card_visa")

    # the quote runs out on the server while the customer types (the page's clock: not yet)
    db.collection("quotes").document(str(first)).update(
        {"expiresAt": datetime.now(UTC) - timedelta(seconds=1)}
    )
    page.get_by_test_id("submit-request").click()
    expect(page.get_by_test_id("form-error")).to_contain_text(
        "The wait shown was out of date, so nothing was charged"
    )
    expect(wait).not_to_have_attribute("data-quote-id", str(first))
    expect(wait).to_have_attribute("data-refreshing", "false")
    assert requests_of(db, account.uid) == []
    assert page.url.endswith("/customer/request")

    # the new wait is the one the request stores
    if wait.get_attribute("data-over-promise") == "true":
        page.get_by_test_id("accept-wait").click()
    second = wait.get_attribute("data-quote-id")
    request_id = submit(page)
    assert stored_quote(db, request_id).get("id") == second != first


def test_after_a_declined_card_the_next_card_is_tried_with_a_new_wait(
    db: Client, new_context: Callable[..., BrowserContext]
) -> None:
    # the declined request used its quote (one quote, one request): the form asks again
    page = new_context().new_page()
    account = customer(page)
    wait = choose_category(page, "plumbing")
    first = wait.get_attribute("data-quote-id")
    page.get_by_test_id("description").fill(DESCRIPTION)
    page.get_by_test_id("payment-method").select_option("pm_card_chargeCustomerFail")
    page.get_by_test_id("submit-request").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("declined")
    expect(wait).not_to_have_attribute("data-quote-id", str(first))
    expect(wait).to_have_attribute("data-refreshing", "false")

    if wait.get_attribute("data-over-promise") == "true":
        page.get_by_test_id("accept-wait").click()
    second = wait.get_attribute("data-quote-id")
    page.get_by_test_id("payment-method").select_option("pm_card_visa")
    request_id = submit(page)
    assert stored_quote(db, request_id).get("id") == second != first
    quotes = sorted(r.get("quote", {}).get("id") for r in requests_of(db, account.uid))
    assert quotes == sorted([first, second])


def test_the_alert_budget_saves_and_says_when_it_is_used_up(
    db: Client, new_context: Callable[..., BrowserContext], helper_account
) -> None:
    helper = helper_account("Bea Helper")
    # off duty: no real alert rewrites the state this test writes as the server would
    db.collection("users").document(helper.uid).update({"isAvailable": False})
    page = new_context(timezone_id="UTC").new_page()
    sign_in(page, helper)
    page.wait_for_url("**/helper/dashboard")
    page.goto("/helper/settings")
    budget = page.get_by_test_id("alert-budget")
    expect(budget).to_have_text("No new-job alerts in the last hour.")
    # a phone means new jobs by text (TEXT_FROM_ROUND): the page says so beside the field
    expect(page.get_by_test_id("settings-phone-hint")).to_contain_text("come by text")

    field = page.get_by_test_id("settings-alerts-per-hour")
    field.fill("61")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-error")).to_contain_text("a whole number from 0 to 60")

    field.fill("3")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    profile = db.collection("users").document(helper.uid)
    assert (profile.get().to_dict() or {}).get("maxJobAlertsPerHour") == 3
    expect(budget).to_have_attribute("data-limit", "3")

    # the server's state after three alerts this hour (and one older, no longer counted)
    now = datetime.now(UTC)
    oldest = now - timedelta(minutes=50)
    alerts = db.collection("helperAlerts").document(helper.uid)
    alerts.set(
        {
            "alerts": [now - timedelta(minutes=70), oldest, now - timedelta(minutes=20), now],
            "limit": 3,
            "updatedAt": now,
        }
    )
    expect(page.get_by_test_id("alert-budget-used")).to_have_text(
        "3 of 3 alerts used in the last hour"
    )
    resumes = (oldest + timedelta(hours=1)).strftime("%H:%M")
    expect(page.get_by_test_id("alert-budget-used-up")).to_have_text(
        "Alert budget used up: new jobs still show on the job board; alerts resume at " + resumes
    )
    expect(budget).to_have_attribute("data-used-up", "true")
    shot(page, "helper-settings-budget-used-up")

    # one alert this hour: room for two more
    alerts.set({"alerts": [now - timedelta(minutes=20)], "limit": 3, "updatedAt": now})
    expect(page.get_by_test_id("alert-budget-used")).to_have_text(
        "1 of 3 alerts used in the last hour"
    )
    expect(page.get_by_test_id("alert-budget-used-up")).to_have_count(0)

    # more than the service allows: the server's next state says its cap (here 10)
    field.fill("20")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(page.get_by_test_id("alert-budget-capped")).to_have_count(0)  # written before
    later = datetime.now(UTC)
    alerts.set({"alerts": [now - timedelta(minutes=20), later], "limit": 10, "updatedAt": later})
    expect(page.get_by_test_id("alert-budget-used")).to_have_text(
        "2 of 10 alerts used in the last hour"
    )
    expect(page.get_by_test_id("alert-budget-capped")).to_have_text(
        "The service sends at most 10 new-job alerts an hour, so that is what you get."
    )
    alerts.set({"alerts": [now - timedelta(minutes=20)], "limit": 3, "updatedAt": now})

    # 0: the job board only; empty: back to the project's budget (null)
    field.fill("0")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-saved")).to_be_visible()  # the write acknowledged
    expect(budget).to_have_text("New-job alerts are off: new jobs show only on the job board.")
    assert (profile.get().to_dict() or {}).get("maxJobAlertsPerHour") == 0
    field.fill("")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(page.get_by_test_id("alert-budget-used")).to_have_text(
        "1 of 3 alerts used in the last hour"
    )
    assert "maxJobAlertsPerHour" in (profile.get().to_dict() or {})
    assert (profile.get().to_dict() or {})["maxJobAlertsPerHour"] is None
