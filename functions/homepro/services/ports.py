"""The ports the services need: small Protocols that adapters and test fakes implement."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from homepro.domain.lifecycle import Transition
from homepro.domain.models import AnalyticsDoc, RequestDoc, Role, UserDoc
from homepro.domain.states import RequestStatus

Planner = Callable[[RequestDoc], Transition]


class Clock(Protocol):
    def now(self) -> datetime: ...


class Store(Protocol):
    """Firestore as the services see it."""

    def get_request(self, request_id: str) -> RequestDoc | None: ...

    def apply(self, request_id: str, plan: Planner, now: datetime) -> tuple[RequestDoc, Transition]:
        """In one transaction: re-read the request, plan the transition, write it with
        `version` + 1 and `updatedAt`, and its audit event. Returns the request as written."""
        ...

    def stale_request_ids(
        self, status: RequestStatus, time_field: str, before: datetime, page_size: int
    ) -> Iterator[str]:
        """Ids of requests in `status` whose `time_field` is before `before`, paged."""
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


class Identity(Protocol):
    """Firebase Auth as the admin tools see it."""

    def uid_for_email(self, email: str) -> str: ...

    def set_role_claim(self, uid: str, role: Role) -> None: ...
