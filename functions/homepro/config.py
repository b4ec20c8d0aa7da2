"""Every deploy-time parameter and secret, and the only module that reads the environment."""

from __future__ import annotations

import os
from functools import cache

from firebase_functions import params

from homepro.domain.policy import AbuseLimits, Policy
from homepro.domain.texts import parse_prefixes

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
# Three minutes: the simulation's best with waves that text (docs/simulation.md, "Texts"): a
# wave asks few, so the next must not wait long, but a helper who noticed needs ~3 minutes to
# claim; at 2, more helpers are asked of jobs somebody is about to take (weekday: 95.5 % vs
# 97.4 % within 15 with fatigue, 9.5 vs 7.1 alerts a helper-hour).
ESCALATION_MINUTES = params.IntParam(
    "ESCALATION_MINUTES", default=3, description="A pending request gets a new round this often."
)
# Waves (issue 17): the defaults are the ones `make simulate` recommends (docs/simulation.md,
# "Waves"): a first wave of WAVE_FIRST ranked helpers, each escalation WAVE_GROWTH more. 3 since
# promise first (docs/simulation.md, "Promise first"): over 20 weekday seeds 97.3 / 98.2 %
# within 15 (fatigue on / off) against 97.0 / 97.8 % at 2, the wait's error 1.83 / 1.62 minutes
# against 2.02 / 1.80; the storm and the evening the same within their seeds' spread.
WAVE_FIRST = params.IntParam(
    "WAVE_FIRST",
    default=3,
    description="Helpers a request's first round asks (0: every matching helper, every round).",
)
WAVE_GROWTH = params.IntParam(
    "WAVE_GROWTH", default=2, description="Each later round asks this many helpers more."
)
# Promise first: a request waiting longer than the promise cannot have it kept any more; while a
# request of its category that still can waits, the late one's rounds ask nobody (it stays on
# the job board) and the helpers' alerts go to the one whose promise can be kept. The simulation
# (3 seeds, fatigue on / off): storm 46.9 / 53.4 % within 15 without, 55.7 / 63.7 % with it,
# and more requests claimed at all (63.4 -> 65.0 %, 69.9 -> 71.8 %); the weekday the same over
# 20 seeds; docs/simulation.md, "Promise first".
LATE_AFTER_MINUTES = params.IntParam(
    "LATE_AFTER_MINUTES",
    default=15,
    description=(
        "A request waiting longer than this is late: its rounds ask nobody while a newer"
        " request of its category waits (0: never late)."
    ),
)
# A helper hears of at most this many new jobs an hour by push or text (they may choose fewer);
# past it they still see every job on the board. 24 (one every 2.5 minutes at most): the budget
# binds only when helpers are short, and there each alert more serves more (storm, 2 seeds,
# fatigue on / off: 40.0 / 45.1 % within 15 at 16, 46.7 / 51.9 at 24, 47.9 / 54.9 at 32; the
# weekday and the evening no better past 24). See docs/simulation.md, "Texts".
MAX_JOB_ALERTS_PER_HOUR = params.IntParam(
    "MAX_JOB_ALERTS_PER_HOUR",
    default=24,
    description="New-job alerts (pushes, texts) one helper gets an hour at most.",
)
JOIN_TIMEOUT_MINUTES = params.IntParam(
    "JOIN_TIMEOUT_MINUTES", default=15, description="A waiting session ends no_show after this."
)
# A session runs two hours at most: far longer than a remote home-repair consult (the report
# shows sessions of minutes), short enough that a helper who vanished does not hold the card
# for days. Both parties are warned 10 minutes before.
SESSION_MAX_MINUTES = params.IntParam(
    "SESSION_MAX_MINUTES",
    default=120,
    description="An active session ends timed_out after this (its hold waits for an admin).",
)
# Stripe drops an uncaptured authorization after 7 days: 48 hours leaves an admin two working
# days to decide, and five days of margin before the hold could no longer be captured.
ADMIN_DECISION_HOURS = params.IntParam(
    "ADMIN_DECISION_HOURS",
    default=48,
    description="A timed-out session's hold nobody decided within this is released.",
)
# The sweep retries an owed settlement every minute, and each try is itself retried by the
# Stripe library: 20 failures is about 20 minutes of failing, longer than Stripe's usual
# incidents; a payment failing still needs a person, with days left of the 7-day hold.
PAYMENT_MAX_ATTEMPTS = params.IntParam(
    "PAYMENT_MAX_ATTEMPTS",
    default=20,
    description="Failed settlements after which nothing retries a payment (an admin decides).",
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
# A customer's form asks for the wait when it opens, when the category changes and when the
# shown wait runs out (QUOTE_TTL_SECONDS): a few an hour. 30 is one every two minutes for an
# hour, far above a person, and bounds a script to 30 reads of the live supply an hour.
MAX_QUOTES_PER_CUSTOMER_PER_HOUR = params.IntParam(
    "MAX_QUOTES_PER_CUSTOMER_PER_HOUR",
    default=30,
    description="Waits (quote_wait) one customer may ask for in an hour.",
)
# A quote is used within the time it takes to read it and enter a card (a minute or two); the
# supply it was computed from changes within minutes (a round every ESCALATION_MINUTES): 10
# minutes leaves a slow form room, and a wait older than that is asked again.
QUOTE_TTL_SECONDS = params.IntParam(
    "QUOTE_TTL_SECONDS",
    default=600,
    description="Seconds a wait shown (quote_wait) may be used by create_request.",
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
    "STRIPE_MAX_RPS", default=20, description="Stripe calls a second, all sources together."
)
# The budget is split: bulk settlements (the sweeps' releases and retries, the webhook's, the
# reconcile job's) go through the `settlepayment` queue, whose rate Cloud Tasks holds across
# every instance; the calls a user waits on (authorize, cancel, end of session, refund,
# admin_settle) get the rest, STRIPE_MAX_RPS - STRIPE_BULK_RPS. Each share is also held per
# second across every instance by tokens in Firestore (adapters/stripe_budget.py): the queue's
# bursts and every callable instance together stay within STRIPE_MAX_RPS. Half each: an
# expiry storm of 600 holds drains in a minute at 10/s, and a burst of cancels is never queued
# behind it.
STRIPE_BULK_RPS = params.IntParam(
    "STRIPE_BULK_RPS",
    default=10,
    description="Settlements a second the settlepayment queue dispatches (of STRIPE_MAX_RPS).",
)
# A settlement task makes one Stripe call (up to a few seconds when Stripe is slow): 20 in
# flight keep 10/s going at 2 s a call. Low on the local stack: each is its own process there.
SETTLE_MAX_CONCURRENT = params.IntParam(
    "SETTLE_MAX_CONCURRENT",
    default=20,
    description="Settlement tasks running at once (the settlepayment queue).",
)
# A timer task is one transaction (and an enqueue or two), ~0.1 s: 20 in flight is what the
# 20 instances (max_instances) serve at once, 200 timers a second, ahead of any storm of
# deadlines the product makes (a second's worth of requests all falling due together). Low on
# the local stack: each is its own process there.
TIMER_MAX_CONCURRENT = params.IntParam(
    "TIMER_MAX_CONCURRENT",
    default=20,
    description="Timer tasks running at once (the requesttimer queue).",
)

# The outbox (issue 16): a transition's trigger does its work within a second or two; an entry
# still owed OUTBOX_GRACE_SECONDS after its commit is taken to be its dead worker's, and a
# `drainoutbox` task (the trigger's backstop, due then) resumes it, with the round it reserved.
# 10 s leaves a slow trigger (a cold start, a round to thousands of devices) room to finish; a
# trigger slower than that has its work done twice (a device hears of a round at most twice).
OUTBOX_GRACE_SECONDS = params.IntParam(
    "OUTBOX_GRACE_SECONDS",
    default=10,
    description="Seconds after its commit an unfinished outbox entry is resumed by a task.",
)
# A drainer holds an entry this long: longer than a resumed round to thousands of devices takes
# (FCM answers 500 pushes in about 1.5 s), short enough that a dead drainer's retry lands within
# the minute.
OUTBOX_LEASE_SECONDS = params.IntParam(
    "OUTBOX_LEASE_SECONDS",
    default=30,
    description="Seconds a drain task holds an outbox entry before another may take it.",
)
DRAIN_MAX_CONCURRENT = params.IntParam(
    "DRAIN_MAX_CONCURRENT",
    default=50,
    description="Outbox drain tasks running at once (the drainoutbox queue).",
)
# A callable answers within its 60 s timeout (the JS SDK gives up at 70 s): create_request makes
# at most two Stripe calls in a row (create, confirm), each of at most 1 + retries tries of
# `timeout` seconds plus the library's backoff (<= 2 s): 2 x (2 x 8 + 2) = 36 s, leaving room
# for the Firestore commits. Stripe answers a confirmation in a few seconds at its slowest.
STRIPE_CALL_TIMEOUT_SEC = params.IntParam(
    "STRIPE_CALL_TIMEOUT_SEC",
    default=8,
    description="A callable's Stripe call gives up a try after this (the jobs wait 80 s).",
)
STRIPE_CALL_RETRIES = params.IntParam(
    "STRIPE_CALL_RETRIES",
    default=1,
    description="Retries of a callable's Stripe call (the jobs retry 3 times).",
)
# The callables' share (STRIPE_MAX_RPS - STRIPE_BULK_RPS) is held across every instance by
# tokens of a per-second budget in Firestore (adapters/stripe_budget.py). A second with no
# token left is waited out, up to this long, then the call goes on (logged; Stripe's 429 and
# the library's retry take over): 3 s absorbs a burst of three times the share, and
# create_request's two calls add at most 6 s to the 36 s above, inside the callable's 60 s.
STRIPE_BUDGET_WAIT_SEC = params.IntParam(
    "STRIPE_BUDGET_WAIT_SEC",
    default=3,
    description="Longest wait of a callable's Stripe call for a token of the project's budget.",
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
# 1 (the first wave texts): a helper acts on a text about 2.7 times as often as on a push in
# the simulation's scenarios (see_sms 0.4 vs see_push 0.15), and fatigue counts both alike:
# docs/simulation.md, "Texts". A text costs about a cent; a request averages ~8.
TEXT_FROM_ROUND = params.IntParam(
    "TEXT_FROM_ROUND",
    default=1,
    description=(
        "From this round a wave texts the helpers it asks who gave a phone, instead of the"
        " push (0: only helpers with no device are texted)."
    ),
)
# 24, as many as a helper's new-job alerts an hour (MAX_JOB_ALERTS_PER_HOUR): a wave's alert is
# a text, and past this the helper gets the push, which they act on far less. Texts reach only
# helpers (accounts an admin made) and a customer's session invitation, at +1 numbers only
# (SMS_ALLOWED_PREFIXES), so 24 an hour (576 a day, ~$5 of texts) still bounds toll fraud.
MAX_TEXTS_PER_PHONE_PER_HOUR = params.IntParam(
    "MAX_TEXTS_PER_PHONE_PER_HOUR",
    default=24,
    description="Text messages one phone number gets an hour at most (toll fraud).",
)
SMS_ALLOWED_PREFIXES = params.StringParam(
    "SMS_ALLOWED_PREFIXES",
    default="+1",
    description="Comma-separated E.164 prefixes texts may go to (empty: any number).",
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
        wave_first=WAVE_FIRST.value,
        wave_growth=WAVE_GROWTH.value,
        max_job_alerts_per_hour=MAX_JOB_ALERTS_PER_HOUR.value,
        late_after_minutes=LATE_AFTER_MINUTES.value,
        join_timeout_minutes=JOIN_TIMEOUT_MINUTES.value,
        sms_from_round=SMS_FROM_ROUND.value,
        text_from_round=TEXT_FROM_ROUND.value,
        redispatch_on_release=REDISPATCH_ON_RELEASE.value,
        abuse=AbuseLimits(
            open_requests_per_customer=MAX_OPEN_REQUESTS_PER_CUSTOMER.value,
            requests_per_customer_per_hour=MAX_REQUESTS_PER_CUSTOMER_PER_HOUR.value,
            declines_per_customer_per_day=MAX_DECLINES_PER_CUSTOMER_PER_DAY.value,
            declines_per_source_per_hour=MAX_DECLINES_PER_IP_PER_HOUR.value,
            signups_per_source_per_hour=MAX_SIGNUPS_PER_IP_PER_HOUR.value,
            quotes_per_customer_per_hour=MAX_QUOTES_PER_CUSTOMER_PER_HOUR.value,
        ),
        session_max_minutes=SESSION_MAX_MINUTES.value,
        admin_decision_hours=ADMIN_DECISION_HOURS.value,
        payment_max_attempts=PAYMENT_MAX_ATTEMPTS.value,
        max_texts_per_phone_per_hour=MAX_TEXTS_PER_PHONE_PER_HOUR.value,
        sms_allowed_prefixes=parse_prefixes(SMS_ALLOWED_PREFIXES.value),
        max_devices_per_user=MAX_DEVICES_PER_USER.value,
        quote_ttl_seconds=QUOTE_TTL_SECONDS.value,
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


def tasks_emulated() -> bool:
    """Whether task queues are the Cloud Tasks emulator's (named tasks answer oddly there)."""
    return bool(os.environ.get("CLOUD_TASKS_EMULATOR_HOST"))


def inline_stripe_rps() -> int:
    """The callables' share of the Stripe budget (at least one call a second)."""
    return max(1, STRIPE_MAX_RPS.value - STRIPE_BULK_RPS.value)


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
