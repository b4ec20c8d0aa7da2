"""End-to-end fixtures: Debian's Chromium driven by Playwright against the stack's Hosting."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from firebase_admin import firestore
from google.cloud.firestore_v1 import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    expect,
    sync_playwright,
)

import emulator_client as ec
from homepro import bootstrap
from homepro.services.roles import assign_role

ROOT = Path(__file__).resolve().parents[2]


APP = os.environ.get("HOMEPRO_APP_URL", "http://127.0.0.1:5000")
CHROMIUM = os.environ.get("HOMEPRO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / ".cache" / "e2e-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
# Waits are for things that happen (a trigger, a Stripe call); a failure shows within 20 s.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def db() -> Client:
    return firestore.client(bootstrap.app())


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**{"viewport": PHONE, "base_url": APP, **options})
        context.set_default_timeout(20_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def quoted_request(
    customer: ec.Account, category: str, description: str
) -> tuple[str, dict[str, Any]]:
    """A request made the way the form makes it, through the callables: the wait asked for
    (`quote_wait`), then `create_request` with that quote and the test card. Its id, and the
    quote shown."""
    quote: dict[str, Any] = ec.call("quote_wait", {"category": category}, customer.id_token)
    body = {
        "category": category,
        "description": description,
        "paymentMethodId": "pm_card_visa",
        "quoteId": quote["quoteId"],
    }
    return str(ec.call("create_request", body, customer.id_token)["requestId"]), quote


def shot(page: Page, name: str) -> None:
    """A screenshot of a main screen, kept as a test artifact."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def helper_account(db: Client) -> Callable[..., ec.Account]:
    """An available helper (made by the admin tool, as in production)."""

    def make(display_name: str = "Hana Helper", **profile: Any) -> ec.Account:
        email = f"{unique('helper')}@homepro.test"
        ec.sign_up(email, display_name=display_name)
        assign_role(bootstrap.context(), bootstrap.identity(), email, "helper")
        account = ec.sign_in(email)
        db.collection("users").document(account.uid).update(
            {"displayName": display_name, "isAvailable": True, **profile}
        )
        return account

    return make


@pytest.fixture
def alone_on_duty(db: Client) -> Iterator[None]:
    """Every helper on duty taken off (and put back afterwards), once the directory says so: a
    first wave (two helpers) is drawn among the test's own helpers, not earlier tests'."""
    on_duty = db.collection("users").where(filter=FieldFilter("isAvailable", "==", True))
    off = [snap.id for snap in on_duty.stream()]
    for uid in off:
        db.collection("users").document(uid).update({"isAvailable": False})
    dispatch = bootstrap.context().stores.dispatch
    deadline = time.monotonic() + 30
    while any(user.uid in off for user, _ in dispatch.directory()):
        assert time.monotonic() < deadline, "the directory kept helpers taken off duty"
        time.sleep(0.2)
    yield
    for uid in off:
        db.collection("users").document(uid).update({"isAvailable": True})


def sign_in(page: Page, account: ec.Account) -> None:
    page.goto("/")
    page.get_by_test_id("email").fill(account.email)
    page.get_by_test_id("password").fill(account.password)
    page.get_by_test_id("submit-auth").click()


def sign_up(page: Page, email: str, display_name: str) -> None:
    page.goto("/")
    page.get_by_test_id("signup-toggle").click()
    page.get_by_test_id("display-name").fill(display_name)
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill(ec.PASSWORD)
    page.get_by_test_id("submit-auth").click()


def choose_category(page: Page, category: str) -> Locator:
    """Choose the request form's category and wait for the expected wait it shows before the
    card step; an over-15 wait (no helper free in the category) is accepted. Returns the wait."""
    page.get_by_test_id("category").select_option(category)
    wait = page.get_by_test_id("wait-quote")
    expect(wait).to_be_visible()
    if wait.get_attribute("data-over-promise") == "true":
        page.get_by_test_id("accept-wait").click()
        expect(wait).to_have_attribute("data-accepted", "true")
    return wait
