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
