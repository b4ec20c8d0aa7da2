"""The `Analytics` port: server events recorded once by their id, or many at a time."""

from __future__ import annotations

from contract import NOW
from homepro.domain.models import AnalyticsDoc


def test_analytics_events_are_recorded_once_by_id(backend):
    event = AnalyticsDoc(type="request_created", request_id="r1", user_id="c1", timestamp=NOW)
    analytics = backend.stores.analytics
    assert analytics.record_once("request_created-r1", event)
    assert not analytics.record_once("request_created-r1", event)
    analytics.record_all({"notification_sent-k-u1": event.model_copy(update={"user_id": "u1"})})
    stored = backend.dump()
    assert stored["analytics/request_created-r1"] == {
        "type": "request_created",
        "requestId": "r1",
        "sessionId": None,
        "userId": "c1",
        "metadata": {},
        "timestamp": NOW,
        "source": "server",
    }
    assert stored["analytics/notification_sent-k-u1"]["userId"] == "u1"
