"""Helpers claim and release requests; helpers set their availability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homepro.domain.errors import Forbidden, NotFound
from homepro.domain.lifecycle import (
    RELEASED_BY_HELPER,
    Transition,
    helper_claims_path,
    plan_claim,
    plan_release,
)
from homepro.domain.models import Actor, RequestDoc, RequestRef, Role, SetAvailabilityInput
from homepro.services.context import Context
from homepro.services.payments import settle


def claim_request(ctx: Context, actor: Actor, data: RequestRef) -> dict[str, str]:
    """A helper on duty takes a pending, paid request, within MAX_CLAIMS_PER_HELPER (counted in
    the claim's own commit, so parallel claims cannot slip past); every other claimant gets
    failed-precondition."""
    if actor.role != Role.HELPER or actor.uid is None:
        raise Forbidden("only helpers can claim requests")
    helper = ctx.users.get_user(actor.uid)
    if helper is None:
        raise Forbidden("no helper profile for this account")
    now = ctx.clock.now()
    held_path = helper_claims_path(actor.uid)
    limit = ctx.policy.max_claims_per_helper

    def plan(req: RequestDoc, read: Mapping[str, Mapping[str, Any] | None]) -> Transition:
        return plan_claim(req, helper, actor, now, read[held_path], limit)

    request, _ = ctx.requests.apply_reading(data.request_id, [held_path], plan, now)
    return {"requestId": request.id, "status": request.status.value}


def release_claim(ctx: Context, actor: Actor, data: RequestRef) -> dict[str, str]:
    """The claiming helper gives the request back (the MAX_RELEASES-th release expires it)."""
    if actor.role != Role.HELPER:
        raise Forbidden("only the helper holding this claim can release it")
    now = ctx.clock.now()

    def plan(req: RequestDoc) -> Transition:
        return plan_release(
            req, actor, now, max_releases=ctx.policy.max_releases, reason=RELEASED_BY_HELPER
        )

    request, _ = ctx.requests.apply(data.request_id, plan, now)
    request = settle(ctx, request)  # the release that expires it owes the hold's release
    return {
        "requestId": request.id,
        "status": request.status.value,
        "paymentStatus": request.payment_status.value,
    }


def set_availability(ctx: Context, actor: Actor, data: SetAvailabilityInput) -> dict[str, bool]:
    """A helper goes on or off duty: only available helpers are dispatched to."""
    if actor.role != Role.HELPER or actor.uid is None:
        raise Forbidden("only helpers have an availability")
    if ctx.users.get_user(actor.uid) is None:
        raise NotFound("no profile for this account")
    ctx.users.update_user(
        actor.uid, {"isAvailable": data.is_available, "updatedAt": ctx.clock.now()}
    )
    return {"isAvailable": data.is_available}
