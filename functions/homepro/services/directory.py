"""Keep the dispatch directory current as profiles and devices change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homepro.domain.directory import profile_change_matters
from homepro.services.context import Context


def profile_written(
    ctx: Context, uid: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> bool:
    """A profile changed: refresh the helper's entry if a field it holds changed."""
    if not profile_change_matters(before, after):
        return False
    return ctx.dispatch.refresh_directory(uid, ctx.clock.now())


def device_written(ctx: Context, uid: str) -> bool:
    """A device was registered, refreshed or removed: refresh the owner's entry."""
    return ctx.dispatch.refresh_directory(uid, ctx.clock.now())
