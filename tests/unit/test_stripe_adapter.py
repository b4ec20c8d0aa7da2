"""The Stripe adapter against scripted Stripe answers: what localstripe does not check."""

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest
import stripe
from requests.structures import CaseInsensitiveDict

from homepro.adapters.stripe_payments import StripePayments
from homepro.services.ports import HoldRefused, PaymentError


def intent(status: str, **extra) -> dict:
    return {
        "id": "pi_1",
        "object": "payment_intent",
        "status": status,
        "client_secret": "pi_1_s",
        **extra,
    }


class ScriptedStripe(stripe.HTTPClient):
    """Answers each request with the next scripted (status, body) and records what was sent."""

    name = "scripted"

    def __init__(self, *answers: tuple[int, dict]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[dict] = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        self.sent.append(
            {
                "method": method,
                "path": url.split("://", 1)[1].split("/", 1)[1],
                "headers": dict(headers or {}),
                "params": parse_qs(
                    post_data.decode() if isinstance(post_data, bytes) else post_data or ""
                ),
            }
        )
        status, body, *headers = self.answers.pop(0)
        return (
            json.dumps(body),
            status,
            CaseInsensitiveDict({"Request-Id": "req_test", **(headers[0] if headers else {})}),
        )


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch):
    monkeypatch.setattr(stripe.HTTPClient, "_sleep_time_seconds", lambda self, n, response=None: 0)


def adapter(client: ScriptedStripe) -> StripePayments:
    return StripePayments("sk_test_x", http_client=client, max_rps=0)


def test_a_hold_is_created_unconfirmed_with_its_key_then_confirmed_with_another():
    client = ScriptedStripe(
        (200, intent("requires_confirmation")), (200, intent("requires_capture"))
    )
    stripe_ = adapter(client)
    assert stripe_.create_hold("req-1", 4900, "usd", "pm_card_visa", "cust-1") == "pi_1"
    held = stripe_.confirm_hold("req-1", "pi_1")
    assert (held.outcome, held.payment_intent_id) == ("authorized", "pi_1")
    created, confirmed = client.sent
    assert created["path"] == "v1/payment_intents"
    assert created["headers"]["Idempotency-Key"] == "req-1:create:pm_card_visa"
    params = {k: v[0] for k, v in created["params"].items()}
    assert params["capture_method"] == "manual" and "confirm" not in params
    assert (params["amount"], params["currency"], params["payment_method"]) == (
        "4900",
        "usd",
        "pm_card_visa",
    )
    assert (params["metadata[requestId]"], params["metadata[customerId]"]) == ("req-1", "cust-1")
    assert confirmed["path"] == "v1/payment_intents/pi_1/confirm"
    assert confirmed["headers"]["Idempotency-Key"] == "pi_1:confirm"


def test_a_payment_method_stripe_does_not_know_is_refused_not_retried():
    missing = {"error": {"type": "invalid_request_error", "message": "No such PaymentMethod"}}
    with pytest.raises(HoldRefused, match="No such PaymentMethod"):
        adapter(ScriptedStripe((400, missing))).create_hold("r", 1, "usd", "pm_x", "c")


def test_three_d_secure_returns_the_client_secret():
    held = adapter(ScriptedStripe((200, intent("requires_action")))).confirm_hold("r", "pi_1")
    assert (held.outcome, held.client_secret) == ("requires_action", "pi_1_s")


def test_a_declined_card_is_declined_with_its_reason():
    declined = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "message": "Your card was declined.",
        }
    }
    held = adapter(ScriptedStripe((402, declined))).confirm_hold("r", "pi_1")
    assert (held.outcome, held.decline_reason) == ("declined", "Your card was declined.")


def test_confirming_a_hold_cancelled_first_says_canceled():
    unexpected = {
        "error": {
            "type": "invalid_request_error",
            "code": "payment_intent_unexpected_state",
            "message": "This PaymentIntent's status is canceled",
        }
    }
    client = ScriptedStripe((400, unexpected), (200, intent("canceled")))
    held = adapter(client).confirm_hold("r", "pi_1")
    assert (held.outcome, held.payment_intent_id) == ("canceled", "pi_1")
    assert [s["method"] for s in client.sent] == ["post", "get"]


def test_a_stray_hold_is_released_with_a_key_of_its_own():
    client = ScriptedStripe((200, intent("canceled")))
    adapter(client).release_stray("pi_1")
    [sent] = client.sent
    assert sent["path"] == "v1/payment_intents/pi_1/cancel"
    assert sent["headers"]["Idempotency-Key"] == "pi_1:release"


