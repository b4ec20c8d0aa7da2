"""What a helper sees of a request before holding it: the job, and the notifications."""

from datetime import UTC, datetime

from homepro.domain import notifications
from homepro.domain.jobs import job_of
from homepro.domain.models import Actor, CancelRequestInput, RequestDoc, RequestRef
from homepro.services import claims, payments
from homepro.testing import FakeDocuments, fake_docs, make_context, paid_request

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SECRETS = ("cust-secret", "pi_secret", "client-req-secret")


def _request(**fields):
    data = paid_request(
        "r1",
        NOW,
        customerId="cust-secret",
        paymentIntentId="pi_secret",
        clientRequestId="client-req-secret",
        **fields,
    )
    return RequestDoc.model_validate({**data, "id": "r1"})


def test_a_job_holds_nothing_of_the_customer_or_the_payment():
    job = job_of(_request())
    assert set(job) == {
        "category",
        "description",
        "amount",
        "currency",
        "status",
        "paymentStatus",
        "open",
        "createdAt",
        "pendingSince",
        "updatedAt",
    }
    assert job["open"] is True
    assert not any(secret in str(value) for value in job.values() for secret in SECRETS)


def test_only_a_pending_request_with_its_card_held_is_an_open_job():
    assert job_of(_request(paymentStatus="requires_payment"))["open"] is False
    assert job_of(_request(status="claimed", helperId="h1"))["open"] is False


def test_notifications_to_helpers_carry_nothing_of_the_customer():
    request = _request(status="claimed", helperId="h1", helperDisplayName="Hana", version=3)
    for note in (
        notifications.new_request(request, "initial", 600),
        notifications.request_taken(request),
        notifications.claim_released(request),
        notifications.request_cancelled(request),
    ):
        text = " ".join([note.title, note.body, note.sms_text("https://app"), *note.data.values()])
        assert not any(secret in text for secret in SECRETS), note.type


def test_every_transition_of_the_services_keeps_the_job_current():
    docs = FakeDocuments()
    docs.users["h1"] = {"role": "helper", "displayName": "Hana", "isAvailable": True}
    docs.add_request("r1")
    ctx = make_context(docs)
    helper = Actor(uid="h1", role="helper")

    claims.claim_request(ctx, helper, RequestRef(request_id="r1"))
    assert fake_docs(ctx).collection("jobs")["r1"]["open"] is False
    claims.release_claim(ctx, helper, RequestRef(request_id="r1"))
    assert fake_docs(ctx).collection("jobs")["r1"]["open"] is True
    payments.cancel_request(
        ctx, Actor(uid="cust-1", role="customer"), CancelRequestInput(request_id="r1")
    )
    job = fake_docs(ctx).collection("jobs")["r1"]
    assert (job["status"], job["open"]) == ("cancelled", False)
