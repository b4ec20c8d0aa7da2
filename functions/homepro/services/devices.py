"""Users register and remove the devices their pushes go to (clients no longer write them)."""

from __future__ import annotations

import logging

from homepro.domain.devices import device_id_of
from homepro.domain.errors import Forbidden
from homepro.domain.models import Actor, RegisterDeviceInput, RemoveDeviceInput
from homepro.services.context import Context

log = logging.getLogger(__name__)


def register_device(ctx: Context, actor: Actor, data: RegisterDeviceInput) -> dict[str, object]:
    """Record this installation's push token (again: the same device, its `updatedAt` renewed).
    Past MAX_DEVICES_PER_USER, the least recently registered device is replaced."""
    if actor.uid is None:
        raise Forbidden("sign in to register a device")
    registration = ctx.users.register_device(
        actor.uid,
        data.token,
        data.platform.value,
        ctx.clock.now(),
        ctx.policy.max_devices_per_user,
    )
    if registration.evicted:
        log.info(
            "devices replaced",
            extra={"uid": actor.uid, "evicted": list(registration.evicted)},
        )
    return {
        "deviceId": registration.device_id,
        "created": registration.new,
        "replaced": len(registration.evicted),
    }


def remove_device(ctx: Context, actor: Actor, data: RemoveDeviceInput) -> dict[str, object]:
    """Stop pushes to one of the caller's devices (by token or id); removing it twice is fine."""
    if actor.uid is None:
        raise Forbidden("sign in to remove a device")
    device_id = data.device_id if data.device_id is not None else device_id_of(data.token or "")
    removed = ctx.users.remove_device(actor.uid, device_id)
    return {"deviceId": device_id, "removed": removed}
