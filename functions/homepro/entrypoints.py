"""The edge between the Functions SDK and the services: auth, input, the one error map."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from firebase_functions import firestore_fn, https_fn, identity_fn
from firebase_functions.core import Change
from flask import Request, Response
from google.cloud.firestore_v1 import DocumentSnapshot
from pydantic import BaseModel

from homepro import bootstrap, config
from homepro.domain import errors
from homepro.domain.models import Actor, Role, parse_input
from homepro.services import directory, reactions, roles, sweeps
from homepro.services.context import Context

Code = https_fn.FunctionsErrorCode
log = logging.getLogger(__name__)

# The one map from domain errors to HttpsError codes; anything else is `internal`, and logged.
ERROR_CODES: dict[type[errors.HomeProError], Code] = {
    errors.InvalidInput: Code.INVALID_ARGUMENT,
    errors.Unauthenticated: Code.UNAUTHENTICATED,
    errors.Forbidden: Code.PERMISSION_DENIED,
    errors.NotFound: Code.NOT_FOUND,
    errors.InvalidTransition: Code.FAILED_PRECONDITION,
    errors.FailedPrecondition: Code.FAILED_PRECONDITION,
    errors.Conflict: Code.ABORTED,
    errors.Unavailable: Code.UNAVAILABLE,
    errors.ResourceExhausted: Code.RESOURCE_EXHAUSTED,
}

M = TypeVar("M", bound=BaseModel)
UseCase = Callable[[Context, Actor, M], dict[str, Any]]


def to_https_error(err: errors.HomeProError) -> https_fn.HttpsError:
    for kind in type(err).__mro__:
        code = ERROR_CODES.get(kind)
        if code is not None:
            return https_fn.HttpsError(code, err.message, _details(err))
    return https_fn.HttpsError(Code.INTERNAL, "internal error")


def _details(err: errors.HomeProError) -> dict[str, Any] | None:
    """What a client can act on beside the message: when to try again after a limit."""
    retry_at = getattr(err, "retry_at", None)
    return {"retryAt": retry_at.isoformat()} if retry_at is not None else None


def actor_of(ctx: Context, req: https_fn.CallableRequest[Any]) -> Actor:
    """The caller: uid and the server-set `role` claim (no claim: no role, nothing allowed),
    a helper or admin claim only while the profile's role, re-read, still agrees."""
    if req.auth is None or not req.auth.uid:
        raise errors.Unauthenticated("sign in first")
    role = req.auth.token.get("role")
    if role not in {r.value for r in Role}:
        raise errors.Forbidden("this account has no role")
    return roles.acting_actor(ctx, req.auth.uid, Role(role))


def call(
    req: https_fn.CallableRequest[Any], model: type[M], use_case: UseCase[M]
) -> dict[str, Any]:
    """Run a callable: authenticate, validate `data` as `model`, run the use case, map errors."""
    try:
        ctx = bootstrap.context()
        actor = actor_of(ctx, req)
        data = parse_input(model, req.data)
        return use_case(ctx, actor, data)
    except errors.HomeProError as err:
        raise to_https_error(err) from None
    except https_fn.HttpsError:
        raise
    except Exception as err:
        request_id = req.data.get("requestId") if isinstance(req.data, dict) else None
        log.exception("callable failed", extra={"error": repr(err), "request_id": request_id})
        raise https_fn.HttpsError(Code.INTERNAL, "internal error") from err


def request_created(event: firestore_fn.Event[DocumentSnapshot | None]) -> None:
    snap = event.data
    data = snap.to_dict() if snap is not None else None
    reactions.request_created(bootstrap.context(), event.params["requestId"], data)


def request_updated(
    event: firestore_fn.Event[Change[DocumentSnapshot | None]],
) -> None:
    change = event.data
    before = change.before.to_dict() if change.before is not None else None
    after = change.after.to_dict() if change.after is not None else None
    reactions.request_updated(bootstrap.context(), event.params["requestId"], before, after)


def user_written(
    event: firestore_fn.Event[Change[DocumentSnapshot | None]],
) -> None:
    change = event.data
    before = change.before.to_dict() if change.before is not None else None
    after = change.after.to_dict() if change.after is not None else None
    directory.profile_written(bootstrap.context(), event.params["uid"], before, after)


def device_written(
    event: firestore_fn.Event[Change[DocumentSnapshot | None]],
) -> None:
    directory.device_written(bootstrap.context(), event.params["uid"])


