"""Builds the real adapters once, lazily (cold start pays only for what a function uses)."""

from __future__ import annotations

from functools import cache

import firebase_admin

from homepro import config
from homepro.services.context import Context
from homepro.services.ports import Identity


@cache
def app() -> firebase_admin.App:
    """The default firebase-admin app (the Functions SDK may already have made it)."""
    try:
        return firebase_admin.get_app()
    except ValueError:
        return firebase_admin.initialize_app()


@cache
def context() -> Context:
    from firebase_admin import firestore

    from homepro.adapters.clock import SystemClock
    from homepro.adapters.firestore_store import FirestoreStore

    return Context(
        store=FirestoreStore(firestore.client(app())),
        clock=SystemClock(),
        policy=config.policy(),
    )


@cache
def identity() -> Identity:
    from homepro.adapters.identity import FirebaseIdentity

    return FirebaseIdentity(app())
