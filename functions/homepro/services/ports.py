"""The ports the services need: small Protocols that adapters and test fakes implement."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from homepro.domain.lifecycle import Transition
from homepro.domain.models import (
    AnalyticsDoc,
    AuditEvent,
    Device,
    RequestDoc,
    Role,
    SessionDoc,
    UserDoc,
)
from homepro.domain.notifications import Notification
from homepro.domain.sessions import SessionChange, VideoRoom

Planner = Callable[[RequestDoc], Transition]


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class RoundClaim:
    """A dispatch round this caller won the right to send: the request as it was, its number."""

    request: RequestDoc
    round: int


@dataclass(frozen=True)
class RoundCounts:
    helpers_targeted: int
    devices_targeted: int
    sent: int
    failed: int
    tokens_pruned: int
    sms_sent: int = 0

    def as_data(self) -> dict[str, int]:
        return {
            "helpersTargeted": self.helpers_targeted,
            "devicesTargeted": self.devices_targeted,
            "sent": self.sent,
            "failed": self.failed,
            "tokensPruned": self.tokens_pruned,
            "smsSent": self.sms_sent,
        }


@dataclass(frozen=True)
class PushMessage:
    """A data-only push to one device."""

    token: str
    data: Mapping[str, str]
    urgent: bool = False
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class PushResult:
    """`ok`, or the error code; `prune` when the token itself is dead (delete the device)."""

    ok: bool
    error: str | None = None
    prune: bool = False


class Push(Protocol):
    """FCM: send each message once (retrying transient errors); one result per message."""

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]: ...


@dataclass(frozen=True)
class Authorization:
    """What Stripe said to a card hold: `authorized`, `requires_action` (3-D Secure, with the
    client secret) or `declined` (with the reason)."""

    outcome: str
    payment_intent_id: str | None = None
    client_secret: str | None = None
    decline_reason: str | None = None


class PaymentError(Exception):
    """A Stripe call that failed and may succeed later (network, 429, 5xx): retry it."""


class Payments(Protocol):
    """Card holds (Stripe PaymentIntents, manual capture). Every call has an idempotency key
    derived from the request and the action, so a retry repeats nothing."""

    def authorize(
        self, request_id: str, amount: int, currency: str, payment_method_id: str, customer_id: str
    ) -> Authorization: ...

    def release(self, request_id: str, payment_intent_id: str) -> None: ...

    def capture(self, request_id: str, payment_intent_id: str) -> None: ...

    def refund(self, request_id: str, payment_intent_id: str, amount: int | None) -> None: ...


class VideoSessions(Protocol):
    """The video provider: a room per session, created once (the session id is the key)."""

    def create(self, session_id: str, request_id: str, title: str) -> VideoRoom: ...


SessionPlanner = Callable[[SessionDoc, RequestDoc], SessionChange]


class Sms(Protocol):
    """Text messages (Twilio). True if the provider accepted the message."""

    def send(self, to: str, body: str) -> bool: ...


@dataclass(frozen=True)
class FirstClaim:
    """A request's first claim, as the report scans it."""

    category: str
    seconds: float  # firstClaimedAt - dispatchableAt
    rounds: int  # dispatch rounds sent before it was claimed
    status: str = ""  # the request's status now
    dispatchable_at: datetime | None = None


@dataclass(frozen=True)
class Seen:
    """A request as a query read it. `apply` plans on it first, sparing a read; if the
    document changed since, its write is refused and it reads the request again."""

    request: RequestDoc
    read: Any = None  # the adapter's record of the read (Firestore: the snapshot)


