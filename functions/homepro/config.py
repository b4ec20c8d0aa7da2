"""Every deploy-time parameter and secret, and the only module that reads the environment."""

from __future__ import annotations

import os
from functools import cache

from firebase_functions import params

from homepro.domain.policy import AbuseLimits, Policy

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
MAX_CLAIMS_PER_HELPER = params.IntParam(
    "MAX_CLAIMS_PER_HELPER",
    default=1,
    description="Requests one helper may hold at once (claimed or in session).",
)
MAX_DEVICES_PER_USER = params.IntParam(
    "MAX_DEVICES_PER_USER",
    default=10,
    description="Devices one user may register; a new one past it replaces the oldest.",
)
ESCALATION_MINUTES = params.IntParam(
    "ESCALATION_MINUTES", default=5, description="A pending request gets a new round this often."
)
JOIN_TIMEOUT_MINUTES = params.IntParam(
    "JOIN_TIMEOUT_MINUTES", default=15, description="A waiting session ends no_show after this."
)

# Abuse limits (README → Abuse limits says why each default). Per-IP ones are set high on the
# local stack (functions/.env.local), where every call comes from 127.0.0.1.
MAX_OPEN_REQUESTS_PER_CUSTOMER = params.IntParam(
    "MAX_OPEN_REQUESTS_PER_CUSTOMER",
    default=2,
    description="Requests one customer may have open at once (pending, claimed, in session).",
)
MAX_REQUESTS_PER_CUSTOMER_PER_HOUR = params.IntParam(
    "MAX_REQUESTS_PER_CUSTOMER_PER_HOUR",
    default=6,
    description="Requests one customer may create in an hour.",
)
MAX_DECLINES_PER_CUSTOMER_PER_DAY = params.IntParam(
    "MAX_DECLINES_PER_CUSTOMER_PER_DAY",
    default=5,
    description="Card attempts not authorized, per customer per day, before Stripe is skipped.",
)
MAX_DECLINES_PER_IP_PER_HOUR = params.IntParam(
    "MAX_DECLINES_PER_IP_PER_HOUR",
    default=10,
    description="Card attempts not authorized, per source IP per hour, before Stripe is skipped.",
)
MAX_SIGNUPS_PER_IP_PER_HOUR = params.IntParam(
    "MAX_SIGNUPS_PER_IP_PER_HOUR",
    default=10,
    description="New accounts per source IP per hour (the blocking function refuses more).",
)
TRUSTED_PROXY_HOPS = params.IntParam(
    "TRUSTED_PROXY_HOPS",
    default=0,
    description="Proxies of ours after Google's front end (1 behind an external load balancer).",
)
# Read when main.py is imported (the Functions SDK takes it as a decorator option); the local
# stack's functions/.env.local turns it off: the emulators cannot mint App Check tokens offline.
ENFORCE_APP_CHECK = params.BoolParam(
    "ENFORCE_APP_CHECK",
    default=True,
    description="Callables refuse calls without a valid App Check token.",
)


TWILIO_ACCOUNT_SID = params.StringParam(
    "TWILIO_ACCOUNT_SID", default="", description="Twilio account for SMS; empty turns SMS off."
)
TWILIO_FROM_NUMBER = params.StringParam(
    "TWILIO_FROM_NUMBER", default="", description="The E.164 number SMS are sent from."
)
TWILIO_AUTH_TOKEN = params.SecretParam("TWILIO_AUTH_TOKEN")

VIDEO_ACCESS_TOKEN = params.SecretParam("VIDEO_ACCESS_TOKEN")
VIDEO_SECRETS = [VIDEO_ACCESS_TOKEN]

STRIPE_SECRET_KEY = params.SecretParam("STRIPE_SECRET_KEY")
STRIPE_MAX_RPS = params.IntParam(
    "STRIPE_MAX_RPS", default=20, description="Stripe calls a second, across each instance."
)
STRIPE_WEBHOOK_SECRET = params.SecretParam("STRIPE_WEBHOOK_SECRET")
# The functions that move money need the Stripe secret.
PAYING_SECRETS = [STRIPE_SECRET_KEY]

# The functions that send notifications need the Twilio secret.
NOTIFYING_SECRETS = [TWILIO_AUTH_TOKEN]