def run_sweep(name: str, sweep: Callable[[Context], sweeps.SweepResult]) -> None:
    result = sweep(bootstrap.background_context())
    log.info("sweep finished", extra={"sweep": name, "counts": result.counts})


def _task(
    req: https_fn.CallableRequest[Any],
    name: str,
    run: Callable[[Context, Mapping[str, Any]], str],
    ctx: Context,
    retry: tuple[type[Exception], ...] = (),
) -> dict[str, Any]:
    """One delivery of a task queue function: its outcome, logged with the payload's ids. A bad
    payload is answered 400 (logged); a failure in `retry` answers UNAVAILABLE, and Cloud Tasks
    retries it with the queue's backoff (so does any other error it raises)."""
    payload = req.data if isinstance(req.data, dict) else {}
    ids = {k: payload.get(k) for k in ("requestId", "kind", "entryId") if k in payload}
    try:
        outcome = run(ctx, payload)
    except errors.HomeProError as err:
        log.error(f"{name} task refused", extra={"error": str(err), "payload": payload})
        raise to_https_error(err) from None
    except retry as err:
        log.warning(f"{name} task failed, the queue retries it", extra={"error": str(err), **ids})
        raise https_fn.HttpsError(Code.UNAVAILABLE, f"{name}: {err}") from None
    log.info(f"{name} task", extra={"outcome": outcome, **ids})
    return {"outcome": outcome}


def settle_payment_task(req: https_fn.CallableRequest[Any]) -> dict[str, Any]:
    """A `settlepayment` task: a settlement still pending is retried by the queue."""
    from homepro.services import settlements

    return _task(
        req,
        "settlement",
        settlements.settle_task,
        bootstrap.task_context(),
        (settlements.SettlementPending,),
    )


def request_timer_task(req: https_fn.CallableRequest[Any]) -> dict[str, Any]:
    """A `requesttimer` task: a contended transaction (aborted) is retried by the queue."""
    from homepro.services import timers

    return _task(req, "timer", timers.run_timer, bootstrap.background_context())


def drain_outbox_task(req: https_fn.CallableRequest[Any]) -> dict[str, Any]:
    """A `drainoutbox` task: an entry another drainer holds is retried after its lease."""
    from homepro.services import drain

    return _task(req, "drain", drain.drain_task, bootstrap.task_context(), (drain.OutboxBusy,))


def stripe_webhook(req: Request) -> Response:
    """Verify the Stripe signature, then apply the event (400 if it does not verify)."""
    import stripe

    from homepro.services.webhooks import apply_stripe_event

    if req.method != "POST":
        return Response("method not allowed", status=405)
    try:
        event = stripe.Webhook.construct_event(
            req.get_data(),
            req.headers.get("Stripe-Signature", ""),
            config.STRIPE_WEBHOOK_SECRET.value,
        )
    except (ValueError, stripe.SignatureVerificationError) as err:
        log.warning("stripe webhook refused", extra={"error": str(err)})
        return Response("invalid signature", status=400)
    obj = event["data"]["object"]
    outcome = apply_stripe_event(bootstrap.context(), str(event["type"]), obj.to_dict())
    log.info(
        "stripe webhook",
        extra={"event_id": event["id"], "event_type": event["type"], "outcome": outcome},
    )
    return Response(json.dumps({"received": True, "outcome": outcome}), status=200)


def before_user_created(event: identity_fn.AuthBlockingEvent) -> identity_fn.BeforeCreateResponse:
    """The new account's role; refused past the sign-ups allowed from its address (the one
    Identity Platform saw the sign-up come from, `ip_address`)."""
    user = event.data
    try:
        role = roles.role_for_new_account(
            bootstrap.context(), user.uid, user.email, user.display_name, event.ip_address or None
        )
    except errors.ResourceExhausted as err:
        raise to_https_error(err) from None
    return identity_fn.BeforeCreateResponse(custom_claims={"role": role.value})


def from_source(
    req: https_fn.CallableRequest[Any], use_case: Callable[..., dict[str, Any]]
) -> UseCase[Any]:
    """`use_case` given the caller's address as Google's front end saw it (`config`)."""
    raw = req.raw_request
    source = config.source_address(raw.headers.get("X-Forwarded-For", ""), raw.remote_addr)
    return lambda ctx, actor, data: use_case(ctx, actor, data, source=source)
