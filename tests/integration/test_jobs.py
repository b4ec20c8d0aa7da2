"""Helpers see a job, not a customer: through the callables and Firestore's REST API, with the
helpers' own ID tokens (the rules apply)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import emulator_client as ec
from conftest import wait_for

DESCRIPTION = "The kitchen sink drips all night long."
SECRETS = ("customerId", "paymentIntentId", "clientRequestId", "helperId")


def board_as(id_token: str) -> tuple[int, list[str]]:
    """The job board's query (`jobs` where `open == true`) through the REST API as the user:
    the HTTP status and the ids found."""
    url = f"{ec.FIRESTORE}/v1/projects/{ec.PROJECT}/databases/(default)/documents:runQuery"
    body = {
        "structuredQuery": {
            "from": [{"collectionId": "jobs"}],
            "where": {
                "fieldFilter": {
                    "field": {"fieldPath": "open"},
                    "op": "EQUAL",
                    "value": {"booleanValue": True},
                }
            },
        }
    }
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {id_token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            rows: list[dict[str, Any]] = json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return int(err.code), []
    return 200, [r["document"]["name"].rsplit("/", 1)[1] for r in rows if "document" in r]


def test_a_helper_reads_the_job_but_not_the_request_until_holding_it(clean, make_account):
    customer = make_account("customer")
    helper, other = make_account("helper"), make_account("helper")
    request_id = ec.call(
        "create_request",
        {
            "category": "plumbing",
            "description": DESCRIPTION,
            "paymentMethodId": "pm_card_visa",
            "clientRequestId": "jobs-1",
        },
        customer.id_token,
    )["requestId"]

    # the request names its customer and its payment: refused to a helper who does not hold it
    assert ec.read_as(f"requests/{request_id}", helper.id_token)[0] == 403
    status, job = ec.read_as(f"jobs/{request_id}", helper.id_token)
    assert status == 200
    assert job["open"] == {"booleanValue": True}
    assert job["description"] == {"stringValue": DESCRIPTION}
    assert job["amount"] == {"integerValue": "4900"}
    assert not set(SECRETS) & set(job)
    assert request_id in wait_for(lambda: board_as(helper.id_token)[1])
    # the customer reads the request, not the board
    assert ec.read_as(f"requests/{request_id}", customer.id_token)[0] == 200
    assert ec.read_as(f"jobs/{request_id}", customer.id_token)[0] == 403
    assert board_as(customer.id_token)[0] == 403

    ec.call("claim_request", {"requestId": request_id}, helper.id_token)

    # the holder reads the request; the job is closed to everyone else
    status, request = ec.read_as(f"requests/{request_id}", helper.id_token)
    assert status == 200 and request["helperId"] == {"stringValue": helper.uid}
    assert ec.read_as(f"requests/{request_id}", other.id_token)[0] == 403
    assert ec.read_as(f"jobs/{request_id}", other.id_token)[0] == 403
    assert board_as(other.id_token) == (200, [])

    # given back, it is an open job again (and the releasing helper no longer reads the request)
    ec.call("release_claim", {"requestId": request_id}, helper.id_token)
    assert ec.read_as(f"requests/{request_id}", helper.id_token)[0] == 403
    status, job = ec.read_as(f"jobs/{request_id}", other.id_token)
    assert status == 200 and job["open"] == {"booleanValue": True}
