"""Callable input validation names the offending field; documents parse from Firestore data."""

import pytest

from homepro.domain.errors import InvalidInput
from homepro.domain.models import (
    CreateRequestInput,
    EndSessionInput,
    RequestDoc,
    RequestRef,
    SetAvailabilityInput,
    parse_input,
)


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (RequestRef, {}, "requestId"),
        (RequestRef, {"requestId": None}, "requestId"),
        (RequestRef, {"requestId": "x" * 129}, "requestId"),
        (RequestRef, {"requestId": "ok", "extra": 1}, "extra"),
        (SetAvailabilityInput, {"isAvailable": 1}, "isAvailable"),
        (
            CreateRequestInput,
            {"category": "roofing", "description": "x" * 20, "paymentMethodId": "pm"},
            "category",
        ),
        (
            CreateRequestInput,
            {"category": "hvac", "description": "short", "paymentMethodId": "pm"},
            "description",
        ),
        (
            CreateRequestInput,
            {"category": "hvac", "description": "x" * 1001, "paymentMethodId": "pm"},
            "description",
        ),
        (EndSessionInput, {"sessionId": "s1", "outcome": "cancelled"}, "outcome"),
        (RequestRef, ["requestId"], "data"),
    ],
)
def test_invalid_input_names_the_field(model, data, field):
    with pytest.raises(InvalidInput) as err:
        parse_input(model, data)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}:")


def test_valid_input_parses_camel_case():
    parsed = parse_input(
        CreateRequestInput,
        {
            "category": "hvac",
            "description": "The furnace will not start.",
            "paymentMethodId": "pm_card_visa",
        },
    )
    assert parsed.payment_method_id == "pm_card_visa"
    assert parsed.client_request_id is None


def test_a_request_document_accepts_missing_and_null_optionals():
    doc = RequestDoc.model_validate(
        {
            "customerId": "c1",
            "category": "general",
            "description": "Door squeaks loudly.",
            "amount": 2900,
            "status": "pending",
            "paymentStatus": "authorized",
            "helperId": None,
            "someFutureField": 1,
        }
    )
    assert doc.dispatchable
    assert doc.release_count == 0 and doc.helper_id is None
