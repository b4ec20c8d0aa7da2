"""The ports, policy and tuning every use case is given, built by `bootstrap` (or by tests and
the simulation, with the fakes of `homepro.testing`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: a cold start does not pay for the ports' Protocols
    from homepro.domain.policy import Policy
    from homepro.services.ports import Clock, Payments, Push, Sms, TaskQueue, VideoSessions
    from homepro.services.stores import (
        Analytics,
        Dispatch,
        Inbox,
        Limits,
        Outbox,
        Quotes,
        ReportViews,
        Requests,
        Sessions,
        Stores,
        Users,
    )


@dataclass(frozen=True)
class Tuning:
    """How much work runs at once and how much is read at a time: deployment settings, not
    rules (a run's outcome must not depend on them). Tests and the simulation pass their own;
    nothing patches a module global."""

    # Requests transitioned (or settled with Stripe) at once by a sweep; the Stripe adapter
    # paces its own calls under STRIPE_MAX_RPS whatever this is.
    sweep_concurrency: int = 32
    # Requests a sweep's query reads per page (whole documents: keep a page small).
    sweep_page_size: int = 200
    # A sweep stops starting Stripe calls after this long (the job times out at 540 s).
    sweep_budget_seconds: float = 420.0
    # Sessions a sweep's query reads per page (it pages through every one due).
    waiting_page_size: int = 200
    # Inbox documents created at once when a notification decides who has not had it yet.
    notify_concurrency: int = 16
    # Claimed requests the report scans per page (a few fields each).
    report_page_size: int = 1000
    # Firestore batch commits and small queries in flight at once (one adapter's fan-outs).
    io_concurrency: int = 16
    # Attempts of one optimistic transaction before it answers `aborted`: many helpers may
    # claim one request at once, and each loser must get to re-read the winner's write.
    transaction_attempts: int = 30
    # FCM `messages:send` requests in flight at once.
    push_concurrency: int = 500
    # The outbox (OUTBOX_GRACE_SECONDS, OUTBOX_LEASE_SECONDS): an entry its trigger has not
    # finished this long after the commit is taken by a drain task; a drainer holds it this long.
    outbox_grace_seconds: float = 10.0
    outbox_lease_seconds: float = 30.0
    # The trigger enqueues its outbox backstop on a thread of its own while its work runs (the
    # first push does not wait for Cloud Tasks); False: before the work, on the caller's thread
    # (the simulation, whose order of events must not depend on thread scheduling).
    backstop_on_thread: bool = True


@dataclass(frozen=True)
class Context:
    stores: Stores
    clock: Clock
    policy: Policy
    push: Push
    sms: Sms
    payments: Payments
    video: VideoSessions
    tuning: Tuning = field(default_factory=Tuning)
    # The web app's address (`https://{project}.web.app`): links in text messages start with it.
    app_url: str = ""
    # Cloud Tasks: the settlements nobody waits on (the sweeps', the webhook's, the reconcile
    # job's) go through the `settlepayment` queue. None (the simulation, tests of other
    # things): they settle inline, as the task would.
    tasks: TaskQueue | None = None

    @property
    def requests(self) -> Requests:
        return self.stores.requests

    @property
    def sessions(self) -> Sessions:
        return self.stores.sessions

    @property
    def users(self) -> Users:
        return self.stores.users

    @property
    def dispatch(self) -> Dispatch:
        return self.stores.dispatch

    @property
    def inbox(self) -> Inbox:
        return self.stores.inbox

    @property
    def analytics(self) -> Analytics:
        return self.stores.analytics

    @property
    def views(self) -> ReportViews:
        return self.stores.views

    @property
    def limits(self) -> Limits:
        return self.stores.limits

    @property
    def outbox(self) -> Outbox:
        return self.stores.outbox

    @property
    def quotes(self) -> Quotes:
        return self.stores.quotes
