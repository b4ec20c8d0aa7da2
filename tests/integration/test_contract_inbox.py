"""The `Inbox` port: a notification's inbox item, created once per user, written whole."""

from __future__ import annotations

from datetime import timedelta

from contract import NOW, request_doc
from homepro.domain.models import RequestDoc
from homepro.domain.notifications import new_request


def test_an_inbox_item_is_created_once_and_written_whole(backend):
    note = new_request_note()
    inbox = backend.stores.inbox
    assert inbox.create_inbox_once("u1", note, NOW)
    assert not inbox.create_inbox_once("u1", note, NOW + timedelta(minutes=1))
    inbox.write_inbox(["u2", "u3"], note, NOW)
    stored = backend.dump()
    item = {
        "type": "new_request",
        "title": note.title,
        "body": note.body,
        "data": note.data,
        "createdAt": NOW,
        "readAt": None,
    }
    assert stored == {f"users/{u}/notifications/{note.key}": item for u in ("u1", "u2", "u3")}


def new_request_note():
    request = RequestDoc.model_validate({**request_doc(), "id": "r1"})
    return new_request(request, "initial", 1800)
