"""Small stateful fakes of our own ports, enforcing the same rules as the real adapters."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from homepro.domain.errors import NotFound
from homepro.domain.lifecycle import Transition, audit_event_id
from homepro.domain.models import AnalyticsDoc, AuditEvent, RequestDoc, Role, UserDoc
from homepro.domain.policy import Policy
from homepro.domain.states import RequestStatus
from homepro.services.context import Context
from homepro.services.ports import Planner


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


@dataclass
class FakeStore:
    """Documents as camelCase dicts, like Firestore; `apply` is atomic under one lock."""

    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    analytics: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def get_request(self, request_id: str) -> RequestDoc | None:
        data = self.requests.get(request_id)
        return None if data is None else RequestDoc.model_validate({**data, "id": request_id})

    def apply(self, request_id: str, plan: Planner, now: datetime) -> tuple[RequestDoc, Transition]:
        with self._lock:
            current = self.requests.get(request_id)
            if current is None:
                raise NotFound(f"request {request_id} does not exist")
            request = RequestDoc.model_validate({**current, "id": request_id})
            done = plan(request)
            version = request.version + 1
            updates = {
                **done.changes,
                "status": done.to_status.value,
                "version": version,
                "updatedAt": now,
            }
            key = audit_event_id(version, done.event_type)
            trail = self.events.setdefault(request_id, {})
            if key in trail:
                raise AssertionError(f"two transitions wrote version {version} of {request_id}")
            trail[key] = AuditEvent(
                type=done.event_type,
                from_=done.from_status.value,
                to=done.to_status.value,
                actor=done.actor,
                reason=done.reason,
                at=now,
            ).model_dump(by_alias=True) | {"actor": done.actor.as_data()}
            self.requests[request_id] = {**current, **updates}
            return RequestDoc.model_validate({**current, **updates, "id": request_id}), done

    def stale_request_ids(
        self, status: RequestStatus, time_field: str, before: datetime, page_size: int
    ) -> Iterator[str]:
        with self._lock:
            rows = sorted(
                (data[time_field], rid)
                for rid, data in self.requests.items()
                if data.get("status") == status.value
                and data.get(time_field) is not None
                and data[time_field] <= before
            )
        yield from (rid for _, rid in rows)

    def get_user(self, uid: str) -> UserDoc | None:
        data = self.users.get(uid)
        return None if data is None else UserDoc.model_validate({**data, "uid": uid})

    def update_user(self, uid: str, fields: Mapping[str, Any]) -> None:
        with self._lock:
            if uid not in self.users:
                raise NotFound(f"user {uid} has no profile")
            self.users[uid].update(fields)

    def ensure_user(self, uid: str, fields: Mapping[str, Any]) -> bool:
        with self._lock:
            if uid in self.users:
                return False
            self.users[uid] = dict(fields)
            return True

    def set_user_role(self, uid: str, role: Role, now: datetime) -> None:
        with self._lock:
            self.users.setdefault(uid, {"createdAt": now}).update(
                {"role": role.value, "updatedAt": now}
            )

    def record_analytics_once(self, event_id: str, event: AnalyticsDoc) -> bool:
        with self._lock:
            if event_id in self.analytics:
                return False
            self.analytics[event_id] = event.model_dump(by_alias=True)
            return True

    # -- test helpers

    def add_request(self, request_id: str, **fields: Any) -> str:
        now = fields.pop("now", datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
        self.requests[request_id] = {
            "customerId": "cust-1",
            "category": "plumbing",
            "description": "The kitchen sink drips all night.",
            "amount": 4900,
            "currency": "usd",
            "status": "pending",
            "paymentStatus": "authorized",
            "paymentIntentId": f"pi_{request_id}",
            "createdAt": now,
            "dispatchableAt": now,
            "pendingSince": now,
            "updatedAt": now,
            "releaseCount": 0,
            "dispatchRound": 0,
            "version": 1,
            **fields,
        }
        return request_id

    def event_types(self, request_id: str) -> list[str]:
        return [e["type"] for _, e in sorted(self.events.get(request_id, {}).items())]


class FakeIdentity:
    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}  # email -> uid
        self.claims: dict[str, dict[str, Any]] = {}

    def uid_for_email(self, email: str) -> str:
        if email not in self.accounts:
            raise NotFound(f"no account with the email {email}")
        return self.accounts[email]

    def set_role_claim(self, uid: str, role: Role) -> None:
        self.claims.setdefault(uid, {})["role"] = role.value


def make_context(
    store: FakeStore | None = None, clock: FakeClock | None = None, **policy: Any
) -> Context:
    return Context(store=store or FakeStore(), clock=clock or FakeClock(), policy=Policy(**policy))
