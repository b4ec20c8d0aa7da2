"""Builds the real adapters once, lazily (cold start pays only for what a function uses)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import firebase_admin

from homepro import config
from homepro.domain.sessions import VideoRoom
from homepro.services.context import Context, Tuning
from homepro.services.ports import (
    Authorization,
    Hold,
    Identity,
    Payments,
    Push,
    PushMessage,
    PushResult,
    Sms,
    TaskQueue,
)

# Production's concurrency and page sizes (tests and the simulation build their own).
TUNING = Tuning()


@cache
def app() -> firebase_admin.App:
    """The default firebase-admin app (the Functions SDK may already have made it)."""
    try:
        return firebase_admin.get_app()
    except ValueError:
        return firebase_admin.initialize_app()


@cache
def context() -> Context:
    from firebase_admin import firestore

    from homepro.adapters.clock import SystemClock
    from homepro.adapters.firestore import firestore_stores

    tuning = dataclasses.replace(
        TUNING,
        outbox_grace_seconds=float(config.OUTBOX_GRACE_SECONDS.value),
        outbox_lease_seconds=float(config.OUTBOX_LEASE_SECONDS.value),
    )
    return Context(
        stores=firestore_stores(firestore.client(app()), tuning),
        clock=SystemClock(),
        policy=config.policy(),
        push=LazyPush(),
        sms=LazySms(),
        payments=LazyPayments(),
        video=LazyVideo(),
        tuning=tuning,
        app_url=config.app_url(),
        tasks=LazyTasks(),
    )


@cache
def background_context() -> Context:
    """The scheduled jobs' context: the same stores, the patient Stripe client."""
    return dataclasses.replace(context(), payments=LazyPayments("background"))


@cache
def task_context() -> Context:
    """The settlement tasks' context: the Stripe client paced at the queue's share."""
    return dataclasses.replace(context(), payments=LazyPayments("bulk"))


class LazyTasks:
    """Builds the Cloud Tasks client on the first enqueue (firebase-admin's `functions`)."""

    def enqueue(
        self,
        queue: str,
        payload: Mapping[str, Any],
        *,
        task_id: str | None = None,
        schedule_time: datetime | None = None,
    ) -> bool:
        return tasks().enqueue(queue, payload, task_id=task_id, schedule_time=schedule_time)


@cache
def tasks() -> TaskQueue:
    from homepro.adapters.cloud_tasks import CloudTaskQueue

    return CloudTaskQueue(app(), emulated=config.tasks_emulated())


class LazyVideo:
    """Builds the video client on the first session (its token is a runtime secret)."""

    def create(self, session_id: str, request_id: str, title: str) -> VideoRoom:
        from homepro.adapters.zoho_lens import ZohoLensSessions

        client = ZohoLensSessions(config.video_base_url(), config.VIDEO_ACCESS_TOKEN.value)
        return client.create(session_id, request_id, title)


