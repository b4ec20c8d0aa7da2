"""The transactional outbox: what a commit owes the world, written in that commit.

A request's transition owes its round, its notifications (pushes, texts) and its analytics
events; a reserved dispatch round owes its pushes. Each is an entry `outbox/{entryId}` written
in the same commit as what owes it, and deleted once the work is done. The trigger does the
work inline (the first push leaves at once); if its worker dies, an entry older than
OUTBOX_GRACE_SECONDS is taken (leased for OUTBOX_LEASE_SECONDS) by a `drainoutbox` task, which
does the work again, resumed: a round sends only to the helpers it has not recorded, a
notification goes again to every recipient. A device hears of a round at most twice, once if
nothing died.

Entry ids are task-id safe (`[A-Za-z0-9-]`): the drain task's name is made of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

COLLECTION = "outbox"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EntryKind(StrEnum):
    TRANSITION = "transition"  # a request's version: its round, notifications, analytics
    ROUND = "round"  # a reserved dispatch round: its pushes


_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def _safe(part: str) -> str:
    return _UNSAFE.sub("-", part)


def transition_entry_id(request_id: str, version: int) -> str:
    return f"{_safe(request_id)}-v{version}"


def round_entry_id(request_id: str, round_key: str) -> str:
    return f"{_safe(request_id)}-round-{_safe(round_key)}"


def entry_path(entry_id: str) -> str:
    return f"{COLLECTION}/{entry_id}"


def transition_entry(
    request_id: str,
    version: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The entry of a request's transition to `version`: the request before and after it (the
    work is decided by the change, and the request may have moved on when it runs)."""
    return {
        "kind": EntryKind.TRANSITION.value,
        "requestId": request_id,
        "version": version,
        "before": None if before is None else dict(before),
        "after": dict(after),
        "owedAt": now,
        "attempts": 0,
        "leaseUntil": None,
    }


def round_entry(request_id: str, round_key: str, now: datetime) -> dict[str, Any]:
    """The entry of a dispatch round, written with its reservation."""
    return {
        "kind": EntryKind.ROUND.value,
        "requestId": request_id,
        "roundKey": round_key,
        "owedAt": now,
        "attempts": 0,
        "leaseUntil": None,
    }


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    kind: EntryKind
    request_id: str
    owed_at: datetime
    attempts: int
    version: int = 0
    round_key: str = ""
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    lease_until: datetime | None = None
    given_up: bool = False  # drained MAX_ATTEMPTS times and failed: kept for a person

    @classmethod
    def of(cls, entry_id: str, data: Mapping[str, Any]) -> OutboxEntry:
        return cls(
            id=entry_id,
            kind=EntryKind(data["kind"]),
            request_id=data["requestId"],
            owed_at=data.get("owedAt") or data.get("gaveUpAt") or EPOCH,
            attempts=int(data.get("attempts") or 0),
            version=int(data.get("version") or 0),
            round_key=data.get("roundKey") or "",
            before=data.get("before"),
            after=data.get("after"),
            lease_until=data.get("leaseUntil"),
            given_up=data.get("owedAt") is None,
        )


def takeable(data: Mapping[str, Any], now: datetime, grace: timedelta) -> bool:
    """Whether a drainer may take the entry now: owed for longer than `grace` (the trigger had
    its chance) and not leased to a drainer still within its lease."""
    owed_at = data.get("owedAt")
    if owed_at is None or now < owed_at + grace:
        return False
    lease = data.get("leaseUntil")
    return lease is None or lease <= now


def taken(data: Mapping[str, Any], now: datetime, lease: timedelta) -> dict[str, Any]:
    """The fields a drainer writes as it takes the entry."""
    return {"attempts": int(data.get("attempts") or 0) + 1, "leaseUntil": now + lease}


DRAIN_QUEUE = "drainoutbox"  # the task queue function's name (no `_`: Cloud Tasks ids)
TASK_ID_WINDOW_SECONDS = 3600


def drain_task_id(entry_id: str, attempts: int, epoch_seconds: float) -> str:
    """A drain task's name: one per entry and attempt, within an hour's window (Cloud Tasks
    keeps a used name up to an hour after its task is gone: a task that gave up must not
    block its entry's next one)."""
    return f"outbox-{entry_id}-{attempts}-{int(epoch_seconds // TASK_ID_WINDOW_SECONDS)}"
