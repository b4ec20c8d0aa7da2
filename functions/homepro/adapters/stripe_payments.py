"""The Payments port on Stripe (a `StripeClient`, API version pinned by the library).

Holds are PaymentIntents with `capture_method=manual`, created unconfirmed with the customer's
payment method (so the request records the id first), then confirmed. Every call carries an
idempotency key derived from the request (or the intent) and the action, goes through one
process-wide pacer, then (the callables' and the jobs' clients) takes a token of the
project-wide budget (`stripe_budget.SharedBudget`: every instance together), and is retried
by the library (`max_network_retries`; stripe-python 16's `HTTPClient._should_retry` follows
`Stripe-Should-Retry` when Stripe sends it, else retries connection errors, 409 and 5xx, not
a plain 429) within `timeout` seconds a try: the
callables' client is short (it must answer inside the callable's 60 s), the jobs' is long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import stripe

from homepro.services.ports import Authorization, Hold, HoldRefused, PaymentError

log = logging.getLogger(__name__)

# PaymentIntent statuses after which a cancel or capture has nothing left to do.
ALREADY_RELEASED = {"canceled"}
ALREADY_CAPTURED = {"succeeded"}
# A page of the reconcile job's listing (Stripe's most).
LIST_PAGE = 100


class Pacer:
    """At most `rate` calls a second across the process's threads (evenly spaced)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


class Budget(Protocol):
    def take(self) -> bool: ...


