"""Small stateful fakes of our own ports, enforcing the same rules as the real adapters."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from homepro.domain import directory
from homepro.domain.errors import NotFound
from homepro.domain.lifecycle import Transition, audit_event_id
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
from homepro.domain.policy import Policy
from homepro.domain.sessions import VideoRoom
from homepro.services.context import Context
from homepro.services.ports import (
    Authorization,
    FirstClaim,
    PaymentError,
    Planner,
    PushMessage,
    PushResult,
    RoundClaim,
    RoundCounts,
    Seen,
    SessionPlanner,
)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        assert moment >= self._now, "time only moves forward"
        self._now = moment


@dataclass
class FakeStore:
    """Documents as camelCase dicts, like Firestore; `apply` is atomic under one lock."""

    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    analytics: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # users/{uid}/devices/{deviceId} and users/{uid}/notifications/{key}
    devices: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    inbox: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # requests/{id}/dispatches/{roundKey} and their targets
    rounds: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    targets: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def get_request(self, request_id: str) -> RequestDoc | None:
        data = self.requests.get(request_id)
        return None if data is None else RequestDoc.model_validate({**data, "id": request_id})

    def apply(
        self, request_id: str, plan: Planner, now: datetime, seen: Seen | None = None
    ) -> tuple[RequestDoc, Transition]:
        with self._lock:
            current = self.requests.get(request_id)
            if current is None:
                raise NotFound(f"request {request_id} does not exist")
            request = RequestDoc.model_validate({**current, "id": request_id})
            # Planning on the current document is what the adapter does when `seen` is stale,
            # and the same as planning on `seen` when it is not.
            done = plan(request)
            version = request.version + 1
            updates = done.updates(version, now)
            key = audit_event_id(version, done.event_type)
            trail = self.events.setdefault(request_id, {})
            if key in trail:
                raise AssertionError(f"two transitions wrote version {version} of {request_id}")
            trail[key] = done.audit_event(now)
            self.requests[request_id] = {**current, **updates}
            for path, data in done.creates.items():
                collection, doc_id = path.split("/")
                assert collection == "sessions" and doc_id not in self.sessions
                self.sessions[doc_id] = dict(data)
            return RequestDoc.model_validate({**current, **updates, "id": request_id}), done

    def create_request(
        self, request_id: str, data: Mapping[str, Any], now: datetime
    ) -> tuple[RequestDoc, bool]:
        with self._lock:
            if request_id in self.requests:
                return self.get_request(request_id), False  # type: ignore[return-value]
            self.requests[request_id] = {**data, "version": 1, "createdAt": now, "updatedAt": now}
            self.events[request_id] = {
                audit_event_id(1, "request_created"): {
                    "type": "request_created",
                    "to": data["status"],
                }
            }
            return self.get_request(request_id), True  # type: ignore[return-value]

    def _sweepable(self) -> Iterable[tuple[str, dict[str, Any]]]:
        """The requests the sweeps' queries look through (here every one; see SimStore)."""
        return self.requests.items()

    def owed_requests(self, page_size: int) -> Iterator[RequestDoc]:
        with self._lock:
            owed = sorted(rid for rid, d in self._sweepable() if d.get("paymentOwed"))
        for request_id in owed:
            yield RequestDoc.model_validate({**self.requests[request_id], "id": request_id})

    def stale_requests(
        self, state: str, time_field: str, before: datetime, page_size: int
    ) -> Iterator[Seen]:
        field_name = "paymentStatus" if time_field == "createdAt" else "status"
        with self._lock:
            rows = sorted(
                (data[time_field], rid)
                for rid, data in self._sweepable()
                if data.get(field_name) == state
                and data.get(time_field) is not None
                and data[time_field] <= before
            )
        for _, request_id in rows:
            yield Seen(RequestDoc.model_validate({**self.requests[request_id], "id": request_id}))

    def apply_session(
        self, session_id: str, plan: SessionPlanner, now: datetime
    ) -> tuple[SessionDoc, RequestDoc]:
        with self._lock:
            session = self.get_session(session_id)
            if session is None:
                raise NotFound(f"session {session_id} does not exist")
            request = self.get_request(session.request_id)
            assert request is not None
            change = plan(session, request)
            version = session.version + 1
            self.sessions[session_id].update(
                {**change.changes, "status": change.to_status.value, "version": version}
            )
            trail = self.events.setdefault(request.id, {})
            trail[f"s{version:06d}-{change.event_type}"] = {"type": change.event_type}
            if change.request is not None:
                rv = request.version + 1
                self.requests[request.id].update(change.request.updates(rv, now))
                trail[audit_event_id(rv, change.request.event_type)] = change.request.audit_event(
                    now
                )
            return self.get_session(session_id), self.get_request(request.id)  # type: ignore[return-value]

    def waiting_session_ids(self, before: datetime, page_size: int) -> Iterator[str]:
        with self._lock:
            found = [
                sid
                for sid, data in self.sessions.items()
                if data["status"] == "waiting" and data["waitingAt"] <= before
            ]
        yield from found

    def checklists(self, defaults: Mapping[str, list[str]]) -> dict[str, list[str]]:
        self.ensure_checklists(defaults)
        return {k: list(v) for k, v in self.config["checklists"].items()}

    def ensure_checklists(self, defaults: Mapping[str, list[str]]) -> None:
        with self._lock:
            self.config.setdefault("checklists", {k: list(v) for k, v in defaults.items()})

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

    def record_analytics(self, events: Mapping[str, AnalyticsDoc]) -> None:
        with self._lock:
            for key, event in events.items():
                self.analytics[key] = event.model_dump(by_alias=True)

    def get_event(self, request_id: str, event_id: str) -> AuditEvent | None:
        data = self.events.get(request_id, {}).get(event_id)
        return None if data is None else AuditEvent.model_validate(data)

    def get_session(self, session_id: str) -> SessionDoc | None:
        data = self.sessions.get(session_id)
        return None if data is None else SessionDoc.model_validate({**data, "id": session_id})

    def claim_round(self, request_id: str, round_key: str, now: datetime) -> RoundClaim | None:
        with self._lock:
            request = self.get_request(request_id)
            rounds = self.rounds.setdefault(request_id, {})
            if request is None or round_key in rounds or not request.dispatchable:
                return None
            number = request.dispatch_round + 1
            rounds[round_key] = {
                "round": number,
                "reason": round_key.split("-")[0],
                "startedAt": now,
            }
            updates: dict[str, Any] = {"dispatchRound": number}
            if request.dispatchable_at is None:
                updates["dispatchableAt"] = now
            self.requests[request_id].update(updates)
            return RoundClaim(self.get_request(request_id), number)  # type: ignore[arg-type]

    def finish_round(
        self, request_id: str, round_key: str, counts: RoundCounts, now: datetime
    ) -> None:
        with self._lock:
            self.rounds[request_id][round_key].update({**counts.as_data(), "finishedAt": now})

    def record_targets(
        self, request_id: str, round_key: str, devices_by_uid: Mapping[str, int], now: datetime
    ) -> None:
        with self._lock:
            self.targets.setdefault((request_id, round_key), {}).update(devices_by_uid)

    def round_targets(self, request_id: str) -> set[str]:
        with self._lock:
            return {
                uid
                for (rid, _), found in self.targets.items()
                if rid == request_id
                for uid in found
            }

    def directory(self) -> list[tuple[UserDoc, list[Device]]]:
        """Always current here: the triggers that keep the real one current run at once."""
        with self._lock:
            found = []
            for uid, profile in self.users.items():
                devices = [
                    Device(uid, device_id, data["token"], data.get("platform", "web"))
                    for device_id, data in self.devices.get(uid, {}).items()
                ]
                entry = directory.entry_for(profile, devices)
                if entry is not None:
                    found.append(directory.from_entry(uid, entry))
            return found

    def refresh_directory(self, uid: str, now: datetime) -> bool:
        return True

    def rebuild_directory(self, now: datetime) -> int:
        return len(self.directory())

    def get_users(self, uids: Sequence[str]) -> dict[str, UserDoc]:
        return {uid: user for uid in uids if (user := self.get_user(uid)) is not None}

    def devices_of(self, users: Sequence[UserDoc]) -> dict[str, list[Device]]:
        with self._lock:
            found: dict[str, list[Device]] = {}
            for user in users:
                mine = [
                    Device(user.uid, device_id, data["token"], data.get("platform", "web"))
                    for device_id, data in self.devices.get(user.uid, {}).items()
                ]
                if user.fcm_token and user.fcm_token not in {d.token for d in mine}:
                    mine.append(Device(user.uid, None, user.fcm_token))
                found[user.uid] = mine
            return found

    def delete_devices(self, devices: Sequence[Device]) -> None:
        with self._lock:
            for device in devices:
                if device.device_id is None:
                    if self.users.get(device.uid, {}).get("fcmToken") == device.token:
                        del self.users[device.uid]["fcmToken"]
                else:
                    self.devices.get(device.uid, {}).pop(device.device_id, None)

    def claim_inbox(self, uid: str, note: Notification, now: datetime) -> bool:
        with self._lock:
            box = self.inbox.setdefault(uid, {})
            if note.key in box:
                return False
            box[note.key] = {"type": note.type.value, "data": note.data, "createdAt": now}
            return True

    def write_inbox(self, uids: Sequence[str], note: Notification, now: datetime) -> None:
        with self._lock:
            for uid in uids:
                self.inbox.setdefault(uid, {})[note.key] = {
                    "type": note.type.value,
                    "data": note.data,
                    "createdAt": now,
                }

    # -- reports (the fake has no history: `read_time` is accepted and every read is of now;
    # each read holds the lock, so no write lands in the middle of one)

    def _in_window(self, moment: datetime | None, since: datetime, until: datetime) -> bool:
        return moment is not None and since <= moment < until

    def read_time(self) -> datetime | None:
        return None

    def count_dispatchable(
        self,
        since: datetime,
        until: datetime,
        statuses: Sequence[str] | None = None,
        read_time: datetime | None = None,
    ) -> dict[tuple[str, str], int]:
        with self._lock:
            found: dict[tuple[str, str], int] = {}
            for data in self.requests.values():
                if statuses is not None and data["status"] not in statuses:
                    continue
                if self._in_window(data.get("dispatchableAt"), since, until):
                    cell = (data["category"], data["status"])
                    found[cell] = found.get(cell, 0) + 1
            return found

    def first_claims(
        self, since: datetime, until: datetime, page_size: int, read_time: datetime | None = None
    ) -> Iterator[FirstClaim]:
        with self._lock:
            rows = sorted(
                (data["dispatchableAt"], data["firstClaimedAt"], rid)
                for rid, data in self.requests.items()
                if self._in_window(data.get("dispatchableAt"), since, until)
                and data.get("firstClaimedAt") is not None
            )
            for dispatchable_at, claimed_at, rid in rows:
                yield FirstClaim(
                    self.requests[rid]["category"],
                    (claimed_at - dispatchable_at).total_seconds(),
                    int(self.requests[rid].get("firstClaimRound") or 0),
                    self.requests[rid]["status"],
                    dispatchable_at,
                )

    def push_totals(
        self, since: datetime, until: datetime, read_time: datetime | None = None
    ) -> dict[str, int]:
        totals = dict.fromkeys(("notifications", "sent", "failed", "pruned", "sms"), 0)
        with self._lock:
            for event in self.analytics.values():
                if event["type"] == "notification_sent" and self._in_window(
                    event.get("timestamp"), since, until
                ):
                    totals["notifications"] += 1
                    for name in ("sent", "failed", "pruned", "sms"):
                        totals[name] += int(event["metadata"].get(name) or 0)
        return totals

    # -- test helpers

    def add_helper(self, uid: str, *tokens: str, **fields: Any) -> str:
        self.users[uid] = {"role": "helper", "isAvailable": True, "displayName": uid, **fields}
        self.devices[uid] = {
            f"d{i}": {"token": token, "platform": "web"} for i, token in enumerate(tokens)
        }
        return uid

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