class Store(Protocol):
    """Firestore as the services see it."""

    def get_request(self, request_id: str) -> RequestDoc | None: ...

    def apply(
        self, request_id: str, plan: Planner, now: datetime, seen: Seen | None = None
    ) -> tuple[RequestDoc, Transition]:
        """In one transaction: read the request (or start from `seen`), plan the transition,
        write it with `version` + 1 and `updatedAt`, and its audit event, on condition that the
        request is unchanged since the read (else read and plan again). Returns the request as
        written."""
        ...

    def create_request(
        self, request_id: str, data: Mapping[str, Any], now: datetime
    ) -> tuple[RequestDoc, bool]:
        """Create `requests/{request_id}` (version 1) with its `request_created` audit event in
        one transaction; if it exists, return it unchanged. True if this call created it."""
        ...

    def owed_requests(self, page_size: int) -> Iterator[RequestDoc]:
        """Requests whose `paymentOwed` is set (a Stripe call to retry), paged."""
        ...

    def stale_requests(
        self, state: str, time_field: str, before: datetime, page_size: int
    ) -> Iterator[Seen]:
        """Requests in `state` (their `status`, or their `paymentStatus` for `createdAt`) whose
        `time_field` is before `before`, paged."""
        ...

    def apply_session(
        self, session_id: str, plan: SessionPlanner, now: datetime
    ) -> tuple[SessionDoc, RequestDoc]:
        """In one transaction: re-read the session and its request, plan, write the session
        (`version` + 1) with its audit event, and the request transition it causes, if any."""
        ...

    def waiting_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        """Sessions still `waiting` since before `before` (join timeout)."""
        ...

    def checklists(self, defaults: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """`config/checklists`, written with `defaults` first if it is missing."""
        ...

    def ensure_checklists(self, defaults: Mapping[str, list[str]]) -> None:
        """Write `config/checklists` with `defaults` if it is missing; cheap on a hot path
        (once it is known to exist, nothing is read or written again)."""
        ...

    def get_user(self, uid: str) -> UserDoc | None: ...

    def update_user(self, uid: str, fields: Mapping[str, Any]) -> None:
        """Merge `fields` into `users/{uid}` (NotFound if there is no profile)."""
        ...

    def ensure_user(self, uid: str, fields: Mapping[str, Any]) -> bool:
        """Create `users/{uid}` with `fields` unless it exists; True if created."""
        ...

    def set_user_role(self, uid: str, role: Role, now: datetime) -> None:
        """Mirror the role claim into `users/{uid}.role` (creating the profile if needed)."""
        ...

    def record_analytics_once(self, event_id: str, event: AnalyticsDoc) -> bool:
        """Write `analytics/{event_id}` unless it exists; True if this call wrote it."""
        ...

    def record_analytics(self, events: Mapping[str, AnalyticsDoc]) -> None:
        """Write many `analytics/{event_id}` documents (idempotent: same id, same content)."""
        ...

    def get_event(self, request_id: str, event_id: str) -> AuditEvent | None: ...

    def get_session(self, session_id: str) -> SessionDoc | None: ...

    # -- dispatch

    def claim_round(self, request_id: str, round_key: str, now: datetime) -> RoundClaim | None:
        """In one transaction: if the request is dispatchable and `dispatches/{round_key}` does
        not exist, create it, count the round on the request (`dispatchRound`, and
        `dispatchableAt` the first time) and return the claim; else None."""
        ...

    def finish_round(
        self, request_id: str, round_key: str, counts: RoundCounts, now: datetime
    ) -> None: ...

    def record_targets(
        self, request_id: str, round_key: str, devices_by_uid: Mapping[str, int], now: datetime
    ) -> None:
        """`dispatches/{round_key}/targets/{uid}` for every targeted helper."""
        ...

    def round_targets(self, request_id: str) -> set[str]:
        """Every helper any round of the request targeted."""
        ...

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        """Every available helper with their devices, from the dispatch directory (a few
        documents, kept current by triggers on users and devices)."""
        ...

    def refresh_directory(self, uid: str, now: datetime) -> bool:
        """Recompute `uid`'s directory entry from their profile and devices; True if changed."""
        ...

    def rebuild_directory(self, now: datetime) -> int:
        """Rebuild the whole directory from users and devices (repair, bulk loads)."""
        ...

    def get_users(self, uids: Sequence[str]) -> dict[str, UserDoc]: ...

    def devices_of(self, users: Sequence[UserDoc]) -> dict[str, list[Device]]:
        """Every device of each user, the legacy `fcmToken` included (once)."""
        ...

    def delete_devices(self, devices: Sequence[Device]) -> None:
        """Forget dead tokens: delete the device documents, clear a legacy `fcmToken`."""
        ...

    # -- inbox

    def claim_inbox(self, uid: str, note: Notification, now: datetime) -> bool:
        """Create `users/{uid}/notifications/{note.key}`; False if it exists (already sent)."""
        ...

    def write_inbox(self, uids: Sequence[str], note: Notification, now: datetime) -> None:
        """Set `users/{uid}/notifications/{note.key}` for many users (idempotent)."""
        ...

    # -- reports: each read as the database stood at `read_time` (a moment of the last hour;
    # None: now), so one report's several reads agree with each other under live traffic.

    def read_time(self) -> datetime | None:
        """The database's present, as it names it (never ahead of it, whatever the local clock
        says): reads at it see every write committed before the call. None: reads are of now."""
        ...

    def count_dispatchable(
        self,
        since: datetime,
        until: datetime,
        statuses: Sequence[str] | None = None,
        read_time: datetime | None = None,
    ) -> dict[tuple[str, str], int]:
        """Requests that became dispatchable in `[since, until)` (`dispatchableAt`), counted by
        (category, status) with aggregation queries (no document is read); only `statuses`
        if given."""
        ...

    def first_claims(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[FirstClaim]:
        """The first claim of every request of the window that was ever claimed, paged."""
        ...

    def push_totals(
        self, since: datetime, until: datetime, read_time: datetime | None = None
    ) -> dict[str, int]:
        """Sums over the window's `notification_sent` analytics events: `notifications`,
        `sent`, `failed`, `pruned`, `sms` (aggregation queries)."""
        ...


class Identity(Protocol):
    """Firebase Auth as the admin tools see it."""

    def uid_for_email(self, email: str) -> str: ...

    def set_role_claim(self, uid: str, role: Role) -> None: ...
