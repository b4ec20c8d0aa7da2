"""The contract suite: every case runs on the fake (`homepro.testing`) and on Firestore (the
emulator), through the same ports, and checks the same stored documents, field for field.

Firestore runs in a project of its own, where no trigger listens, so what a case finds stored
is exactly what the ports wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

import emulator_client as ec
from homepro.adapters.firestore import firestore_stores
from homepro.services.context import Tuning
from homepro.services.stores import Stores
from homepro.testing import FakeClock, FakeDocuments, fake_stores, paid_request

PROJECT = "demo-homepro-contract"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BACKENDS = ("fake", "firestore")


@dataclass
class Backend:
    """One database behind the ports: seed documents, run the ports, read back every document."""

    name: str
    stores: Stores
    seed: Callable[[str, dict[str, Any]], None]
    dump: Callable[[], dict[str, dict[str, Any]]]
    clock: FakeClock


def _clear() -> None:
    ec.clear_firestore(PROJECT)


def _firestore_dump(db: firestore.Client) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    todo = list(db.collections())
    while todo:
        # every document with data, and the missing ones that only hold subcollections
        for ref in todo.pop().list_documents():
            snap = ref.get()
            if snap.exists:
                found[ref.path] = snap.to_dict() or {}
            todo.extend(ref.collections())
    return found


def _fake_dump(docs: FakeDocuments) -> dict[str, dict[str, Any]]:
    return {
        f"{collection}/{doc_id}": dict(data)
        for collection, found in docs.collections.items()
        for doc_id, data in found.items()
    }


def make_backend(name: str) -> Backend:
    clock = FakeClock(NOW)
    if name == "fake":
        docs = FakeDocuments()

        def seed_fake(path: str, data: dict[str, Any]) -> None:
            collection, _, doc_id = path.rpartition("/")
            docs.collection(collection)[doc_id] = dict(data)

        return Backend(name, fake_stores(docs), seed_fake, lambda: _fake_dump(docs), clock)
    db = firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
    return Backend(
        name,
        firestore_stores(db, Tuning(io_concurrency=4, transaction_attempts=30)),
        lambda path, data: db.document(path).set(data),
        lambda: _firestore_dump(db),
        clock,
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "firestore":
        _clear()
    yield make_backend(request.param)
    if request.param == "firestore":
        _clear()


def request_doc(**fields: Any) -> dict[str, Any]:
    """`requests/r1`, paid and pending, as the cases seed it."""
    return paid_request("r1", NOW, paymentOwed=None, escalation=0, **fields)