class FakePush:
    """Accepts every message but for tokens FCM would refuse, like the local FCM stand-in."""

    def __init__(self) -> None:
        self.sent: list[PushMessage] = []

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        results = []
        for message in messages:
            if message.token.startswith("unregistered-"):
                results.append(PushResult(ok=False, error="UNREGISTERED", prune=True))
            elif message.token.startswith("invalid-"):
                results.append(PushResult(ok=False, error="INVALID_ARGUMENT", prune=True))
            else:
                self.sent.append(message)
                results.append(PushResult(ok=True))
        return results

    def tokens(self, kind: str | None = None) -> list[str]:
        return [m.token for m in self.sent if kind is None or m.data["type"] == kind]


class FakePayments:
    """PaymentIntents with Stripe's rules: a canceled hold cannot be captured, a captured one
    cannot be canceled; a repeated idempotency key returns the first result."""

    DECLINED = frozenset({"pm_card_chargeCustomerFail", "pm_card_visa_chargeDeclined"})
    NEEDS_ACTION = frozenset({"pm_card_threeDSecure2Required"})

    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, Any] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures = 0  # the next N calls fail like a Stripe outage

    def _fail_if_down(self, action: str) -> None:
        if self.failures:
            self.failures -= 1
            raise PaymentError(f"stripe unavailable during {action}")

    def authorize(
        self, request_id: str, amount: int, currency: str, payment_method_id: str, customer_id: str
    ) -> Authorization:
        self._fail_if_down("authorize")
        key = f"{request_id}:authorize"
        if key in self.keys:
            return self.keys[key]  # type: ignore[no-any-return]
        self.calls.append(("authorize", request_id))
        if payment_method_id in self.DECLINED:
            result = Authorization("declined", decline_reason="Your card was declined.")
        else:
            intent = f"pi_{len(self.intents) + 1}"
            needs_action = payment_method_id in self.NEEDS_ACTION
            self.intents[intent] = {
                "amount": amount,
                "status": "requires_action" if needs_action else "requires_capture",
            }
            outcome = "requires_action" if needs_action else "authorized"
            result = Authorization(outcome, intent, client_secret=f"{intent}_secret")
        self.keys[key] = result
        return result

    def release(self, request_id: str, payment_intent_id: str) -> None:
        self._fail_if_down("release")
        self.calls.append(("release", request_id))
        intent = self.intents.setdefault(payment_intent_id, {"status": "requires_capture"})
        if intent["status"] == "succeeded":
            raise AssertionError("a captured payment cannot be released")
        intent["status"] = "canceled"

    def capture(self, request_id: str, payment_intent_id: str) -> None:
        self._fail_if_down("capture")
        self.calls.append(("capture", request_id))
        intent = self.intents.setdefault(payment_intent_id, {"status": "requires_capture"})
        if intent["status"] == "canceled":
            raise AssertionError("a released hold cannot be captured")
        intent["status"] = "succeeded"

    def refund(self, request_id: str, payment_intent_id: str, amount: int | None) -> None:
        self._fail_if_down("refund")
        self.calls.append(("refund", request_id))
        intent = self.intents.setdefault(payment_intent_id, {"status": "succeeded"})
        if intent["status"] != "succeeded":
            raise AssertionError("only a captured payment can be refunded")
        intent["refunded"] = amount


class FakeVideo:
    def __init__(self) -> None:
        self.rooms: dict[str, VideoRoom] = {}

    def create(self, session_id: str, request_id: str, title: str) -> VideoRoom:
        return self.rooms.setdefault(
            session_id,
            VideoRoom(
                "fake",
                f"room-{session_id}",
                f"https://v/{session_id}/c",
                f"https://v/{session_id}/h",
            ),
        )


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> bool:
        self.sent.append((to, body))
        return True


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
    return Context(
        store=store or FakeStore(),
        clock=clock or FakeClock(),
        policy=Policy(**policy),
        push=FakePush(),
        sms=FakeSms(),
        payments=FakePayments(),
        video=FakeVideo(),
    )
