"""Payments that need a person: `admin_settle` decides one (capture or release, with a reason,
audited), and the sweep releases a timed-out session's hold nobody decided within
ADMIN_DECISION_HOURS. The decision is written first (one commit with its audit event); the
Stripe call follows as any owed settlement does, and a failure is left owed for the sweeps."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from homepro.domain.attention import NO_DECISION, AlreadyDecided, plan_decision
from homepro.domain.errors import Forbidden, HomeProError, NotFound
from homepro.domain.lifecycle import Transition
from homepro.domain.models import Actor, AdminSettleInput, PaymentOwed, RequestDoc, Role
from homepro.services.context import Context
from homepro.services.payments import settle

log = logging.getLogger(__name__)


def admin_settle(ctx: Context, actor: Actor, data: AdminSettleInput) -> dict[str, Any]:
    """An admin captures or releases a hold with `paymentAttention`; a repeat of the same
    decision answers its result (and tries the Stripe call again if it is still owed)."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins settle a payment that needs attention")
    action = PaymentOwed(data.action)
    now = ctx.clock.now()

    def plan(request: RequestDoc) -> Transition:
        return plan_decision(request, actor, action, data.reason, now)

    try:
        request, _ = ctx.requests.apply(data.request_id, plan, now)
        log.info(
            "payment decided by an admin",
            extra={"request_id": request.id, "action": action.value, "admin": actor.uid},
        )
    except AlreadyDecided:
        found = ctx.requests.get_request(data.request_id)
        if found is None:
            raise NotFound(f"request {data.request_id} does not exist") from None
        request = found
    request = settle(ctx, request)
    return {
        "requestId": request.id,
        "action": action.value,
        "paymentStatus": request.payment_status.value,
        "paymentOwed": request.payment_owed.value if request.payment_owed else None,
    }


def release_undecided(ctx: Context, now: datetime) -> list[RequestDoc]:
    """Holds whose `paymentAttention.releaseBy` has passed with no decision are decided
    `release` by the system; returns the requests now owed that release."""
    owed = []
    page_size = ctx.tuning.sweep_page_size
    for queried in ctx.requests.undecided_requests(now, page_size):

        def plan(request: RequestDoc) -> Transition:
            return plan_decision(request, Actor.system(), PaymentOwed.RELEASE, NO_DECISION, now)

        try:
            request, _ = ctx.requests.apply(queried.request.id, plan, now, queried)
        except HomeProError:  # decided since the query ran
            continue
        except Exception as err:  # one bad request never stops the sweep
            log.error(
                "undecided hold not released",
                extra={"request_id": queried.request.id, "error": repr(err)},
            )
            continue
        log.warning(
            "hold released: no admin decision within ADMIN_DECISION_HOURS",
            extra={"request_id": request.id},
        )
        owed.append(request)
    return owed
