"""Cloud Functions registrations: options, decorated functions, one call into homepro each."""

from __future__ import annotations

from typing import Any

from firebase_functions import (
    firestore_fn,
    https_fn,
    identity_fn,
    options,
    scheduler_fn,
    tasks_fn,
)
from firebase_functions.core import Change
from flask import Request, Response
from google.cloud.firestore_v1 import DocumentSnapshot

from homepro import bootstrap, entrypoints, logs
from homepro.config import (
    DRAIN_MAX_CONCURRENT,
    ENFORCE_APP_CHECK,
    NOTIFYING_SECRETS,
    PAYING_SECRETS,
    REGION,
    SETTLE_MAX_CONCURRENT,
    STRIPE_BULK_RPS,
    STRIPE_WEBHOOK_SECRET,
    TIMER_MAX_CONCURRENT,
    VIDEO_SECRETS,
)
from homepro.domain.models import (
    AdminSettleInput,
    CancelRequestInput,
    CreateRequestInput,
    DispatchReportInput,
    EndSessionInput,
    QuoteWaitInput,
    RefundRequestInput,
    RegisterDeviceInput,
    RemoveDeviceInput,
    RequestRef,
    SessionRef,
    SetAvailabilityInput,
    StartSessionInput,
)
from homepro.services import (
    attention,
    claims,
    devices,
    payments,
    quotes,
    reconcile,
    reports,
    sessions,
    sweeps,
)

options.set_global_options(region=REGION, max_instances=20)
logs.install()  # the one handler: every `homepro` logger writes Cloud Logging's JSON
bootstrap.app()  # callables verify ID tokens with the default app; its credential loads lazily

Callable = https_fn.CallableRequest[Any]
# App Check on every callable (off on the emulators: config.ENFORCE_APP_CHECK). Given to each
# `on_call`: firebase-functions 0.6.0's on_call reads the global options it imported, so
# `set_global_options(enforce_app_check=...)` never reaches it.
APP_CHECK = ENFORCE_APP_CHECK.value
SWEEP_SCHEDULE, SWEEP_TIMEOUT_SEC = "every 1 minutes", 540
# A hold no request keeps is released within the hour (Stripe would keep it 7 days).
RECONCILE_SCHEDULE = "every 60 minutes"
# Timer tasks a second at most: far above what falls due (a few a second at peak), low enough
# that a storm of deadlines is spread over seconds rather than hitting Firestore at once.
TIMER_MAX_RPS = 500


@identity_fn.before_user_created()
def before_user_created(event: identity_fn.AuthBlockingEvent) -> identity_fn.BeforeCreateResponse:
    return entrypoints.before_user_created(event)


@https_fn.on_call(secrets=PAYING_SECRETS, enforce_app_check=APP_CHECK)
def create_request(req: Callable) -> dict[str, Any]:
    return entrypoints.call(
        req, CreateRequestInput, entrypoints.from_source(req, payments.create_request)
    )


@https_fn.on_call(enforce_app_check=APP_CHECK)
def quote_wait(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, QuoteWaitInput, quotes.quote_wait)


@https_fn.on_call(secrets=PAYING_SECRETS, enforce_app_check=APP_CHECK)
def cancel_request(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, CancelRequestInput, payments.cancel_request)


@https_fn.on_call(secrets=PAYING_SECRETS, enforce_app_check=APP_CHECK)
def refund_request(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, RefundRequestInput, payments.refund_request)


@https_fn.on_call(secrets=PAYING_SECRETS, enforce_app_check=APP_CHECK)
def admin_settle(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, AdminSettleInput, attention.admin_settle)


@https_fn.on_request(secrets=[*PAYING_SECRETS, STRIPE_WEBHOOK_SECRET])
def stripe_webhook(req: Request) -> Response:
    return entrypoints.stripe_webhook(req)


@https_fn.on_call(enforce_app_check=APP_CHECK)
def claim_request(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, RequestRef, claims.claim_request)


@https_fn.on_call(enforce_app_check=APP_CHECK)
def release_claim(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, RequestRef, claims.release_claim)


@https_fn.on_call(secrets=VIDEO_SECRETS, enforce_app_check=APP_CHECK)
def start_session(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, StartSessionInput, sessions.start_session)


@https_fn.on_call(enforce_app_check=APP_CHECK)
def join_session(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, SessionRef, sessions.join_session)


@https_fn.on_call(secrets=PAYING_SECRETS, enforce_app_check=APP_CHECK)
def end_session(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, EndSessionInput, sessions.end_session)


@https_fn.on_call(enforce_app_check=APP_CHECK)
def set_availability(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, SetAvailabilityInput, claims.set_availability)


@https_fn.on_call(enforce_app_check=APP_CHECK)
def register_device(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, RegisterDeviceInput, devices.register_device)


@https_fn.on_call(enforce_app_check=APP_CHECK)
def remove_device(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, RemoveDeviceInput, devices.remove_device)


@https_fn.on_call(timeout_sec=300, enforce_app_check=APP_CHECK)
def dispatch_report(req: Callable) -> dict[str, Any]:
    return entrypoints.call(req, DispatchReportInput, reports.dispatch_report)


