"""Deliver a Firestore trigger event by hand, as the Firestore emulator does: a binary-mode
CloudEvent with a protobuf `DocumentEventData` body, posted to the function's trigger endpoint."""

from __future__ import annotations

import base64
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from google.events.cloud import firestore as events
from google.protobuf import timestamp_pb2

import emulator_client as ec

DATABASE = "(default)"


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def to_value(value: Any) -> events.Value:
    if value is None:
        return events.Value(null_value=0)
    if isinstance(value, bool):
        return events.Value(boolean_value=value)
    if isinstance(value, int):
        return events.Value(integer_value=value)
    if isinstance(value, float):
        return events.Value(double_value=value)
    if isinstance(value, str):
        return events.Value(string_value=value)
    if isinstance(value, datetime):
        return events.Value(timestamp_value=_timestamp(value))
    if isinstance(value, dict):
        return events.Value(
            map_value=events.MapValue(fields={k: to_value(v) for k, v in value.items()})
        )
    if isinstance(value, list):
        return events.Value(array_value=events.ArrayValue(values=[to_value(v) for v in value]))
    raise TypeError(f"cannot encode {type(value)}")


def document(path: str, data: dict[str, Any]) -> events.Document:
    now = _timestamp(datetime.now(UTC))
    return events.Document(
        name=f"projects/{ec.PROJECT}/databases/{DATABASE}/documents/{path}",
        fields={key: to_value(value) for key, value in data.items()},
        create_time=now,
        update_time=now,
    )


def deliver(
    function: str,
    kind: str,
    path: str,
    after: dict[str, Any] | None,
    before: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> str:
    """Post one `google.cloud.firestore.document.v1.{kind}` event to `function`; returns its id."""
    payload = events.DocumentEventData(
        value=document(path, after) if after is not None else None,
        old_value=document(path, before) if before is not None else None,
    )
    event_id = event_id or uuid.uuid4().hex
    headers = {
        "Content-Type": "application/protobuf",
        "ce-specversion": "1.0",
        "ce-type": f"google.cloud.firestore.document.v1.{kind}",
        "ce-source": f"//firestore.googleapis.com/projects/{ec.PROJECT}/databases/{DATABASE}",
        "ce-subject": f"documents/{path}",
        "ce-id": event_id,
        "ce-time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "ce-location": ec.REGION,
        "ce-project": ec.PROJECT,
        "ce-namespace": "(default)",
        "ce-database": DATABASE,
        "ce-document": path,
    }
    req = urllib.request.Request(
        f"{ec.TRIGGERS}/{ec.REGION}-{function}-0",
        # The Functions emulator takes protobuf bodies base64-encoded (as the Firestore emulator
        # posts them) and decodes them before the function sees them.
        data=base64.b64encode(events.DocumentEventData.serialize(payload)),
        method="POST",
        headers=headers,
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        resp.read()
    return event_id
