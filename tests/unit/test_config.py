"""Deploy-time settings read from the environment the Functions runtime gives."""

import pytest

from homepro import config


@pytest.mark.parametrize(
    ("app_url", "project", "expected"),
    [
        ("https://help.example.com/", "homepro-prod", "https://help.example.com"),
        ("", "homepro-prod", "https://homepro-prod.web.app"),  # the project's Hosting site
        ("", "", ""),  # nowhere known: texts go without a link
    ],
)
def test_links_in_texts_start_at_the_app(monkeypatch, app_url, project, expected):
    monkeypatch.setenv("APP_URL", app_url)
    monkeypatch.setenv("GCLOUD_PROJECT", project)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    assert config.app_url() == expected


@pytest.mark.parametrize(
    ("total", "bulk", "inline"),
    [
        (None, None, 10),  # the defaults: 20 a second, half of it for the settlement queue
        ("30", "12", 18),
        ("10", "10", 1),  # the callables always keep one call a second
    ],
)
def test_the_callables_pace_stripe_at_what_the_queue_leaves(monkeypatch, total, bulk, inline):
    for name, value in (("STRIPE_MAX_RPS", total), ("STRIPE_BULK_RPS", bulk)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert config.inline_stripe_rps() == inline
