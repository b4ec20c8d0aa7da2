"""Roles: every new account is a customer; an admin tool makes helpers and admins."""

from __future__ import annotations

from homepro.domain import limits
from homepro.domain.errors import InvalidInput
from homepro.domain.models import Role
from homepro.services.context import Context
from homepro.services.ports import Identity


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
    """Set the `role` claim of the account with `email` and mirror it; returns its uid."""
    try:
        wanted = Role(role)
    except ValueError:
        raise InvalidInput("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    uid = identity.uid_for_email(email)
    identity.set_role_claim(uid, wanted)
    ctx.users.set_user_role(uid, wanted, ctx.clock.now())
    return uid
