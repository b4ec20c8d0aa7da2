"""The `Inbox` port: a notification's inbox item, created once per user, written whole; the
texts to a phone number, counted by the hour."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from contract import NOW, request_doc
from homepro.domain.models import RequestDoc
from homepro.domain.notifications import new_request
from homepro.domain.texts import text_count_path


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


def test_texts_to_a_number_are_counted_by_the_hour_up_to_the_limit(backend):
    inbox = backend.stores.inbox
    phone = "+15125550199"
    with ThreadPoolExecutor(max_workers=8) as pool:
        counted = list(pool.map(lambda _: inbox.count_text(phone, NOW, 3), range(10)))
    assert counted.count(True) == 3  # parallel senders cannot slip past
    later = NOW + timedelta(hours=1, minutes=5)
    assert inbox.count_text(phone, later, 3)  # a new hour, a new count
    next_hour = NOW + timedelta(hours=1)
    assert backend.dump() == {
        text_count_path(phone, NOW): {
            "count": 3,
            "hour": NOW,
            "updatedAt": NOW,
            "expireAt": NOW + timedelta(hours=2),
        },
        text_count_path(phone, later): {
            "count": 1,
            "hour": next_hour,
            "updatedAt": later,
            "expireAt": next_hour + timedelta(hours=2),
        },
    }
