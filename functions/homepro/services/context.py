"""The ports and policy every use case is given, built by `bootstrap` (or by tests, with fakes)."""

from __future__ import annotations

from dataclasses import dataclass

from homepro.domain.policy import Policy
from homepro.services.ports import Clock, Payments, Push, Sms, Store, VideoSessions


@dataclass(frozen=True)
class Context:
    store: Store
    clock: Clock
    policy: Policy
    push: Push
    sms: Sms
    payments: Payments
    video: VideoSessions
    # The web app's address (`https://{project}.web.app`): links in text messages start with it.
    app_url: str = ""