class StripePayments:
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        max_rps: float = 20,
        max_network_retries: int = 3,
        timeout: float | None = None,
        http_client: Any = None,
        budget: Budget | None = None,
    ) -> None:
        options: dict[str, Any] = {"max_network_retries": max_network_retries}
        if http_client is None and timeout is not None:
            http_client = stripe.new_default_http_client(timeout=timeout)
        if http_client is not None:
            options["http_client"] = http_client
        if base_url:
            options["base_addresses"] = {"api": base_url}
        self._client = stripe.StripeClient(api_key, **options)
        self._pacer = Pacer(max_rps)
        self._budget = budget

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._pacer.wait()  # the first gate: this process's share, no round trip
        if self._budget is not None:
            try:
                self._budget.take()  # the project's: every instance together
            except Exception as err:  # the budget paces, it never fails a payment
                log.warning("stripe budget unavailable, calling anyway", extra={"error": repr(err)})
        try:
            return fn(*args, **kwargs)
        except (
            stripe.APIConnectionError,
            stripe.RateLimitError,
            stripe.APIError,
            # a key in flight (409), or reused with other parameters: a transient answer, never
            # `internal` (the keys below name what makes a call differ, so a retry can pass)
            stripe.IdempotencyError,
        ) as err:
            raise PaymentError(str(err)) from err

    def create_hold(
        self, request_id: str, amount: int, currency: str, payment_method_id: str, customer_id: str
    ) -> str:
        try:
            intent = self._call(
                self._client.v1.payment_intents.create,
                params={
                    "amount": amount,
                    "currency": currency,
                    "payment_method": payment_method_id,
                    "payment_method_types": ["card"],
                    "capture_method": "manual",
                    "metadata": {"requestId": request_id, "customerId": customer_id},
                },
                # the payment method in the key: a retry with a card entered again (Stripe.js
                # makes a new payment method each time) is another call, not a key reused with
                # other parameters; an unconfirmed PaymentIntent holds nothing
                options={"idempotency_key": f"{request_id}:create:{payment_method_id}"},
            )
        except stripe.InvalidRequestError as err:  # e.g. a payment method that does not exist
            raise HoldRefused(err.user_message or str(err)) from err
        return str(intent.id)

    def confirm_hold(self, request_id: str, payment_intent_id: str) -> Authorization:
        try:
            intent = self._call(
                self._client.v1.payment_intents.confirm,
                payment_intent_id,
                options={"idempotency_key": f"{payment_intent_id}:confirm"},
            )
        except stripe.CardError as err:
            return Authorization(
                "declined", payment_intent_id, decline_reason=err.user_message or str(err)
            )
        except stripe.InvalidRequestError as err:
            # Not confirmable: cancelled first (the request ended), or confirmed already (a
            # retry past the key's life). What it is now says which.
            now = self._retrieve(payment_intent_id)
            if now.status in ("canceled", "requires_capture", "requires_action"):
                return _authorization(payment_intent_id, str(now.status), now)
            return Authorization(
                "declined", payment_intent_id, decline_reason=err.user_message or str(err)
            )
        return _authorization(intent.id, str(intent.status), intent)

    def release(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        self._cancel(request_id, payment_intent_id, _key(request_id, "release", attempt))

    def release_stray(self, payment_intent_id: str) -> None:
        self._cancel(None, payment_intent_id, f"{payment_intent_id}:release")

    def _cancel(self, request_id: str | None, payment_intent_id: str, key: str) -> None:
        try:
            self._call(
                self._client.v1.payment_intents.cancel,
                payment_intent_id,
                params={"cancellation_reason": "abandoned"},
                options={"idempotency_key": key},
            )
        except stripe.InvalidRequestError as err:
            if _missing(err):
                # No such PaymentIntent in this account: no hold to release, and retrying will
                # not make one. Done, loudly: an operator should find out how that happened.
                log.error(
                    "ALERT: release of a PaymentIntent Stripe does not know; nothing to release",
                    extra={
                        "request_id": request_id,
                        "payment_intent_id": payment_intent_id,
                        "error": str(err),
                    },
                )
                return
            # Already canceled (a retry after a lost answer): the hold is released.
            if self._status(payment_intent_id) not in ALREADY_RELEASED:
                raise PaymentError(str(err)) from err

    def capture(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        try:
            self._call(
                self._client.v1.payment_intents.capture,
                payment_intent_id,
                options={"idempotency_key": _key(request_id, "capture", attempt)},
            )
        except stripe.InvalidRequestError as err:
            if self._status(payment_intent_id) not in ALREADY_CAPTURED:
                raise PaymentError(str(err)) from err

    def refund(self, request_id: str, payment_intent_id: str, amount: int | None) -> None:
        params: dict[str, Any] = {
            "payment_intent": payment_intent_id,
            "reason": "requested_by_customer",
        }
        if amount is not None:
            params["amount"] = amount
        try:
            self._call(
                self._client.v1.refunds.create,
                params=params,
                options={"idempotency_key": f"{request_id}:refund"},
            )
        except stripe.InvalidRequestError as err:
            raise PaymentError(str(err)) from err

    def recent_holds(self, since: datetime) -> Iterator[Hold]:
        # Stripe's list filters by `created`, not by metadata: each intent's request is read.
        params: dict[str, Any] = {"created": {"gte": int(since.timestamp())}, "limit": LIST_PAGE}
        while True:
            page = self._call(self._client.v1.payment_intents.list, params=params)
            for intent in page.data:
                metadata = intent.metadata.to_dict() if intent.metadata else {}
                yield Hold(str(intent.id), str(intent.status), metadata.get("requestId"))
            if not page.has_more or not page.data:
                return
            params = {**params, "starting_after": page.data[-1].id}

    def _status(self, payment_intent_id: str) -> str:
        return str(self._retrieve(payment_intent_id).status)

    def _retrieve(self, payment_intent_id: str) -> Any:
        try:
            return self._call(self._client.v1.payment_intents.retrieve, payment_intent_id)
        except stripe.InvalidRequestError as err:  # e.g. a capture of an unknown intent: owed
            raise PaymentError(str(err)) from err


def _authorization(payment_intent_id: str, status: str, intent: Any) -> Authorization:
    if status == "requires_capture":
        return Authorization("authorized", payment_intent_id=payment_intent_id)
    if status == "canceled":
        return Authorization("canceled", payment_intent_id=payment_intent_id)
    if status == "requires_action":
        secret = intent.client_secret if intent is not None else None
        return Authorization("requires_action", payment_intent_id, client_secret=secret)
    error = intent.last_payment_error if intent is not None else None
    reason = (error or {}).get("message") if error else None
    return Authorization("declined", payment_intent_id, decline_reason=reason or status)


def _missing(err: stripe.InvalidRequestError) -> bool:
    return err.http_status == 404 or err.code == "resource_missing"


def _key(request_id: str, action: str, attempt: int) -> str:
    """A settlement's idempotency key: a fresh one after each failed attempt, since Stripe
    replays a key's first answer (a 500 included) for 24 hours. A fresh key cannot settle twice:
    a capture of a captured intent, or a cancel of a cancelled one, is answered as done."""
    return f"{request_id}:{action}" if attempt <= 0 else f"{request_id}:{action}:{attempt}"
