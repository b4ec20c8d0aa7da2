"""Roles: every new account is a customer; an admin tool makes helpers and admins, and the
callables act with the role the server wrote last, not the one an older ID token still carries."""

from __future__ import annotations

import logging

from homepro.domain import limits
from homepro.domain.errors import InvalidInput
from homepro.domain.models import Actor, Role
from homepro.services.context import Context
from homepro.services.ports import Identity

log = logging.getLogger(__name__)


def role_for_new_account(
    ctx: Context, uid: str, email: str | None, name: str | None, source: str | None = None
) -> Role:
    """The role a new account starts with; its profile `users/{uid}` mirrors it. A sign-up is
    first counted against its source address's limit (`ResourceExhausted` past it: the account
    is not created)."""
    now = ctx.clock.now()
    if source:
        abuse = ctx.policy.abuse
        path = limits.source_limits_path(limits.source_key(source))
        ctx.limits.count_signup(
            limits.source_key(source), lambda found: limits.admit_signup(abuse, found, path, now)
        )
    display_name = name or (email.split("@")[0] if email else None)
    ctx.users.ensure_user(
        uid,
        {
            "role": Role.CUSTOMER.value,
            "displayName": display_name,
            "isAvailable": False,
            "createdAt": now,
            "updatedAt": now,
        },
    )
    return Role.CUSTOMER


def assign_role(ctx: Context, identity: Identity, email: str, role: str) -> str:
    """Set the `role` claim of the account with `email`, mirror it in `users/{uid}.role` and
    sign the account out everywhere (its refresh tokens revoked: the next ID token comes from
    a new sign-in, with the new claim); returns its uid."""
    try:
        wanted = Role(role)
    except ValueError:
        raise InvalidInput("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    uid = identity.uid_for_email(email)
    identity.set_role_claim(uid, wanted)
    # from this write on, callables act with the new role (`acting_actor`)
    ctx.users.set_user_role(uid, wanted, ctx.clock.now())
    # last: a session signed in before this point cannot mint a token with the old claim
    identity.revoke_sessions(uid)
    return uid


def acting_actor(ctx: Context, uid: str, claimed: Role) -> Actor:
    """Who a callable acts for. A customer claim is taken as is (it grants the least). A helper
    or admin claim counts only while `users/{uid}.role`, which only the server writes, still
    says the same: an ID token keeps its claim for up to an hour after a demotion, the profile
    changes at once. Otherwise the caller acts as a customer until they sign in again.

    One read by key per helper or admin call, never cached: a cache would only delay the
    demotion, and these calls (claims, sessions, admin tools) are few next to that read."""
    if claimed == Role.CUSTOMER:
        return Actor(uid=uid, role=Role.CUSTOMER)
    profile = ctx.users.get_user(uid)
    current = profile.role if profile is not None else None
    if current == claimed:
        return Actor(uid=uid, role=claimed)
    log.warning(
        "role claim no longer held: acting as a customer",
        extra={"uid": uid, "claimed": claimed.value, "current": current},
    )
    return Actor(uid=uid, role=Role.CUSTOMER)
