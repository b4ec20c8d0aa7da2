"""Text messages a phone number may get (toll fraud: a profile may name any number, a premium
one or someone else's). Texts go only to the country codes the product serves, and each number
gets at most a few an hour, counted on the server in `textCounts/{key}` (server only: the rules
open nothing of it), one document per number and hour, its id a hash of the number so that no
number is stored in the clear."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

TEXT_COUNTS = "textCounts"
# A count is of no use once its hour is over: Firestore's TTL policy on `expireAt` deletes it.
KEEP_COUNTS = timedelta(hours=2)


def hour_of(now: datetime) -> datetime:
    """The hour (UTC) a text sent at `now` counts in."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def text_count_path(phone: str, now: datetime) -> str:
    """The counter of texts to `phone` in `now`'s hour (the number's SHA-256, not the number)."""
    digest = hashlib.sha256(phone.encode()).hexdigest()[:32]
    return f"{TEXT_COUNTS}/{digest}-{hour_of(now):%Y%m%d%H}"


def first_text_count(now: datetime) -> dict[str, Any]:
    """A counter as its hour's first text creates it."""
    hour = hour_of(now)
    return {"count": 1, "hour": hour, "updatedAt": now, "expireAt": hour + KEEP_COUNTS}


def allowed_destination(phone: str, prefixes: Sequence[str]) -> bool:
    """Whether a text may go to `phone` (E.164): it starts with one of `prefixes` (none: any)."""
    return not prefixes or any(phone.startswith(prefix) for prefix in prefixes)


def parse_prefixes(value: str) -> tuple[str, ...]:
    """`"+1, +44"` -> `("+1", "+44")`; an empty value allows every number."""
    return tuple(p.strip() for p in value.split(",") if p.strip())
