"""The outside services as the use cases see them: small Protocols that adapters and the fakes of
`homepro.testing` implement (the database's ports are in `stores`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from homepro.domain.models import Role
from homepro.domain.sessions import VideoRoom


class Clock(Protocol):
    def now(self) -> datetime: ...


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
    client secret), `declined` (with the reason) or `canceled` (released before it was
    confirmed)."""

    outcome: str
    payment_intent_id: str | None = None
    client_secret: str | None = None
    decline_reason: str | None = None


class PaymentError(Exception):
    """A Stripe call that failed and may succeed later (network, 429, 5xx): retry it."""


class HoldRefused(Exception):
    """Stripe would not make the hold at all (e.g. a payment method it does not know): the
    request fails like a declined card; retrying will not help."""


@dataclass(frozen=True)
class Hold:
    """A PaymentIntent as the reconcile job lists it: its status and the request it was made
    for (`metadata.requestId`; None for an intent that is not ours)."""

    payment_intent_id: str
    status: str
    request_id: str | None


class Payments(Protocol):
    """Card holds (Stripe PaymentIntents, manual capture). Every call has an idempotency key
    derived from the request (or the intent) and the action, so a retry repeats nothing.

    A hold is made in two calls so that its id is recorded before the card is touched:
    `create_hold` makes the PaymentIntent unconfirmed (nothing is held yet), `confirm_hold`
    asks the card for the money."""

    def create_hold(
        self, request_id: str, amount: int, currency: str, payment_method_id: str, customer_id: str
    ) -> str:
        """The PaymentIntent's id (unconfirmed; key `{requestId}:create:{paymentMethodId}`),
        or HoldRefused."""
        ...

    def confirm_hold(self, request_id: str, payment_intent_id: str) -> Authorization:
        """Confirm it (key `{paymentIntentId}:confirm`): `authorized`, `requires_action`,
        `declined`, or `canceled` (it was cancelled before the confirmation reached it)."""
        ...

    def release(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        """Cancel the request's hold (key `{requestId}:release`, `:release:{attempt}` after a
        failed one: Stripe replays a key's first answer, a 500 included, for 24 hours); one
        already cancelled is done."""
        ...

    def release_stray(self, payment_intent_id: str) -> None:
        """Cancel a hold no request holds any more (key `{paymentIntentId}:release`); one
        already cancelled is done."""
        ...

    def capture(self, request_id: str, payment_intent_id: str, attempt: int = 0) -> None:
        """Capture it (key `{requestId}:capture`, `:capture:{attempt}` after a failed one);
        one already captured is done."""
        ...

    def refund(self, request_id: str, payment_intent_id: str, amount: int | None) -> None: ...

    def recent_holds(self, since: datetime) -> Iterator[Hold]:
        """Every PaymentIntent created at or after `since`, page by page."""
        ...


class VideoSessions(Protocol):
    """The video provider: a room per session, created once (the session id is the key)."""

    def create(self, session_id: str, request_id: str, title: str) -> VideoRoom: ...


class Sms(Protocol):
    """Text messages (Twilio). True if the provider accepted the message."""

    def send(self, to: str, body: str) -> bool: ...


class Identity(Protocol):
    """Firebase Auth as the admin tools see it."""

    def uid_for_email(self, email: str) -> str: ...

    def set_role_claim(self, uid: str, role: Role) -> None: ...

    def revoke_sessions(self, uid: str) -> None:
        """Revoke the account's refresh tokens: every signed-in client must sign in again (its
        current ID token stays valid until it expires, within the hour)."""
        ...


class EnqueueError(Exception):
    """The queue did not take the task (network, quota, permissions): nothing was enqueued."""


class TaskQueue(Protocol):
    """Cloud Tasks task queues: a payload given to a task queue function, retried with backoff
    until it succeeds, at the queue's rate across every instance."""

    def enqueue(
        self,
        queue: str,
        payload: Mapping[str, Any],
        *,
        task_id: str | None = None,
        schedule_time: datetime | None = None,
    ) -> bool:
        """Enqueue `payload` for the function `queue` (run at `schedule_time`, else at once).
        False when a task named `task_id` already exists (it was enqueued before: nothing to
        do); EnqueueError when the queue did not take it. A task id is `[A-Za-z0-9-]`."""
        ...
