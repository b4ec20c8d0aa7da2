"""Sessions on the fakes: checklist, start, join, end, and the money that follows."""

import pytest

from homepro.domain.errors import FailedPrecondition, Forbidden, InvalidInput, InvalidTransition
from homepro.domain.models import (
    Actor,
    EndSessionInput,
    RequestDoc,
    SessionRef,
    StartSessionInput,
    parse_input,
)
from homepro.domain.notifications import session_invite
from homepro.services import sessions, sweeps
from homepro.testing import FakeClock, FakeDocuments, fake_docs, make_context, paid_request

HELPER = Actor(uid="h1", role="helper")
CUSTOMER = Actor(uid="cust-1", role="customer")
CHECKLIST = {"water_shutoff_located": True, "area_clear": True, "customer_ready": True}


@pytest.fixture
def ctx():
    store = FakeDocuments()
    store.add_request(
        "r", customerId="cust-1", status="claimed", helperId="h1", paymentIntentId="pi_r"
    )
    return make_context(store)


def start(ctx, checklist=CHECKLIST):
    return sessions.start_session(
        ctx, HELPER, StartSessionInput(request_id="r", checklist=checklist)
    )


def test_the_checklist_must_be_complete_and_names_what_is_missing(ctx):
    with pytest.raises(FailedPrecondition, match="water_shutoff_located, customer_ready"):
        start(ctx, {"area_clear": True, "water_shutoff_located": False})
    assert ctx.video.rooms == {} and fake_docs(ctx).requests["r"]["status"] == "claimed"


def test_only_the_claiming_helper_starts(ctx):
    with pytest.raises(Forbidden):
        sessions.start_session(
            ctx,
            Actor(uid="h2", role="helper"),
            StartSessionInput(request_id="r", checklist=CHECKLIST),
        )


def test_a_resolved_session_captures_and_frees_its_helper(ctx):
    fake_docs(ctx).collection("helperClaims")["h1"] = {"open": ["r"]}
    started = start(ctx)
    assert started["status"] == "waiting" and started["helperJoinUrl"].endswith("/h")
    assert fake_docs(ctx).requests["r"]["status"] == "in_session"
    joined = sessions.join_session(ctx, CUSTOMER, SessionRef(session_id=started["sessionId"]))
    assert joined["status"] == "active" and joined["customerJoinUrl"].endswith("/c")
    ctx.clock.advance(minutes=12)
    ended = sessions.end_session(
        ctx, HELPER, EndSessionInput(session_id=started["sessionId"], outcome="resolved")
    )
    assert (ended["status"], ended["paymentStatus"]) == ("ended", "captured")
    request = fake_docs(ctx).requests["r"]
    assert (request["status"], request["outcome"], request["paymentOwed"]) == (
        "completed",
        "resolved",
        None,
    )
    assert fake_docs(ctx).sessions[started["sessionId"]]["durationSeconds"] == 720
    assert fake_docs(ctx).collection("helperClaims")["h1"] == {"open": []}
    assert ctx.payments.intents["pi_r"]["status"] == "succeeded"
    with pytest.raises(InvalidTransition):  # ended once
        sessions.end_session(
            ctx, HELPER, EndSessionInput(session_id=started["sessionId"], outcome="unresolved")
        )


@pytest.mark.parametrize("outcome", ["unresolved", "no_show"])
def test_other_outcomes_release(ctx, outcome):
    started = start(ctx)
    sessions.join_session(ctx, CUSTOMER, SessionRef(session_id=started["sessionId"]))
    ended = sessions.end_session(
        ctx, HELPER, EndSessionInput(session_id=started["sessionId"], outcome=outcome)
    )
    assert ended["paymentStatus"] == "released"
    assert ctx.payments.intents["pi_r"]["status"] == "canceled"


def test_a_waiting_session_ends_only_as_no_show(ctx):
    started = start(ctx)
    with pytest.raises(FailedPrecondition):
        sessions.end_session(
            ctx, HELPER, EndSessionInput(session_id=started["sessionId"], outcome="resolved")
        )


def test_nobody_joined_the_sweep_ends_it_no_show_and_releases(ctx):
    started = start(ctx)
    ctx.clock.advance(minutes=16)
    result = sweeps.sweep_stale_claims(ctx)
    assert result.counts == {"session_no_show": 1, "payment_released": 1}
    assert fake_docs(ctx).sessions[started["sessionId"]]["outcome"] == "no_show"
    assert fake_docs(ctx).requests["r"]["outcome"] == "no_show"
    assert sweeps.sweep_stale_claims(ctx).counts == {}


def test_a_checklist_holds_only_the_category_s_items(ctx):
    with pytest.raises(InvalidInput, match="checklist: not items of the checklist: junk-1, junk-2"):
        start(ctx, {**CHECKLIST, "junk-1": True, "junk-2": False})
    assert fake_docs(ctx).requests["r"]["status"] == "claimed" and ctx.video.rooms == {}


def test_a_checklist_of_thousands_of_keys_is_refused_as_input():
    data = {"requestId": "r", "checklist": {f"k{n}": True for n in range(5000)}}
    with pytest.raises(InvalidInput, match="checklist"):
        parse_input(StartSessionInput, data)


def test_no_document_a_client_reads_holds_a_video_link(ctx):
    started = start(ctx)
    session = fake_docs(ctx).sessions[started["sessionId"]]
    assert not {k for k in session if "url" in k.lower()}
    links = fake_docs(ctx).collection("sessionLinks")[started["sessionId"]]
    assert (links["customerJoinUrl"], links["helperJoinUrl"]) == (
        f"https://v/{started['sessionId']}/c",
        started["helperJoinUrl"],
    )


def test_joining_again_answers_the_link_again_and_starting_again_the_helper_s(ctx):
    started = start(ctx)
    ref = SessionRef(session_id=started["sessionId"])
    first = sessions.join_session(ctx, CUSTOMER, ref)
    version = fake_docs(ctx).sessions[started["sessionId"]]["version"]
    again = sessions.join_session(ctx, CUSTOMER, ref)  # a reload of the status page
    assert again == first and again["status"] == "active"
    assert fake_docs(ctx).sessions[started["sessionId"]]["version"] == version  # no transition
    with pytest.raises(Forbidden):
        sessions.join_session(ctx, Actor(uid="someone", role="customer"), ref)
    restarted = start(ctx, {})  # the helper's page after a reload asks again
    assert restarted == {
        "sessionId": started["sessionId"],
        "status": "active",
        "helperJoinUrl": started["helperJoinUrl"],
    }
    with pytest.raises((Forbidden, InvalidTransition)):
        sessions.start_session(
            ctx, Actor(uid="h2", role="helper"), StartSessionInput(request_id="r", checklist={})
        )


def test_the_invitation_leads_to_the_app_not_to_the_provider():
    fields = {"status": "in_session", "sessionId": "s-r", "version": 4}
    data = {**paid_request("r", FakeClock().now(), **fields), "id": "r"}
    note = session_invite(RequestDoc.model_validate(data))
    assert note.data["url"] == "/customer/request/r/status" and "joinUrl" not in note.data
    text = note.sms_text("https://app.example")
    assert text.endswith("https://app.example/customer/request/r/status")
    assert "https://v/" not in text + note.body
