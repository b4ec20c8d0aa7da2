"""The database as each consumer sees it: one small port per use, none a god object.

`Requests` and `Sessions` make transitions (each one atomic commit with its audit event);
`Users` are profiles and devices; `Dispatch` is rounds, their targets and the directory;
`Inbox` and `Analytics` record what was sent and what happened; `ReportViews` is the read model
`dispatch_report` reads (kept apart, as cosmicpython keeps reads in `views.py`). Every port of
one database shares one unit of work, so a transition may read and write documents that several
ports own, in one commit (`Requests.apply_reading`, `Transition.writes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from homepro.domain.devices import Registration
from homepro.domain.events import RoundCounts
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
from homepro.domain.outbox import OutboxEntry
from homepro.domain.sessions import JoinLinks, SessionChange
from homepro.domain.writes import DocumentWrite

Planner = Callable[[RequestDoc], Transition]
# A planner given, beside the request, the other documents the transition read (path -> data,
# None if missing): a helper's claim count, a customer's counters.
ReadingPlanner = Callable[[RequestDoc, Mapping[str, Mapping[str, Any] | None]], Transition]
SessionPlanner = Callable[[SessionDoc, RequestDoc], SessionChange]
# Plans the documents a request's creation writes beside it (its customer's counters), given a
# reader of documents inside the same commit; raises to refuse the creation.
Admitter = Callable[
    [Callable[[Sequence[str]], Sequence[Mapping[str, Any] | None]]], tuple[DocumentWrite, ...]
]


@dataclass(frozen=True)
class QueriedRequest:
    """A request as a query read it. `apply` plans on it first, sparing a read; if the
    document changed since, its write is refused and it reads the request again."""

    request: RequestDoc
    read: Any = None  # the adapter's record of the read (Firestore: the snapshot)


class Requests(Protocol):
    """Requests: their transitions and reads (callables, sweeps, webhooks, triggers)."""

    def get_request(self, request_id: str) -> RequestDoc | None: ...

    def create_request(
        self,
        request_id: str,
        data: Mapping[str, Any],
        now: datetime,
        admit: Admitter | None = None,
    ) -> tuple[RequestDoc, bool]:
        """Create `requests/{request_id}` (version 1) with its `request_created` audit event in
        one commit; if it exists, return it unchanged. True if this call created it. `admit`
        plans what else the creation writes (the counters it reads), or refuses it; it runs
        only when the request is new."""
        ...

    def apply(
        self,
        request_id: str,
        plan: Planner,
        now: datetime,
        queried: QueriedRequest | None = None,
    ) -> tuple[RequestDoc, Transition]:
        """In one commit: read the request (or start from `queried`), plan the transition,
        write it with `version` + 1 and `updatedAt`, its audit event and the other documents
        it writes (`Transition.writes`), on condition that the request is unchanged since the
        read (else read and plan again). Returns the request as written."""
        ...

    def apply_reading(
        self,
        request_id: str,
        reads: Sequence[str],
        plan: ReadingPlanner,
        now: datetime,
        queried: QueriedRequest | None = None,
    ) -> tuple[RequestDoc, Transition]:
        """`apply`, with the documents at `reads` (of any port) read in the same transaction
        and given to the plan; the commit also requires them unchanged wherever the transition
        writes them. One unit of work across ports: a claim and the helper's claim count."""
        ...

    def get_event(self, request_id: str, event_id: str) -> AuditEvent | None: ...

    def owed_requests(self, page_size: int) -> Iterator[RequestDoc]:
        """Requests whose `paymentOwed` is set (a Stripe call to retry), paged."""
        ...

    def stale_requests(
        self, state: str, time_field: str, before: datetime, page_size: int
    ) -> Iterator[QueriedRequest]:
        """Requests in `state` (their `status`, or their `paymentStatus` for `createdAt`) whose
        `time_field` is before `before`, paged."""
        ...

    def undecided_requests(self, before: datetime, page_size: int) -> Iterator[QueriedRequest]:
        """Requests whose `paymentAttention.releaseBy` is before `before` (no admin decided in
        time), oldest first, paged."""
        ...

    def waiting_since(self, category: str, since: datetime) -> bool:
        """Whether a request of `category` that became dispatchable at or after `since` is
        pending (waiting for a claim): a late request's round yields to it (`waves.late`: one
        dispatchable at `now - LATE_AFTER_MINUTES` is not late yet). One index entry read at
        most."""
        ...


