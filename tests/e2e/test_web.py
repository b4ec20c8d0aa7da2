"""The seed's verification tests in a real browser: a customer and a helper, two contexts, on
the stack (Hosting serves the built client; Auth, Firestore, Functions are the emulators;
localstripe holds the cards)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from google.cloud.firestore_v1 import Client
from playwright.sync_api import BrowserContext, Page, expect

import emulator_client as ec
from conftest import APP, ARTIFACTS, choose_category, shot, sign_in, sign_up, unique

DESCRIPTION = "The kitchen sink drips all night long."
CLIENTS = "() => clients.matchAll({type: 'window', includeUncontrolled: true}).then(l => l.length)"


def request_help(page: Page, method: str = "pm_card_visa", category: str = "plumbing") -> str:
    """Fill and send the new-request form; returns the request id from the status page URL."""
    page.goto("/customer/request")
    choose_category(page, category)
    page.get_by_test_id("description").fill(DESCRIPTION)
    page.get_by_test_id("payment-method").select_option(method)
    page.get_by_test_id("submit-request").click()
    page.wait_for_url("**/customer/request/*/status")
    return page.url.rstrip("/").split("/")[-2]


def request_doc(db: Client, request_id: str) -> dict[str, Any]:
    return db.collection("requests").document(request_id).get().to_dict() or {}


def expect_status(page: Page, test_id: str, status: str) -> None:
    expect(page.get_by_test_id(test_id)).to_have_attribute("data-status", status)


def test_7_the_whole_flow_ends_with_the_payment_captured(
    db: Client, new_context: Callable[..., BrowserContext], helper_account, alone_on_duty
) -> None:
    helper = helper_account("Hana Helper")
    customer_page = new_context().new_page()
    helper_page = new_context().new_page()

    sign_up(customer_page, f"{unique('customer')}@homepro.test", "Cara Customer")
    customer_page.wait_for_url("**/customer/request")
    sign_in(helper_page, helper)
    helper_page.wait_for_url("**/helper/dashboard")
    expect(helper_page.get_by_test_id("availability-toggle")).to_have_attribute(
        "data-available", "true"
    )
    shot(helper_page, "helper-dashboard-empty")

    request_id = request_help(customer_page)
    expect_status(customer_page, "request-status", "pending")
    expect(customer_page.get_by_test_id("payment-status")).to_have_attribute(
        "data-payment-status", "authorized"
    )
    shot(customer_page, "customer-status-pending")

    # the helper's open dashboard shows the job and an in-app notification
    expect(helper_page.get_by_test_id(f"job-card-{request_id}")).to_be_visible()
    expect(helper_page.get_by_test_id("toast")).to_be_visible()
    expect(helper_page.get_by_test_id("inbox-item").first).to_be_visible()
    shot(helper_page, "helper-dashboard-job")

    helper_page.get_by_test_id(f"claim-{request_id}").click()
    helper_page.wait_for_url(f"**/helper/job/{request_id}")  # the claim answered
    expect_status(helper_page, "job-status", "claimed")
    expect(customer_page.get_by_test_id("helper-name")).to_contain_text("Hana Helper")
    shot(customer_page, "customer-status-claimed")

    items = helper_page.locator("[data-testid^='checklist-item-']")
    expect(items.first).to_be_visible()
    expect(helper_page.get_by_test_id("start-session")).to_be_disabled()
    for index in range(items.count()):
        items.nth(index).check()
    shot(helper_page, "helper-job-checklist")
    helper_page.get_by_test_id("start-session").click()
    expect(helper_page.get_by_test_id("helper-join-link")).to_be_visible()

    expect_status(customer_page, "request-status", "in_session")
    customer_page.get_by_test_id("join-session").click()
    expect(customer_page.get_by_test_id("join-link")).to_be_visible()
    shot(customer_page, "customer-status-session")

    expect_status(helper_page, "session-status", "active")
    helper_page.get_by_test_id("end-outcome").select_option("resolved")
    helper_page.get_by_test_id("end-notes").fill("Replaced the washer.")
    helper_page.get_by_test_id("end-session").click()
    expect_status(helper_page, "job-status", "completed")

    expect_status(customer_page, "request-status", "completed")
    expect(customer_page.get_by_test_id("payment-status")).to_have_attribute(
        "data-payment-status", "captured"
    )
    shot(customer_page, "customer-status-completed")
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["outcome"], doc["paymentStatus"]) == (
        "completed",
        "resolved",
        "captured",
    )
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "succeeded"


def test_3_cancel_releases_the_hold_and_returns_to_the_form(
    db: Client, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context().new_page()
    sign_up(page, f"{unique('customer')}@homepro.test", "Cole Customer")
    page.wait_for_url("**/customer/request")
    request_id = request_help(page)  # a page load right after sign-up keeps the name given
    expect(page.get_by_test_id("user-name")).to_have_text("Cole Customer")
    expect_status(page, "request-status", "pending")

    page.get_by_test_id("cancel-request").click()
    expect(page.get_by_test_id("cancel-dialog")).to_contain_text("released")
    shot(page, "customer-cancel-dialog")
    page.get_by_test_id("confirm-cancel").click()

    page.wait_for_url("**/customer/request")
    expect(page.get_by_test_id("request-form")).to_be_visible()  # the card step follows the wait
    doc = request_doc(db, request_id)
    assert (doc["status"], doc["paymentStatus"]) == ("cancelled", "released")
    assert ec.payment_intent(doc["paymentIntentId"])["status"] == "canceled"


def test_a_declined_card_is_a_clear_error_on_the_form(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context().new_page()
    sign_up(page, f"{unique('customer')}@homepro.test", "Dee Customer")
    page.wait_for_url("**/customer/request")
    choose_category(page, "plumbing")
    page.get_by_test_id("description").fill(DESCRIPTION)
    page.get_by_test_id("payment-method").select_option("pm_card_chargeCustomerFail")
    page.get_by_test_id("submit-request").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("declined")
    assert page.url.endswith("/customer/request")


def test_6_a_background_push_shows_one_notification_and_a_click_opens_its_url(
    new_context: Callable[..., BrowserContext], helper_account
) -> None:
    helper = helper_account("Hugo Helper")
    context = new_context(permissions=["notifications"])  # the helper allowed notifications
    app = context.new_page()
    sign_in(app, helper)
    app.wait_for_url("**/helper/dashboard")
    worker = context.service_workers[0] if context.service_workers else None
    if worker is None:
        worker = context.wait_for_event("serviceworker")
    app.evaluate("navigator.serviceWorker.ready.then(() => true)")

    # the DevTools protocol delivers a push as FCM would, to the registered worker
    blank = context.new_page()
    cdp = context.new_cdp_session(blank)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        blank.wait_for_timeout(100)
    [registration] = [r for r in registrations if r["scopeURL"].startswith(APP)][:1]
    app.close()  # no page of the app left: the worker shows the notification itself
    deadline = time.monotonic() + 10
    while worker.evaluate(CLIENTS) and time.monotonic() < deadline:
        blank.wait_for_timeout(100)

    data = {
        "type": "new_request",
        "requestId": "push-test",
        "url": "/helper/job/push-test",
        "title": "New job available",
        "body": "Plumbing: The kitchen sink drips all night long.",
    }
    payload = {"from": "000000000000", "fcmMessageId": "m-1", "priority": "high", "data": data}
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": APP,
            "registrationId": registration["registrationId"],
            "data": json.dumps(payload),
        },
    )
    shown: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not shown and time.monotonic() < deadline:
        blank.wait_for_timeout(200)
        shown = worker.evaluate(
            """() => self.registration.getNotifications().then(list => list.map(n => ({
                title: n.title, body: n.body, actions: n.actions.map(a => a.action), data: n.data
            })))"""
        )
    assert len(shown) == 1, shown  # exactly once: data-only, shown by our handler alone
    assert shown[0]["title"] == "New job available"
    assert shown[0]["actions"] == ["view", "dismiss"]

    # A click (on the notification body, not "Dismiss") brings an open window of the app to
    # data.url. (Chrome refuses `clients.openWindow` for a click fired from script, so the
    # test opens the window the worker then finds and navigates.)
    page = context.new_page()
    page.goto("/helper/settings")
    worker.evaluate(
        """() => self.registration.getNotifications().then(([n]) => self.dispatchEvent(
            new NotificationEvent('notificationclick', {notification: n})))"""
    )
    page.wait_for_url("**/helper/job/push-test?*")
    assert "from=notification" in page.url
    assert worker.evaluate("() => self.registration.getNotifications().then(l => l.length)") == 0


def test_a_limit_is_refused_plainly_on_the_form(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context().new_page()
    sign_up(page, f"{unique('customer')}@homepro.test", "Lee Customer")
    page.wait_for_url("**/customer/request")
    request_help(page)
    request_help(page)  # two open requests: the most one account may have
    page.goto("/customer/request")
    choose_category(page, "plumbing")
    page.get_by_test_id("description").fill(DESCRIPTION)
    page.get_by_test_id("payment-method").select_option("pm_card_visa")
    page.get_by_test_id("submit-request").click()
    expect(page.get_by_test_id("form-error")).to_contain_text(
        "you have 2 open requests, the most at once is 2: try again when one of them ends"
    )
    assert page.url.endswith("/customer/request")


def test_ten_requests_each_reach_the_helpers_open_dashboard_timed(
    db: Client, new_context: Callable[..., BrowserContext], helper_account
) -> None:
    helper = helper_account("Ivy Helper")
    helper_page = new_context().new_page()
    sign_in(helper_page, helper)
    helper_page.wait_for_url("**/helper/dashboard")
    expect(helper_page.get_by_test_id("job-board")).to_be_visible()

    seconds = []
    for n in range(10):
        # a customer of their own each (one account holds at most 2 open requests)
        customer_page = new_context().new_page()
        sign_up(customer_page, f"{unique('customer')}@homepro.test", f"Fay Customer {n}")
        customer_page.wait_for_url("**/customer/request")
        choose_category(customer_page, "general")
        customer_page.get_by_test_id("description").fill(DESCRIPTION)
        customer_page.get_by_test_id("payment-method").select_option("pm_card_visa")
        started = time.perf_counter()
        customer_page.get_by_test_id("submit-request").click()
        customer_page.wait_for_url("**/customer/request/*/status")
        request_id = customer_page.url.rstrip("/").split("/")[-2]
        expect(helper_page.get_by_test_id(f"job-card-{request_id}")).to_be_visible()
        seconds.append(time.perf_counter() - started)
    p50 = statistics.median(seconds)
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[-1]
    figures = {
        "p50_s": round(p50, 3),
        "p95_s": round(p95, 3),
        "runs": [round(s, 3) for s in seconds],
    }
    (ARTIFACTS / "submit-to-dashboard.json").write_text(json.dumps(figures, indent=2))
    # A figure to report (goal: p95 <= 2 s), printed and kept as an artifact, not asserted:
    # a timing bound would make the test flaky on a busy machine.
    print(f"\nsubmit -> helper's dashboard over 10 requests: p50 {p50:.2f} s, p95 {p95:.2f} s")


@pytest.fixture(autouse=True)
def _screenshots_dir() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def test_a_page_whose_chunk_is_gone_reloads_once_then_offers_a_reload(new_context):
    # A tab open across a deploy asks for a chunk the new version no longer has.
    page = new_context().new_page()
    sign_up(page, f"{unique('customer')}@homepro.test", "Cleo Customer")
    page.wait_for_url("**/customer/request")
    asked: list[str] = []

    def gone(route):
        asked.append(route.request.url)
        route.fulfill(status=404, body="gone")

    page.context.route("**/assets/RequestStatusPage-*.js", gone)
    page.goto("/customer/request/nope/status")
    expect(page.get_by_test_id("page-load-error")).to_be_visible()
    assert len(asked) == 2  # the first failure reloaded the tab once
    expect(page.get_by_test_id("user-role")).to_have_attribute("data-role", "customer")