class LazyPayments:
    """Builds the Stripe client on the first payment call (the key is a runtime secret): the
    callables' (short timeout, few retries), the jobs' (`background`) or the settlement
    tasks' (`bulk`)."""

    def __init__(self, kind: str = "inline") -> None:
        self._kind = kind

    def _stripe(self) -> Payments:
        if self._kind == "background":
            return background_payments()
        return bulk_payments() if self._kind == "bulk" else payments()

    def create_hold(
        self, request_id: str, amount: int, currency: str, payment_method_id: str, customer_id: str
    ) -> str:
        return self._stripe().create_hold(
            request_id, amount, currency, payment_method_id, customer_id
        )

    def confirm_hold(self, request_id: str, payment_intent_id: str) -> Authorization:
        return self._stripe().confirm_hold(request_id, payment_intent_id)

    def release(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        self._stripe().release(request_id, payment_intent_id, attempt)

    def release_stray(self, payment_intent_id: str) -> None:
        self._stripe().release_stray(payment_intent_id)

    def capture(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        self._stripe().capture(request_id, payment_intent_id, attempt)

    def refund(self, request_id: str, payment_intent_id: str, amount: int | None) -> None:
        self._stripe().refund(request_id, payment_intent_id, amount)

    def recent_holds(self, since: datetime) -> Iterator[Hold]:
        return self._stripe().recent_holds(since)


@cache
def stripe_budget(pool: str = "i") -> Any:
    """A pool of STRIPE_MAX_RPS across every instance (`stripeBudget` tokens): the callables'
    (`i`, what the queue leaves) or the settlement tasks' (`b`, STRIPE_BULK_RPS)."""
    from firebase_admin import firestore

    from homepro.adapters.firestore.documents import FirestoreDocuments
    from homepro.adapters.stripe_budget import BULK, SharedBudget

    docs = FirestoreDocuments(firestore.client(app()), TUNING)
    rate = config.STRIPE_BULK_RPS.value if pool == BULK else config.inline_stripe_rps()
    return SharedBudget(docs, rate, pool=pool, max_wait=config.STRIPE_BUDGET_WAIT_SEC.value)


@cache
def payments() -> Payments:
    """The callables' Stripe client: each call answers well inside the callable's timeout,
    paced at what the settlement queue leaves of STRIPE_MAX_RPS: in this process first, then
    across every instance (the shared budget)."""
    from homepro.adapters.stripe_payments import StripePayments

    return StripePayments(
        config.STRIPE_SECRET_KEY.value,
        base_url=config.stripe_base_url(),
        max_rps=config.inline_stripe_rps(),
        timeout=config.STRIPE_CALL_TIMEOUT_SEC.value,
        max_network_retries=config.STRIPE_CALL_RETRIES.value,
        budget=stripe_budget(),
    )


@cache
def bulk_payments() -> Payments:
    """The settlement tasks' Stripe client: the queue dispatches at STRIPE_BULK_RPS, and each
    call takes a token of the bulk pool (a burst of the queue's token bucket stays within it);
    one library retry (it honours `Stripe-Should-Retry`), then Cloud Tasks retries with
    backoff."""
    from homepro.adapters.stripe_payments import StripePayments

    return StripePayments(
        config.STRIPE_SECRET_KEY.value,
        base_url=config.stripe_base_url(),
        max_rps=config.STRIPE_BULK_RPS.value,
        max_network_retries=1,
        budget=stripe_budget("b"),
    )


@cache
def background_payments() -> Payments:
    """The scheduled jobs' Stripe client: the library's 80 s timeout and three retries. Their
    settlements go through the queue; what is left (the reconcile job's listing, a page of 100
    intents a call) takes tokens of the callables' budget."""
    from homepro.adapters.stripe_payments import StripePayments

    return StripePayments(
        config.STRIPE_SECRET_KEY.value,
        base_url=config.stripe_base_url(),
        max_rps=config.inline_stripe_rps(),
        budget=stripe_budget(),
    )


class LazyPush:
    """Builds the FCM client on the first push, not at cold start."""

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        return push().send(messages)


class LazySms:
    """Builds the Twilio client on the first SMS (its import is heavy)."""

    def send(self, to: str, body: str) -> bool:
        return sms().send(to, body)


@cache
def push() -> Push:
    from homepro.adapters.fcm import FcmPush

    static = config.fcm_static_token()
    return FcmPush(
        config.project_id() or str(app().project_id),
        config.fcm_base_url(),
        (lambda: static) if static else _google_access_token,
        concurrency=TUNING.push_concurrency,
    )


@cache
def _fcm_credential() -> Any:
    import google.auth.credentials

    credential = app().credential.get_credential()
    return google.auth.credentials.with_scopes_if_required(credential, config.FCM_SCOPES)


def _google_access_token() -> str:
    """An OAuth token for FCM from the app's credential (refreshed when it is near expiry)."""
    import google.auth.transport.requests

    credential = _fcm_credential()
    if not credential.valid:
        credential.refresh(google.auth.transport.requests.Request())
    return str(credential.token)


@cache
def sms() -> Sms:
    from homepro.adapters.twilio_sms import DisabledSms, TwilioSms

    credentials = config.twilio_credentials()
    if credentials is None:
        return DisabledSms()
    sid, token, sender = credentials
    return TwilioSms(sid, token, sender, base_url=config.twilio_base_url())


@cache
def identity() -> Identity:
    from homepro.adapters.identity import FirebaseIdentity

    return FirebaseIdentity(app())