# Triggers fan out to every matching helper: room for thousands of devices per round.
TRIGGER_MEMORY, TRIGGER_TIMEOUT_SEC = options.MemoryOption.MB_512, 300


@firestore_fn.on_document_created(
    document="requests/{requestId}",
    secrets=NOTIFYING_SECRETS,
    memory=TRIGGER_MEMORY,
    timeout_sec=TRIGGER_TIMEOUT_SEC,
)
def on_request_created(event: firestore_fn.Event[DocumentSnapshot | None]) -> None:
    entrypoints.request_created(event)


@firestore_fn.on_document_updated(
    document="requests/{requestId}",
    secrets=NOTIFYING_SECRETS,
    memory=TRIGGER_MEMORY,
    timeout_sec=TRIGGER_TIMEOUT_SEC,
)
def on_request_updated(event: firestore_fn.Event[Change[DocumentSnapshot | None]]) -> None:
    entrypoints.request_updated(event)


# The dispatch directory follows helpers' profiles and devices.
@firestore_fn.on_document_written(document="users/{uid}")
def on_user_written(event: firestore_fn.Event[Change[DocumentSnapshot | None]]) -> None:
    entrypoints.user_written(event)


@firestore_fn.on_document_written(document="users/{uid}/devices/{deviceId}")
def on_device_written(event: firestore_fn.Event[Change[DocumentSnapshot | None]]) -> None:
    entrypoints.device_written(event)


@scheduler_fn.on_schedule(
    schedule=SWEEP_SCHEDULE, timeout_sec=SWEEP_TIMEOUT_SEC, secrets=PAYING_SECRETS
)
def sweep_stale_requests(event: scheduler_fn.ScheduledEvent) -> None:
    entrypoints.run_sweep("sweep_stale_requests", sweeps.sweep_stale_requests)


@scheduler_fn.on_schedule(
    schedule=SWEEP_SCHEDULE, timeout_sec=SWEEP_TIMEOUT_SEC, secrets=PAYING_SECRETS
)
def sweep_stale_claims(event: scheduler_fn.ScheduledEvent) -> None:
    entrypoints.run_sweep("sweep_stale_claims", sweeps.sweep_stale_claims)


@scheduler_fn.on_schedule(
    schedule=RECONCILE_SCHEDULE, timeout_sec=SWEEP_TIMEOUT_SEC, secrets=PAYING_SECRETS
)
def reconcile_payments(event: scheduler_fn.ScheduledEvent) -> None:
    entrypoints.run_sweep("reconcile_payments", reconcile.reconcile_payments)


# Bulk settlements (the sweeps'): one Stripe budget for the project, STRIPE_BULK_RPS across every
# instance. A failed settlement is retried with backoff from 10 s to 5 minutes (its failures
# are counted on the request, which stops at PAYMENT_MAX_ATTEMPTS); a task that stops retrying
# leaves the request owed, and the next sweep enqueues it again.
@tasks_fn.on_task_dispatched(
    retry_config=options.RetryConfig(
        max_attempts=30, min_backoff_seconds=10, max_backoff_seconds=300, max_doublings=5
    ),
    rate_limits=options.RateLimits(
        max_dispatches_per_second=STRIPE_BULK_RPS,
        max_concurrent_dispatches=SETTLE_MAX_CONCURRENT,
    ),
    secrets=PAYING_SECRETS,
)
def settlepayment(req: Callable) -> dict[str, Any]:
    return entrypoints.settle_payment_task(req)


# Timers per request: each deadline of a request (escalation, expiry, claim and join timeouts,
# the session maximum and its warning) is a named task scheduled for its due time. A contended
# transaction or a failed read is retried from 1 s; after the retries the sweep (every minute)
# still does what is due. No Stripe call here: a settlement owed goes to `settlepayment`.
@tasks_fn.on_task_dispatched(
    retry_config=options.RetryConfig(
        max_attempts=5, min_backoff_seconds=1, max_backoff_seconds=60, max_doublings=4
    ),
    rate_limits=options.RateLimits(
        max_dispatches_per_second=TIMER_MAX_RPS,
        max_concurrent_dispatches=TIMER_MAX_CONCURRENT,
    ),
    secrets=[*PAYING_SECRETS, *NOTIFYING_SECRETS],
)
def requesttimer(req: Callable) -> dict[str, Any]:
    return entrypoints.request_timer_task(req)


# The outbox's backstop: a transition's work its trigger did not finish (the worker died) is
# resumed OUTBOX_GRACE_SECONDS after the commit. An entry another drainer holds is retried after
# its lease (10 s backoff, doubling to a minute).
@tasks_fn.on_task_dispatched(
    retry_config=options.RetryConfig(
        max_attempts=20, min_backoff_seconds=10, max_backoff_seconds=60, max_doublings=3
    ),
    rate_limits=options.RateLimits(
        max_dispatches_per_second=500, max_concurrent_dispatches=DRAIN_MAX_CONCURRENT
    ),
    secrets=[*NOTIFYING_SECRETS, *PAYING_SECRETS],
    memory=TRIGGER_MEMORY,
    timeout_sec=TRIGGER_TIMEOUT_SEC,
)
def drainoutbox(req: Callable) -> dict[str, Any]:
    return entrypoints.drain_outbox_task(req)
