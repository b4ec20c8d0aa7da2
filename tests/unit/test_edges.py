"""The one error map, and the indexes every declared query needs."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from firebase_functions import https_fn

from homepro.adapters.firestore.queries import QUERY_SHAPES
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
            assert (shape.collection, shape.index_fields) in declared, shape


def _client_query_shapes() -> list[dict[str, Any]]:
    """QUERY_SHAPES of web/src/queries.ts (a literal of plain data), read as JSON."""
    source = (ROOT / "web" / "src" / "queries.ts").read_text()
    literal = re.search(r"QUERY_SHAPES[^=]*=\s*(\[.*?\n\]);", source, re.S)
    assert literal, "web/src/queries.ts declares QUERY_SHAPES"
    text = re.sub(r"(\w+):", r'"\1":', literal.group(1).replace("'", '"'))
    text = re.sub(r",(\s*[\]}])", r"\1", text)
    shapes: list[dict[str, Any]] = json.loads(re.sub(r"\bINBOX_LIMIT\b", "0", text))
    return shapes


def test_every_client_query_has_the_index_it_needs():
    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())["indexes"]
    declared = {
        (
            ix["collectionGroup"],
            tuple((f["fieldPath"], f.get("order", "ASCENDING")) for f in ix["fields"]),
        )
        for ix in indexes
    }
    shapes = _client_query_shapes()
    assert {s["name"] for s in shapes} >= {"watchJobBoard", "watchCustomerRequests"}
    for shape in shapes:
        ordered = [(f, "DESCENDING" if d == "desc" else "ASCENDING") for f, d in shape["orderBy"]]
        if shape["equals"] and ordered:  # equality + order/range: a composite index
            wanted = (
                shape["collectionGroup"],
                (*((f, "ASCENDING") for f in shape["equals"]), *ordered),
            )
            assert wanted in declared, shape
