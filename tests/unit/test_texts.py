"""Texts per phone number (toll fraud): at most MAX_TEXTS_PER_PHONE_PER_HOUR a number an hour,
counted on the server before the send, and only to SMS_ALLOWED_PREFIXES; a skipped text never
stops a round or an invitation."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from homepro.adapters.documents import DocumentInbox
from homepro.domain import notifications, texts
from homepro.domain.errors import Conflict
from homepro.domain.models import RequestDoc
from homepro.services.dispatch import run_round
from homepro.services.notify import notify, send_sms
from homepro.testing import FakeDocuments, make_context

NUMBER = "+15125550199"


def phone_only_helpers(store: FakeDocuments, count: int, phone: str = NUMBER) -> list[str]:
    """Helper accounts with no device, all naming one number (a premium line, say)."""
    return [store.add_helper(f"h{i}", phone=phone) for i in range(count)]


@pytest.fixture
def world():
    store = FakeDocuments()
    store.add_request("r", customerId="cust")
    # texts from the first round, so that one round shows the limit (6 an hour here)
    ctx = make_context(store, sms_from_round=1, max_texts_per_phone_per_hour=6, wave_first=0)
    return ctx, store


def test_a_round_texts_one_number_at_most_the_limit(world):
    ctx, store = world
    phone_only_helpers(store, 7)

    report = run_round(ctx, "r", "initial")

    assert [to for to, _ in ctx.sms.sent] == [NUMBER] * 6
    assert report is not None and report.counts.sms_sent == 6
    assert report.counts.helpers_targeted == 7  # the round itself went on
    [(key, counter)] = store.collection(texts.TEXT_COUNTS).items()
    assert NUMBER not in key and "5550199" not in key  # a hash, not the number
    assert counter["count"] == 6
    assert counter["expireAt"] == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def test_the_count_starts_again_the_next_hour(world):
    ctx, store = world
    phone_only_helpers(store, 7)
    run_round(ctx, "r", "initial")
    ctx.clock.advance(hours=1)
    store.add_request("r2", customerId="cust")
    run_round(ctx, "r2", "initial")
    assert len(ctx.sms.sent) == 6 + 6


def test_other_numbers_keep_their_own_count(world):
    ctx, store = world
    phone_only_helpers(store, 7)
    store.add_helper("elsewhere", phone="+15125550100")
    run_round(ctx, "r", "initial")
    assert sorted(to for to, _ in ctx.sms.sent) == ["+15125550100"] + [NUMBER] * 6


def test_a_customer_invited_over_the_limit_still_gets_the_push_and_inbox():
    store = FakeDocuments()
    ctx = make_context(store, max_texts_per_phone_per_hour=2, wave_first=0)
    store.users["cust"] = {"role": "customer", "phone": NUMBER}
    store.devices("cust")["d0"] = {"token": "tok-cust", "platform": "web"}
    for version in range(3):
        store.add_request("r", customerId="cust", sessionId="s1", version=version + 2)
        note = notifications.session_invite(RequestDoc.model_validate({**store.requests["r"]}))
        delivery = notify(ctx, ["cust"], note)
        assert (delivery.sent, delivery.sms_sent) == (1, 1 if version < 2 else 0)
    assert len(ctx.sms.sent) == 2
    assert len(store.inbox("cust")) == 3


def test_numbers_outside_the_allowed_prefixes_get_no_text():
    store = FakeDocuments()
    store.add_request("r", customerId="cust")
    ctx = make_context(store, sms_from_round=1, sms_allowed_prefixes=("+1",), wave_first=0)
    store.add_helper("abroad", phone="+882355500001")  # an international premium range
    store.add_helper("home", phone="+15125550100")
    run_round(ctx, "r", "initial")
    assert [to for to, _ in ctx.sms.sent] == ["+15125550100"]
    assert len(store.collection(texts.TEXT_COUNTS)) == 1  # the refused one was not counted


def test_no_prefixes_allow_any_number():
    assert texts.allowed_destination("+882355500001", ())
    assert not texts.allowed_destination("+882355500001", ("+1",))
    assert texts.parse_prefixes(" +1, +44 ,") == ("+1", "+44")
    assert texts.parse_prefixes("") == ()


def test_parallel_senders_cannot_slip_past_the_limit():
    ctx = make_context()
    now = ctx.clock.now()
    with ThreadPoolExecutor(max_workers=8) as pool:
        counted = list(pool.map(lambda _: ctx.inbox.count_text(NUMBER, now, 6), range(20)))
    assert counted.count(True) == 6


class ContendedInbox(DocumentInbox):
    """Texts to one number contended past every attempt of the commit."""

    def count_text(self, phone: str, now: datetime, limit: int) -> bool:
        raise Conflict("the texts to one number is busy, try again")


def test_a_contended_count_skips_the_text_and_nothing_fails(world):
    ctx, store = world
    phone_only_helpers(store, 1)
    busy = replace(ctx, stores=replace(ctx.stores, inbox=ContendedInbox(store)))
    users = list(busy.users.get_users(["h0"]).values())
    note = notifications.new_request(RequestDoc.model_validate(store.requests["r"]), "x", 60)
    assert send_sms(busy, users, note) == frozenset()
    assert ctx.sms.sent == []


def test_a_waves_texts_go_out_at_once_not_one_after_another():
    """A wave's alerts are texts: three provider calls in flight together (each waits for the
    other two here; one after another, the first would wait alone and give up)."""
    import threading

    store = FakeDocuments()
    store.add_request("r", customerId="cust")
    ctx = make_context(store, wave_first=3)
    for n in range(3):
        store.add_helper(f"h{n}", f"tok-{n}", phone=f"+1512555011{n}")
    together = threading.Barrier(3, timeout=5)
    sent = []

    def send(to: str, body: str) -> bool:
        together.wait()
        sent.append(to)
        return True

    ctx.sms.send = send  # type: ignore[method-assign]
    report = run_round(ctx, "r", "initial")
    assert report is not None and report.counts.sms_sent == 3 and len(sent) == 3
    assert ctx.push.sent == []  # texted: no push as well