FCM_SCOPES = (
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
)
SMS_FROM_ROUND = params.IntParam(
    "SMS_FROM_ROUND",
    default=2,
    description="Helpers with no device get SMS from this round (0: never).",
)
REDISPATCH_ON_RELEASE = params.BoolParam(
    "REDISPATCH_ON_RELEASE", default=True, description="A released claim is dispatched again."
)
APP_URL = params.StringParam(
    "APP_URL",
    default="",
    description="The web app's address, for links in SMS (empty: https://{project}.web.app).",
)


@cache
def policy() -> Policy:
    """The lifecycle policy from the deployed parameters (read at run time, never at import)."""
    return Policy(
        pending_timeout_minutes=PENDING_TIMEOUT_MINUTES.value,
        claim_timeout_minutes=CLAIM_TIMEOUT_MINUTES.value,
        max_releases=MAX_RELEASES.value,
        max_claims_per_helper=MAX_CLAIMS_PER_HELPER.value,
        escalation_minutes=ESCALATION_MINUTES.value,
        join_timeout_minutes=JOIN_TIMEOUT_MINUTES.value,
        sms_from_round=SMS_FROM_ROUND.value,
        redispatch_on_release=REDISPATCH_ON_RELEASE.value,
        abuse=AbuseLimits(
            open_requests_per_customer=MAX_OPEN_REQUESTS_PER_CUSTOMER.value,
            requests_per_customer_per_hour=MAX_REQUESTS_PER_CUSTOMER_PER_HOUR.value,
            declines_per_customer_per_day=MAX_DECLINES_PER_CUSTOMER_PER_DAY.value,
            declines_per_source_per_hour=MAX_DECLINES_PER_IP_PER_HOUR.value,
            signups_per_source_per_hour=MAX_SIGNUPS_PER_IP_PER_HOUR.value,
        ),
        max_devices_per_user=MAX_DEVICES_PER_USER.value,
    )


def project_id() -> str:
    return os.environ.get("GCLOUD_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT") or ""


def app_url() -> str:
    """Where links in text messages lead: `APP_URL`, else the project's Hosting site."""
    configured = APP_URL.value.rstrip("/")
    if configured:
        return configured
    project = project_id()
    return f"https://{project}.web.app" if project else ""


def fcm_base_url() -> str:
    """Where pushes go: FCM, or the local stand-in the stack names (the one place that says so)."""
    return os.environ.get("HOMEPRO_FCM_URL") or "https://fcm.googleapis.com"


def fcm_static_token() -> str | None:
    """Locally the stand-in takes any bearer token; in production the credential signs in."""
    return "local-fcm-token" if os.environ.get("HOMEPRO_FCM_URL") else None


def twilio_base_url() -> str | None:
    return os.environ.get("HOMEPRO_TWILIO_URL") or None


def twilio_credentials() -> tuple[str, str, str] | None:
    """(account sid, auth token, from number), or None when SMS is not configured."""
    sid = TWILIO_ACCOUNT_SID.value
    if not sid:
        return None
    return sid, TWILIO_AUTH_TOKEN.value, TWILIO_FROM_NUMBER.value


def stripe_base_url() -> str | None:
    """Where Stripe calls go: Stripe, or localstripe when the stack names it."""
    return os.environ.get("HOMEPRO_STRIPE_URL") or None


def video_base_url() -> str:
    """Where video rooms are made: Zoho Lens, or the local stand-in the stack names."""
    return os.environ.get("HOMEPRO_VIDEO_URL") or "https://lens.zoho.com"


def source_address(forwarded_for: str, remote_addr: str | None) -> str | None:
    """The caller's address as Google's front end saw it.

    In production a request reaches the function through Google's front end, which appends the
    address it was connected from to `X-Forwarded-For`: the last entry is the caller (the entries
    before it are whatever the client sent, and are ignored), or the entry `TRUSTED_PROXY_HOPS`
    from the end when proxies of ours come after it. On the emulators nothing appends to the
    header, so it is the client's to write: the connection's own address is used instead.
    """
    if os.environ.get("FUNCTIONS_EMULATOR") == "true":
        return remote_addr or None
    entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
    hops = max(0, TRUSTED_PROXY_HOPS.value)
    if len(entries) > hops:
        return entries[-1 - hops]
    return remote_addr or None
