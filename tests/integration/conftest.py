"""Integration tests on the real Firestore, Auth and Functions emulators (tools/stack.py)."""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from firebase_admin import firestore
from google.cloud.firestore_v1 import Client

import emulator_client as ec
from contract import backend  # noqa: F401  (the contract suite's fixture: fake and Firestore)
from homepro import bootstrap
from homepro.domain import directory
from homepro.domain.sessions import DEFAULT_CHECKLISTS
from homepro.services.roles import assign_role
from homepro.testing import paid_request

if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
    pytest.exit("integration tests run on the local stack: use `make test`", returncode=2)

_counter = itertools.count()


@pytest.fixture(scope="session")
def db() -> Iterator[Client]:
    ec.clear_firestore()
    ec.clear_auth()
    yield firestore.client(bootstrap.app())


@pytest.fixture
def clean(db: Client) -> Client:
    """An empty database (but for `config/checklists`, which the functions wrote and remember
    having written), and empty FCM and Twilio stand-ins."""
    ec.clear_firestore()
    db.collection("config").document("checklists").set(DEFAULT_CHECKLISTS)
    ec.clear_fcm()
    ec.clear_sms()
    return db


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_account(db: Client) -> Callable[..., ec.Account]:
    """A signed-up account with `role`, signed in again so its token carries the claim; a
    helper is on duty (`isAvailable`) unless told otherwise, as claiming needs."""

    def make(role: str = "customer", **profile: Any) -> ec.Account:
        if role == "helper":
            profile.setdefault("isAvailable", True)
        email = f"{unique(role)}@homepro.test"
        account = ec.sign_up(email)
        if role != "customer":
            assign_role(bootstrap.context(), bootstrap.identity(), email, role)
            account = ec.sign_in(email)
        if profile:
            db.collection("users").document(account.uid).update(profile)
        return account

    return make


@pytest.fixture
def make_request(db: Client) -> Callable[..., str]:
    """A request document as `create_request` leaves it (written directly, for lifecycle tests)."""

    def make(customer_id: str = "customer-x", **fields: Any) -> str:
        request_id = unique("req")
        doc = paid_request(request_id, datetime.now(UTC), customerId=customer_id, **fields)
        db.collection("requests").document(request_id).set(doc)
        return request_id

    return make


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; fail the test with a clear message after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def directory_entry(db: Client, uid: str) -> dict[str, Any] | None:
    """The helper's dispatch directory entry (the same in each of their categories' shards), or
    None."""
    member = db.document(directory.member_path(uid)).get().to_dict() or {}
    categories = member.get("categories") or []
    if not categories:
        return None
    meta = db.document(directory.category_path(categories[0])).get().to_dict() or {}
    shards = int(meta.get("shards") or 0)
    if not shards:
        return None
    path = directory.shard_path(categories[0], directory.shard_index(uid, shards))
    entry = ((db.document(path).get().to_dict() or {}).get("helpers") or {}).get(uid)
    return directory.read_entry(entry) if entry else None