def test_recent_holds_pages_by_created_and_reads_the_request_of_each():
    def page(*ids: str, more: bool) -> dict:
        data = [intent("requires_capture", id=i, metadata={"requestId": f"r-{i}"}) for i in ids]
        data.append(intent("canceled", id=f"{ids[-1]}x", metadata={}))
        return {"object": "list", "data": data, "has_more": more, "url": "/v1/payment_intents"}

    client = ScriptedStripe((200, page("pi_a", more=True)), (200, page("pi_b", more=False)))
    since = datetime(2026, 12, 1, tzinfo=UTC)
    holds = list(adapter(client).recent_holds(since))
    assert [(h.payment_intent_id, h.status, h.request_id) for h in holds] == [
        ("pi_a", "requires_capture", "r-pi_a"),
        ("pi_ax", "canceled", None),
        ("pi_b", "requires_capture", "r-pi_b"),
        ("pi_bx", "canceled", None),
    ]
    first, second = client.sent
    query = parse_qs(first["path"].split("?", 1)[1])
    assert query["created[gte]"] == [str(int(since.timestamp()))] and query["limit"] == ["100"]
    assert parse_qs(second["path"].split("?", 1)[1])["starting_after"] == ["pi_ax"]


def test_the_callables_client_gives_up_a_try_after_its_timeout():
    stripe_ = StripePayments("sk_test_x", timeout=8, max_network_retries=1)
    http = stripe_._client._requestor._client
    assert http._timeout == 8
    assert stripe_._client._requestor._options.max_network_retries == 1


def test_release_cancels_with_a_reason_and_its_own_key():
    client = ScriptedStripe((200, intent("canceled")))
    adapter(client).release("req-1", "pi_1")
    [sent] = client.sent
    assert sent["path"] == "v1/payment_intents/pi_1/cancel"
    assert sent["headers"]["Idempotency-Key"] == "req-1:release"
    assert sent["params"]["cancellation_reason"] == ["abandoned"]


def test_a_release_already_done_is_done():
    already = {
        "error": {
            "type": "invalid_request_error",
            "code": "payment_intent_unexpected_state",
            "message": "canceled",
        }
    }
    client = ScriptedStripe((400, already), (200, intent("canceled")))
    adapter(client).release("req-1", "pi_1")  # no error: the hold is released
    assert [s["method"] for s in client.sent] == ["post", "get"]


MISSING = {
    "error": {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "message": "No such payment_intent: 'pi_1'",
    }
}


def test_releasing_an_intent_stripe_does_not_know_is_done_not_owed_forever():
    client = ScriptedStripe((404, MISSING))
    adapter(client).release("req-1", "pi_1")  # no error: there is no hold to release
    assert len(client.sent) == 1


def test_capturing_an_intent_stripe_does_not_know_stays_owed():
    client = ScriptedStripe((404, MISSING), (404, MISSING))
    with pytest.raises(PaymentError, match="No such payment_intent"):
        adapter(client).capture("req-1", "pi_1")


def test_a_capture_cannot_become_a_release():
    captured = {"error": {"type": "invalid_request_error", "message": "already captured"}}
    client = ScriptedStripe((400, captured), (200, intent("succeeded")))
    with pytest.raises(PaymentError):
        adapter(client).release("req-1", "pi_1")


def test_5xx_is_retried_with_the_same_key_then_succeeds():
    unavailable = {"error": {"type": "api_error", "message": "down"}}
    client = ScriptedStripe((503, unavailable), (503, unavailable), (200, intent("succeeded")))
    adapter(client).capture("req-1", "pi_1")
    assert [s["headers"]["Idempotency-Key"] for s in client.sent] == ["req-1:capture"] * 3


def test_an_outage_past_the_retries_is_a_payment_error():
    unavailable = {"error": {"type": "api_error", "message": "down"}}
    client = ScriptedStripe(*[(503, unavailable)] * 4)
    with pytest.raises(PaymentError):
        adapter(client).release("req-1", "pi_1")
    assert len(client.sent) == 4  # one call and three retries


def test_429_is_retried_when_stripe_says_so_else_left_owed():
    limited = {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "slow"}}
    client = ScriptedStripe(
        (429, limited, {"Stripe-Should-Retry": "true"}), (200, intent("canceled"))
    )
    adapter(client).release("req-1", "pi_1")
    assert len(client.sent) == 2
    refused = ScriptedStripe((429, limited, {"Stripe-Should-Retry": "false"}))
    with pytest.raises(PaymentError):  # a PaymentError leaves `paymentOwed` for the sweep
        adapter(refused).release("r", "pi_1")


def test_a_settlement_after_a_failed_attempt_uses_a_fresh_key():
    # Stripe replays a key's first answer, a 500 included, for 24 hours: the sweep's retry of
    # a failed capture must not send the same key again, or it gets the same 500 all day.
    client = ScriptedStripe((200, intent("succeeded")), (200, intent("canceled")))
    adapter(client).capture("req-1", "pi_1", attempt=2)
    adapter(client).release("req-2", "pi_2", attempt=1)
    keys = [s["headers"]["Idempotency-Key"] for s in client.sent]
    assert keys == ["req-1:capture:2", "req-2:release:1"]


def test_an_idempotency_conflict_is_a_try_again_not_internal():
    conflict = {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests"}}
    with pytest.raises(PaymentError, match="idempotent"):
        adapter(ScriptedStripe((400, conflict))).create_hold("r", 1, "usd", "pm_x", "c")
