"""The timing and limits of the lifecycle (deploy-time parameters; defaults from the contract)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AbuseLimits:
    """The limits on the calls that move money or make accounts (deploy-time
    params; README → Abuse limits says why each default)."""

    open_requests_per_customer: int = 2
    requests_per_customer_per_hour: int = 6
    declines_per_customer_per_day: int = 5
    declines_per_source_per_hour: int = 10
    signups_per_source_per_hour: int = 10
    quotes_per_customer_per_hour: int = 30


@dataclass(frozen=True)
class Policy:
    pending_timeout_minutes: int = 30
    claim_timeout_minutes: int = 15
    max_releases: int = 3
    # Requests one helper may hold at once (`claimed` or `in_session`).
    max_claims_per_helper: int = 1
    escalation_minutes: int = 3
    # Waves (domain/waves.py): round n asks wave_first + wave_growth x (n-1) helpers, ranked;
    # wave_first 0 is the first build's broadcast (every matching helper, every round).
    wave_first: int = 3
    wave_growth: int = 2
    # New-job alerts (pushes and texts) one helper gets an hour at most; past it, the board.
    max_job_alerts_per_hour: int = 24
    # Promise first (domain/waves.py `late`): a request waiting longer than this since it became
    # dispatchable yields its rounds to the newer ones of its category still waiting; 0: never.
    late_after_minutes: int = 15
    join_timeout_minutes: int = 15
    # From which dispatch round helpers with no device get an SMS (0: never).
    sms_from_round: int = 2
    # From which round a wave texts every helper it asks who gave a phone, instead of the
    # push (the push when the text may not go); 0: off (only helpers with no device are
    # texted, from sms_from_round).
    # Waves only: the broadcast (wave_first 0) never texts a helper who has the app.
    text_from_round: int = 1
    # Whether a claim released back to pending is dispatched again (a `released-{n}` round).
    redispatch_on_release: bool = True
    # Devices one user may register; a new one past it replaces the least recently registered.
    max_devices_per_user: int = 10
    # Abuse limits on the money calls and sign-ups.
    abuse: AbuseLimits = field(default_factory=AbuseLimits)
    # An `active` session ends `timed_out` this long after the customer joined (both parties
    # are warned SESSION_WARNING_MINUTES before); its hold then waits for an admin's decision.
    session_max_minutes: int = 120
    # A hold waiting for an admin's decision (`paymentAttention` of a timed-out session) is
    # released when nobody decided within this.
    admin_decision_hours: int = 48
    # Failed settlements (a capture or release Stripe refused or could not answer) after which
    # nothing retries the payment and it waits for an admin (`paymentAttention`).
    payment_max_attempts: int = 20
    # Text messages one phone number gets an hour at most (toll fraud), and the E.164 prefixes
    # texts may go to at all (empty: any number).
    max_texts_per_phone_per_hour: int = 24
    sms_allowed_prefixes: tuple[str, ...] = ("+1",)
    # A quote (`quote_wait`) may be used by `create_request` this long after it was shown.
    quote_ttl_seconds: int = 600
