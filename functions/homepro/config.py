"""Every deploy-time parameter and secret, and the only module that reads the environment."""

from __future__ import annotations

import os
from functools import cache

from firebase_functions import params

from homepro.domain.policy import Policy

REGION = "us-central1"

PENDING_TIMEOUT_MINUTES = params.IntParam(
    "PENDING_TIMEOUT_MINUTES", default=30, description="A pending request expires after this."
)
CLAIM_TIMEOUT_MINUTES = params.IntParam(
    "CLAIM_TIMEOUT_MINUTES", default=15, description="A claim with no session is released after."
)
MAX_RELEASES = params.IntParam(
    "MAX_RELEASES", default=3, description="The release that expires a request instead."
)
ESCALATION_MINUTES = params.IntParam(
    "ESCALATION_MINUTES", default=5, description="A pending request gets a new round this often."
)
JOIN_TIMEOUT_MINUTES = params.IntParam(
    "JOIN_TIMEOUT_MINUTES", default=15, description="A waiting session ends no_show after this."
)


@cache
def policy() -> Policy:
    """The lifecycle policy from the deployed parameters (read at run time, never at import)."""
    return Policy(
        pending_timeout_minutes=PENDING_TIMEOUT_MINUTES.value,
        claim_timeout_minutes=CLAIM_TIMEOUT_MINUTES.value,
        max_releases=MAX_RELEASES.value,
        escalation_minutes=ESCALATION_MINUTES.value,
        join_timeout_minutes=JOIN_TIMEOUT_MINUTES.value,
    )


def in_emulator() -> bool:
    return os.environ.get("FUNCTIONS_EMULATOR") == "true"
