"""The Store port on Cloud Firestore: one transaction per transition, with its audit event."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from homepro.adapters import queries
from homepro.domain.errors import Conflict, NotFound
from homepro.domain.lifecycle import Transition, audit_event_id
from homepro.domain.models import AnalyticsDoc, AuditEvent, RequestDoc, Role, UserDoc
from homepro.domain.states import RequestStatus
from homepro.services.ports import Planner

# Many helpers may claim one request at once: each loser must get to re-read the winner's
# write (and fail its precondition) rather than run out of attempts.
TRANSACTION_ATTEMPTS = 30

_SHAPE_BY_FIELD = {"pendingSince": queries.STALE_PENDING, "claimedAt": queries.STALE_CLAIMS}


class FirestoreStore:
    """Firestore through the server SDK (rules do not apply; the services enforce them)."""

    def __init__(self, db: firestore.Client) -> None:
        self._db = db

    def _request_ref(self, request_id: str) -> firestore.DocumentReference:
        return self._db.collection("requests").document(request_id)

    def get_request(self, request_id: str) -> RequestDoc | None:
        snap = self._request_ref(request_id).get()
        if not snap.exists:
            return None
        return RequestDoc.model_validate({**(snap.to_dict() or {}), "id": request_id})

    def apply(self, request_id: str, plan: Planner, now: datetime) -> tuple[RequestDoc, Transition]:
        ref = self._request_ref(request_id)

        @firestore.transactional  # type: ignore[untyped-decorator]
        def run(txn: firestore.Transaction) -> tuple[RequestDoc, Transition]:
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"request {request_id} does not exist")
            current = snap.to_dict() or {}
            request = RequestDoc.model_validate({**current, "id": request_id})
            done = plan(request)
            version = request.version + 1
            updates: dict[str, Any] = {
                **done.changes,
                "status": done.to_status.value,
                "version": version,
                "updatedAt": now,
            }
            # The re-read document must still be the one written last: state and version hold.
            txn.update(
                ref, updates, option=self._db.write_option(last_update_time=snap.update_time)
            )
            event = AuditEvent(
                type=done.event_type,
                from_=done.from_status.value,
                to=done.to_status.value,
                actor=done.actor,
                reason=done.reason,
                at=now,
            )
            txn.create(
                ref.collection("events").document(audit_event_id(version, done.event_type)),
                event.model_dump(by_alias=True) | {"actor": done.actor.as_data()},
            )
            return RequestDoc.model_validate({**current, **updates, "id": request_id}), done

        try:
            result: tuple[RequestDoc, Transition] = run(
                self._db.transaction(max_attempts=TRANSACTION_ATTEMPTS)
            )
        except (gexc.Aborted, gexc.Conflict) as err:
            raise Conflict(f"request {request_id} is busy, try again") from err
        return result

    def stale_request_ids(
        self, status: RequestStatus, time_field: str, before: datetime, page_size: int
    ) -> Iterator[str]:
        shape = _SHAPE_BY_FIELD[time_field]
        query = queries.older_than(self._db, shape, (status.value,), before, page_size)
        last = None
        while True:
            page = list((query.start_after(last) if last is not None else query).stream())
            for snap in page:
                yield snap.id
            if len(page) < page_size:
                return
            last = page[-1]

    def get_user(self, uid: str) -> UserDoc | None:
        snap = self._db.collection("users").document(uid).get()
        if not snap.exists:
            return None
        return UserDoc.model_validate({**(snap.to_dict() or {}), "uid": uid})

    def update_user(self, uid: str, fields: Mapping[str, Any]) -> None:
        try:
            self._db.collection("users").document(uid).update(dict(fields))
        except gexc.NotFound:
            raise NotFound(f"user {uid} has no profile") from None

    def ensure_user(self, uid: str, fields: Mapping[str, Any]) -> bool:
        try:
            self._db.collection("users").document(uid).create(dict(fields))
        except gexc.AlreadyExists:
            return False
        return True

    def set_user_role(self, uid: str, role: Role, now: datetime) -> None:
        ref = self._db.collection("users").document(uid)
        if not self.ensure_user(uid, {"role": role.value, "createdAt": now, "updatedAt": now}):
            ref.update({"role": role.value, "updatedAt": now})

    def record_analytics_once(self, event_id: str, event: AnalyticsDoc) -> bool:
        try:
            self._db.collection("analytics").document(event_id).create(
                event.model_dump(by_alias=True, mode="python")
            )
        except gexc.AlreadyExists:
            return False
        return True
