"""A demotion reaches the callables at once, on the emulators: set-role rewrites the profile's
role, which helper and admin callables re-read, and revokes the account's refresh tokens."""

from __future__ import annotations

import time

import pytest
from firebase_admin import auth
from google.cloud.firestore_v1 import Client

import emulator_client as ec
from homepro import bootstrap
from homepro.services.roles import assign_role


def demote(account: ec.Account, role: str = "customer") -> None:
    """`make set-role EMAIL=… ROLE=customer`, a second or more after the account's sign-in (ID
    tokens count time in whole seconds: a token of the revocation's own second stays valid)."""
    time.sleep(1.1)
    assign_role(bootstrap.context(), bootstrap.identity(), account.email, role)


def test_a_demoted_helper_cannot_claim_with_the_token_they_still_hold(
    db: Client, make_account, make_request
) -> None:
    helper = make_account("helper")
    request_id = make_request()
    # a helper a moment ago: a helper-only callable answers
    assert ec.call("set_availability", {"isAvailable": True}, helper.id_token)

    demote(helper)

    with pytest.raises(ec.CallError) as err:
        ec.call("claim_request", {"requestId": request_id}, helper.id_token)
    assert err.value.status == "PERMISSION_DENIED"
    assert "only helpers" in err.value.message
    request = db.collection("requests").document(request_id).get().to_dict() or {}
    assert (request["status"], request.get("helperId")) == ("pending", None)
    with pytest.raises(ec.CallError) as err:
        ec.call("set_availability", {"isAvailable": True}, helper.id_token)
    assert err.value.status == "PERMISSION_DENIED"


def test_set_role_revokes_the_refresh_tokens(db: Client, make_account) -> None:
    helper = make_account("helper")
    app = bootstrap.app()
    signed_in = auth.verify_id_token(helper.id_token, app=app, check_revoked=True)

    demote(helper)

    record = auth.get_user(helper.uid, app=app)
    assert record.tokens_valid_after_timestamp > signed_in["iat"] * 1000
    with pytest.raises(auth.RevokedIdTokenError):
        auth.verify_id_token(helper.id_token, app=app, check_revoked=True)
    # a new sign-in carries the new claim
    again = ec.sign_in(helper.email)
    assert auth.verify_id_token(again.id_token, app=app, check_revoked=True)["role"] == "customer"


def test_a_demoted_admin_loses_the_admin_callables_at_once(make_account) -> None:
    admin = make_account("admin")
    assert "requests" in ec.call("dispatch_report", {}, admin.id_token)

    demote(admin, "helper")

    with pytest.raises(ec.CallError) as err:
        ec.call("dispatch_report", {}, admin.id_token)
    assert err.value.status == "PERMISSION_DENIED"
