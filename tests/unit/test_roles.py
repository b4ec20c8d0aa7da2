"""Roles: set-role signs the account out; callables act with the role the server wrote last."""

from typing import Any

import pytest
from firebase_functions import https_fn
from flask import Request

from homepro.domain.errors import Forbidden, Unauthenticated
from homepro.domain.models import Actor, RequestRef, Role
from homepro.entrypoints import actor_of
from homepro.services import claims, roles
from homepro.testing import FakeDocuments, FakeIdentity, fake_docs, make_context


def callable_request(uid: str | None, **claims_: Any) -> https_fn.CallableRequest[Any]:
    """A callable request as the SDK hands it over once the ID token verified."""
    auth = https_fn.AuthData(uid=uid, token={"uid": uid, **claims_}) if uid else None
    return https_fn.CallableRequest(
        raw_request=Request.from_values(method="POST"), data={}, auth=auth
    )


@pytest.fixture
def store() -> FakeDocuments:
    store = FakeDocuments()
    store.add_helper("h1")
    store.users["a1"] = {"role": "admin", "displayName": "Ada"}
    store.users["c1"] = {"role": "customer", "displayName": "Cara"}
    store.add_request("r1")
    return store


def test_a_helper_claim_the_profile_agrees_with_acts_as_a_helper(store):
    ctx = make_context(store)
    assert actor_of(ctx, callable_request("h1", role="helper")) == Actor(uid="h1", role="helper")
    assert actor_of(ctx, callable_request("a1", role="admin")) == Actor(uid="a1", role="admin")


def test_a_demoted_helper_acts_as_a_customer_with_the_old_token(store):
    ctx = make_context(store)
    store.users["h1"]["role"] = "customer"  # set-role wrote it; the ID token still says helper
    actor = actor_of(ctx, callable_request("h1", role="helper"))
    assert actor == Actor(uid="h1", role="customer")
    with pytest.raises(Forbidden, match="only helpers can claim"):
        claims.claim_request(ctx, actor, RequestRef(request_id="r1"))
    assert store.requests["r1"]["status"] == "pending"


def test_a_demoted_admin_acts_as_a_customer(store):
    ctx = make_context(store)
    store.users["a1"]["role"] = "helper"
    assert actor_of(ctx, callable_request("a1", role="admin")).role == Role.CUSTOMER


def test_a_promotion_waits_for_the_new_token(store):
    """Neither power is confirmed by both the token and the profile: the least of them."""
    ctx = make_context(store)
    store.users["h1"]["role"] = "admin"
    assert actor_of(ctx, callable_request("h1", role="helper")).role == Role.CUSTOMER
    assert actor_of(ctx, callable_request("c1", role="customer")).role == Role.CUSTOMER


def test_a_helper_claim_with_no_profile_acts_as_a_customer(store):
    ctx = make_context(store)
    assert actor_of(ctx, callable_request("ghost", role="helper")).role == Role.CUSTOMER


def test_a_customer_claim_reads_nothing(store):
    ctx = make_context(store)
    del store.users["c1"]  # were it read, the missing profile would show
    assert actor_of(ctx, callable_request("c1", role="customer")) == Actor(
        uid="c1", role="customer"
    )


def test_no_user_or_no_role_is_refused(store):
    ctx = make_context(store)
    with pytest.raises(Unauthenticated):
        actor_of(ctx, callable_request(None))
    with pytest.raises(Forbidden, match="no role"):
        actor_of(ctx, callable_request("h1"))
    with pytest.raises(Forbidden, match="no role"):
        actor_of(ctx, callable_request("h1", role="superuser"))


def test_set_role_sets_the_claim_mirrors_it_and_revokes_the_sessions():
    ctx = make_context()
    identity = FakeIdentity()
    identity.accounts["hana@example.com"] = "h1"
    roles.assign_role(ctx, identity, "hana@example.com", "helper")
    roles.assign_role(ctx, identity, "hana@example.com", "customer")
    assert identity.claims["h1"] == {"role": "customer"}
    assert fake_docs(ctx).users["h1"]["role"] == "customer"
    assert identity.revoked == ["h1", "h1"]