class Sessions(Protocol):
    """Video sessions and the safety checklists they start with."""

    def get_session(self, session_id: str) -> SessionDoc | None: ...

    def apply_session(
        self, session_id: str, plan: SessionPlanner, now: datetime
    ) -> tuple[SessionDoc, RequestDoc]:
        """In one commit: re-read the session and its request, plan, write the session
        (`version` + 1) with its audit event, and the request transition it causes, if any."""
        ...

    def waiting_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        """Sessions still `waiting` since before `before` (join timeout), oldest first, read
        `page_size` at a time as the caller goes."""
        ...

    def active_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        """Sessions `active` since before `before` (`activeAt`: the time limit), oldest first,
        read `page_size` at a time as the caller goes."""
        ...

    def get_links(self, session_id: str) -> JoinLinks | None:
        """The session's provider links (server only: never in a document a client reads)."""
        ...

    def checklists(self, defaults: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """`config/checklists`, written with `defaults` first if it is missing."""
        ...

    def ensure_checklists(self, defaults: Mapping[str, list[str]]) -> None:
        """Write `config/checklists` with `defaults` if it is missing; cheap on a hot path
        (once it is known to exist, nothing is read or written again)."""
        ...


class Users(Protocol):
    """Profiles and their devices (roles, availability, who a notification reaches)."""

    def get_user(self, uid: str) -> UserDoc | None: ...

    def get_users(self, uids: Sequence[str]) -> dict[str, UserDoc]: ...

    def update_user(self, uid: str, fields: Mapping[str, Any]) -> None:
        """Merge `fields` into `users/{uid}` (NotFound if there is no profile)."""
        ...

    def ensure_user(self, uid: str, fields: Mapping[str, Any]) -> bool:
        """Create `users/{uid}` with `fields` unless it exists; True if created."""
        ...

    def set_user_role(self, uid: str, role: Role, now: datetime) -> None:
        """Mirror the role claim into `users/{uid}.role` (creating the profile if needed)."""
        ...

    def devices_of(self, users: Sequence[UserDoc]) -> dict[str, list[Device]]:
        """Every device of each user, the legacy `fcmToken` included (once)."""
        ...

    def delete_devices(self, devices: Sequence[Device]) -> None:
        """Forget dead tokens: delete the device documents (and their index entries), clear a
        legacy `fcmToken`."""
        ...

    def register_device(
        self, uid: str, token: str, platform: str, now: datetime, max_devices: int
    ) -> Registration:
        """In one commit: write the device of `token` (created, or updated with `updatedAt`),
        and, if the user would then have more than `max_devices`, delete the least recently
        registered others; the user's device index with it."""
        ...

    def remove_device(self, uid: str, device_id: str) -> bool:
        """In one commit: delete the device and its index entry; True if it existed."""
        ...


@dataclass(frozen=True)
class ReservedRound:
    """A dispatch round this caller reserved the right to send: the request as it was, and
    the round's number."""

    request: RequestDoc
    round: int


class Dispatch(Protocol):
    """Dispatch rounds, who they targeted, and the directory of available helpers."""

    def reserve_round(self, request_id: str, round_key: str, now: datetime) -> ReservedRound | None:
        """In one commit: if the request is dispatchable and `dispatches/{round_key}` does not
        exist, create it, count the round on the request (`dispatchRound`, and
        `dispatchableAt` the first time) and return the reservation; else None."""
        ...

    def finish_round(
        self, request_id: str, round_key: str, counts: RoundCounts, now: datetime
    ) -> None: ...

    def record_targets(
        self, request_id: str, round_key: str, devices_by_uid: Mapping[str, int], now: datetime
    ) -> None:
        """`dispatches/{round_key}/targets/{uid}` for every targeted helper."""
        ...

    def resume_round(self, request_id: str, round_key: str) -> ReservedRound | None:
        """A round reserved and never finished (its sender died), if the request is still
        dispatchable: to be sent to the helpers it has not recorded; else None."""
        ...

    def recorded_targets(self, request_id: str, round_key: str) -> set[str]:
        """The helpers round `round_key` recorded as sent (after its fan-out)."""
        ...

    def round_targets(self, request_id: str) -> set[str]:
        """Every helper any round of the request targeted."""
        ...

    def asks_of(self, request_id: str) -> dict[str, int]:
        """How many rounds of the request asked each helper it asked (a wave charged and not
        yet recorded counts)."""
        ...

    def round_wave(self, request_id: str, round_key: str) -> list[str] | None:
        """The helpers round `round_key` chose and charged an alert (`take_alerts`), or None
        if it has not (or broadcast)."""
        ...

    def attention_of(self, uids: Sequence[str]) -> dict[str, tuple[bool, list[datetime]]]:
        """Each helper's (busy, alerts): busy when they hold a claim or are in a session
        (`helperClaims/{uid}.open`), alerts their `helperAlerts/{uid}` of the last hour."""
        ...

    def take_alerts(
        self, request_id: str, round_key: str, limits: Mapping[str, int], now: datetime
    ) -> list[str]:
        """In one commit: charge one alert at `now` to each helper of `limits` still under their
        limit, and record them as round `round_key`'s wave; the helpers charged. A round that
        has its wave already answers it and charges nothing."""
        ...

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        """Every available helper with their devices, once each, from the dispatch directory
        (every shard of every category: for repair and the simulation, not for rounds)."""
        ...

    def directory_of(
        self, category: str, *, start: int, want: int | None
    ) -> list[tuple[UserDoc, list[Device]]]:
        """The entries of `category`'s available helpers, read shard by shard from shard
        `start % shard_count`, wrapping around, stopping after the shard in which at least
        `want` entries have been read (`want=None`: every shard; `want <= 0`: the first shard).
        Only the shards needed are read. Within a shard, entries come in uid order; the same
        data gives the same answer on every backend."""
        ...

    def refresh_directory(self, uid: str, now: datetime) -> bool:
        """Recompute `uid`'s directory entry from their profile and devices; True if changed."""
        ...

    def rebuild_directory(self, now: datetime) -> int:
        """Rebuild the whole directory from users and devices (repair, bulk loads)."""
        ...


class Inbox(Protocol):
    """`users/{uid}/notifications/{key}`: each notification a user was sent, once; and the
    texts each phone number was sent, counted by the hour."""

    def create_inbox_once(self, uid: str, note: Notification, now: datetime) -> bool:
        """Create the user's inbox document of `note`; False if it exists (sent already)."""
        ...

    def write_inbox(self, uids: Sequence[str], note: Notification, now: datetime) -> None:
        """Write the inbox document of `note` for many users (idempotent)."""
        ...

    def count_text(self, phone: str, now: datetime, limit: int) -> bool:
        """In one commit: count one more text to `phone` in `now`'s hour, unless `limit` are
        counted there already. True if counted: send it (parallel senders cannot slip past)."""
        ...


class Analytics(Protocol):
    """`analytics/{eventId}`: server events, their ids fixed by what happened."""

    def record_once(self, event_id: str, event: AnalyticsDoc) -> bool:
        """Write `analytics/{event_id}` unless it exists; True if this call wrote it."""
        ...

    def record_all(self, events: Mapping[str, AnalyticsDoc]) -> None:
        """Write many events (idempotent: the same id gets the same content)."""
        ...


@dataclass(frozen=True)
class FirstClaim:
    """A request's first claim, as the report scans it."""

    category: str
    seconds: float  # firstClaimedAt - dispatchableAt
    rounds: int  # dispatch rounds sent before it was claimed
    status: str = ""  # the request's status now
    dispatchable_at: datetime | None = None


@dataclass(frozen=True)
class QuotedRequest:
    """A request created with a quote, as the report's promise-kept scan reads it."""

    expected_minutes: float  # the wait its customer was shown
    claim_seconds: float | None  # firstClaimedAt - dispatchableAt; None: never claimed
    status: str
    dispatchable_at: datetime


class ReportViews(Protocol):
    """The reads of `dispatch_report`, each as the database stood at `read_time` (a moment of
    the last hour; None: now), so one report's several reads agree under live traffic."""

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

    def quoted_requests(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[QuotedRequest]:
        """Every request of the window (`dispatchableAt`) created with a quote, paged."""
        ...

    def quote_counts(
        self, since: datetime, until: datetime, read_time: datetime | None = None
    ) -> dict[tuple[bool, bool], int]:
        """Quotes shown in `[since, until)` (`createdAt`), counted by (over the promise, used
        by a request) with aggregation queries."""
        ...


@dataclass(frozen=True)
class RecentRequest:
    """A recent request as the quote reads it: when it became dispatchable, when a helper first
    claimed it, and when it ended unclaimed (cancelled or expired); both None: it still waits."""

    dispatchable_at: datetime
    first_claimed_at: datetime | None = None
    ended_at: datetime | None = None


class Quotes(Protocol):
    """The wait shown before paying (`quote_wait`): the live supply it is computed from, and
    the quotes shown (`quotes/{quoteId}`, server only)."""

    def recent_requests(self, category: str, since: datetime) -> list[RecentRequest]:
        """The requests of `category` that became dispatchable since `since` (a few fields
        each): how each one's wait went, or is going."""
        ...

    def create_quote(
        self,
        quote_id: str,
        quote: Mapping[str, Any],
        counter_path: str,
        count: Callable[[Mapping[str, Any] | None], DocumentWrite],
    ) -> None:
        """In one commit: count the quote on its customer's counter (`count` gets it as read
        and returns its write, or raises to refuse) and create `quotes/{quote_id}`."""
        ...

    def get_quote(self, quote_id: str) -> dict[str, Any] | None: ...


class Limits(Protocol):
    """The abuse counters (server-only documents): card attempts and sign-ups."""

    def forget_attempt(self, customer_id: str, request_id: str) -> None:
        """The request's card was authorized: it no longer counts as a failed attempt of its
        customer and its source (idempotent)."""
        ...

    def count_signup(
        self, source: str, plan: Callable[[Mapping[str, Any] | None], DocumentWrite]
    ) -> None:
        """Count a sign-up from a source (`sourceLimits/{source}`) in one commit: `plan` gets
        the counters as read and returns their write, or raises to refuse."""
        ...


class Outbox(Protocol):
    """What commits owe the world (`outbox/{entryId}`, written in the commit), until done."""

    def take(
        self, entry_id: str, now: datetime, grace: timedelta, lease: timedelta
    ) -> OutboxEntry | None:
        """In one commit: if the entry is owed for longer than `grace` and no drainer holds
        it, count an attempt, lease it until `now + lease` and return it; else None."""
        ...

    def get_entry(self, entry_id: str) -> OutboxEntry | None: ...

    def finish(self, entry_id: str) -> None:
        """The work is done: the entry is gone (nothing if it was)."""
        ...

    def give_up(self, entry_id: str, now: datetime) -> None:
        """Nothing retries the entry any more (`owedAt` cleared, `gaveUpAt` set): a person
        looks at it."""
        ...

    def owed(self, before: datetime, page_size: int) -> Iterator[OutboxEntry]:
        """Entries owed since `before` or earlier, oldest first, a page at a time."""
        ...


@dataclass(frozen=True)
class Stores:
    """The ports of one database, sharing its unit of work."""

    requests: Requests
    sessions: Sessions
    users: Users
    dispatch: Dispatch
    inbox: Inbox
    analytics: Analytics
    views: ReportViews
    limits: Limits
    outbox: Outbox
    quotes: Quotes
