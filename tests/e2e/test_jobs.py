"""The job page before and after a claim: an open job (`jobs/{id}`) until the helper holds the
request, then the request itself; another helper finds it gone."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

import emulator_client as ec
from conftest import shot, sign_in, unique

DESCRIPTION = "The bathroom fan rattles and stops."


def test_a_helper_opens_an_open_job_claims_it_there_and_another_finds_it_gone(
    new_context: Callable[..., BrowserContext], helper_account
) -> None:
    hana, hugo = helper_account("Hana Helper"), helper_account("Hugo Helper")
    customer = ec.sign_up(f"{unique('customer')}@homepro.test")
    request_id = ec.call(
        "create_request",
        {"category": "general", "description": DESCRIPTION, "paymentMethodId": "pm_card_visa"},
        customer.id_token,
    )["requestId"]

    page = new_context().new_page()
    sign_in(page, hana)
    page.wait_for_url("**/helper/dashboard")
    page.get_by_test_id(f"view-{request_id}").click()
    page.wait_for_url(f"**/helper/job/{request_id}")
    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "pending")
    expect(page.get_by_test_id("job-description")).to_have_text(DESCRIPTION)
    shot(page, "helper-open-job")

    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "claimed")
    expect(page.get_by_test_id("checklist")).to_be_visible()

    other = new_context().new_page()
    sign_in(other, hugo)
    other.wait_for_url("**/helper/dashboard")
    other.goto(f"/helper/job/{request_id}")
    expect(other.get_by_test_id("job-unavailable")).to_be_visible()
