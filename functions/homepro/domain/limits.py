"""Abuse limits on the calls that move money or make accounts, planned as data.

The counters live in server-only documents and are read and written in the same commit as the
request a call creates, so parallel calls are serialized by the commit's condition: 20 calls at
once cannot all pass a limit of 2. Each counter is a sliding window of moments (or of request ids
to moments), pruned on every write, so a document never holds more than a limit's worth.

- `customerLimits/{uid}`: `open` (ids of the customer's requests not yet over), `created`
  (moments of the last hour's requests), `attempts` (request id -> {at, source}: card attempts of
  the last day not known to have been authorized: the declined ones, and those in flight).
- `sourceLimits/{key}`: `attempts` (request id -> moment, the last hour's card attempts from one
  source address not known to have been authorized) and `signups` (moments, the last hour).
  The key is a digest of the address: the documents name no address.

An attempt is counted when the request is created (before Stripe is called) and forgotten when
its card is authorized; one that is never authorized (declined, abandoned in 3-D Secure) counts
until its window passes. A lost "forget" (an instance dying in between) over-counts one attempt
for at most its window, never under-counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homepro.domain import writes
from homepro.domain.errors import ResourceExhausted
from homepro.domain.models import RequestDoc
from homepro.domain.policy import AbuseLimits
from homepro.domain.states import RequestStatus
from homepro.domain.writes import DocumentWrite

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# A request counts as open until it reaches one of these.
OPEN_STATUSES = {RequestStatus.PENDING, RequestStatus.CLAIMED, RequestStatus.IN_SESSION}

Data = Mapping[str, Any]
# Reads documents inside the commit being planned (None for a missing one), in the order asked.
Read = Callable[[Sequence[str]], Sequence[Data | None]]


def customer_limits_path(uid: str) -> str:
    return f"customerLimits/{uid}"


def source_key(address: str) -> str:
    """The document id for a source address (a digest: the address itself is not stored)."""
    return hashlib.sha256(f"homepro-source\x00{address.strip()}".encode()).hexdigest()[:32]


def source_limits_path(key: str) -> str:
    return f"sourceLimits/{key}"


def _when(moment: datetime) -> str:
    return moment.strftime("%H:%M UTC")


def _retry_in(now: datetime, at: datetime) -> str:
    minutes = max(1, -(-int((at - now).total_seconds()) // 60))
    return f"try again in {minutes} minute{'s' if minutes != 1 else ''} (after {_when(at)})"


def _recent(moments: Any, since: datetime) -> list[datetime]:
    return sorted(m for m in (moments or []) if isinstance(m, datetime) and m > since)


def _recent_map(entries: Any, since: datetime) -> dict[str, Any]:
    """Entries of a request-id map whose moment (`at`, or the value itself) is after `since`."""
    kept: dict[str, Any] = {}
    for key, value in dict(entries or {}).items():
        at = value.get("at") if isinstance(value, Mapping) else value
        if isinstance(at, datetime) and at > since:
            kept[str(key)] = value
    return kept


def _moment(value: Any) -> datetime:
    moment = value["at"] if isinstance(value, Mapping) else value
    assert isinstance(moment, datetime)
    return moment


def _within(
    moments: list[datetime], limit: int, window: timedelta, now: datetime, what: str
) -> None:
    """Refuse a call past `limit` moments in the sliding `window` (`moments` sorted, all in
    it), saying when the oldest that counts leaves the window."""
    if len(moments) >= limit:
        retry_at = moments[-limit] + window
        raise ResourceExhausted(f"at most {limit} {what}: {_retry_in(now, retry_at)}", retry_at)


def _written(path: str, found: Data | None, data: Mapping[str, Any]) -> DocumentWrite:
    """A counter document rewritten: created if the commit read it missing, else updated on
    condition that it is unchanged since that read (a parallel call makes this one run again)."""
    return writes.create(path, data) if found is None else writes.update(path, data)


def _still_open(request: RequestDoc | None) -> bool:
    return request is not None and request.status in OPEN_STATUSES


@dataclass(frozen=True)
class Admission:
    """Who creates a request, from where, and the limits that apply."""

    limits: AbuseLimits
    customer_id: str
    source: str | None  # the source address's key, None when unknown
    request_id: str
    now: datetime

    def __call__(self, read: Read) -> tuple[DocumentWrite, ...]:
        """Plan the counters' writes for a new request, or refuse it (`ResourceExhausted`,
        saying when to try again) with nothing written."""
        limits, now = self.limits, self.now
        customer_path = customer_limits_path(self.customer_id)
        source_path = source_limits_path(self.source) if self.source else None
        customer, source = (
            read([customer_path, source_path]) if source_path else [*read([customer_path]), None]
        )
        listed = [str(i) for i in (customer or {}).get("open", [])]
        found = read([f"requests/{i}" for i in listed]) if listed else []
        still_open = [
            request_id
            for request_id, data in zip(listed, found, strict=True)
            if _still_open(
                None if data is None else RequestDoc.model_validate({**data, "id": request_id})
            )
        ]
        if len(still_open) >= limits.open_requests_per_customer:
            raise ResourceExhausted(
                f"you have {len(still_open)} open requests, the most at once is "
                f"{limits.open_requests_per_customer}: try again when one of them ends "
                "(or cancel one)"
            )
        created = _recent((customer or {}).get("created"), now - HOUR)
        _within(created, limits.requests_per_customer_per_hour, HOUR, now, "requests an hour")
        attempts = _recent_map((customer or {}).get("attempts"), now - DAY)
        _within(
            sorted(_moment(v) for v in attempts.values()),
            limits.declines_per_customer_per_day,
            DAY,
            now,
            "card attempts a day that were not accepted",
        )
        source_attempts = _recent_map((source or {}).get("attempts"), now - HOUR)
        if source_path:
            _within(
                sorted(_moment(v) for v in source_attempts.values()),
                limits.declines_per_source_per_hour,
                HOUR,
                now,
                "card attempts an hour from this network that were not accepted",
            )
        counted: list[DocumentWrite] = [
            _written(
                customer_path,
                customer,
                {
                    "open": [*still_open, self.request_id],
                    "created": [*created, now],
                    "attempts": {
                        **attempts,
                        self.request_id: {"at": now, "source": self.source},
                    },
                    "updatedAt": now,
                },
            )
        ]
        if source_path:
            counted.append(
                _written(
                    source_path,
                    source,
                    {
                        "attempts": {**source_attempts, self.request_id: now},
                        "signups": _recent((source or {}).get("signups"), now - HOUR),
                        "updatedAt": now,
                    },
                )
            )
        return tuple(counted)


def forget_attempt(
    request_id: str,
    customer_path: str,
    customer: Data | None,
    source_path: str | None,
    source: Data | None,
) -> dict[str, dict[str, Any]]:
    """The counters' fields after `request_id`'s card was authorized (path -> fields): it no
    longer counts as a failed attempt. Empty when there is nothing to forget."""
    changed: dict[str, dict[str, Any]] = {}
    for path, found in ((customer_path, customer), (source_path, source)):
        attempts = dict((found or {}).get("attempts") or {})
        if path and request_id in attempts:
            attempts.pop(request_id)
            changed[path] = {"attempts": attempts}
    return changed


def admit_signup(
    limits: AbuseLimits, found: Data | None, path: str, now: datetime
) -> DocumentWrite:
    """Count a sign-up from one source, or refuse it (`ResourceExhausted`)."""
    signups = _recent((found or {}).get("signups"), now - HOUR)
    _within(
        signups,
        limits.signups_per_source_per_hour,
        HOUR,
        now,
        "new accounts an hour from this network",
    )
    return _written(
        path,
        found,
        {
            "signups": [*signups, now],
            "attempts": _recent_map((found or {}).get("attempts"), now - HOUR),
            "updatedAt": now,
        },
    )
