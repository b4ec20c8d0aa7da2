"""The one error map, and the indexes every declared query needs."""

import json
from pathlib import Path

import pytest
from firebase_functions import https_fn

from homepro.adapters.queries import QUERY_SHAPES
from homepro.domain import errors
from homepro.entrypoints import to_https_error

ROOT = Path(__file__).resolve().parents[2]
Code = https_fn.FunctionsErrorCode


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidInput("requestId", "is required"), Code.INVALID_ARGUMENT),
        (errors.Unauthenticated("sign in"), Code.UNAUTHENTICATED),
        (errors.Forbidden("no"), Code.PERMISSION_DENIED),
        (errors.NotFound("gone"), Code.NOT_FOUND),
        (errors.InvalidTransition("cannot"), Code.FAILED_PRECONDITION),
        (errors.FailedPrecondition("declined"), Code.FAILED_PRECONDITION),
        (errors.Conflict("busy"), Code.ABORTED),
    ],
)
def test_each_domain_error_has_its_code_and_keeps_its_message(error, code):
    mapped = to_https_error(error)
    assert mapped.code == code
    assert mapped.message == error.message


def test_every_declared_query_has_a_composite_index():
    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())["indexes"]
    declared = {
        (ix["collectionGroup"], tuple(f["fieldPath"] for f in ix["fields"])) for ix in indexes
    }
    for shape in QUERY_SHAPES:
        if shape.needs_composite_index:
            assert (shape.collection, (*shape.equal, shape.ranged)) in declared, shape
