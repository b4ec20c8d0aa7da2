"""The notifications of the contract: who gets which, with what text, and where it leads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from homepro.domain.models import RequestDoc


class NotificationType(StrEnum):
    NEW_REQUEST = "new_request"
    REQUEST_TAKEN = "request_taken"
    REQUEST_CLAIMED = "request_claimed"
    CLAIM_RELEASED = "claim_released"
    REQUEST_CANCELLED = "request_cancelled"
    REQUEST_EXPIRED = "request_expired"
    SESSION_INVITE = "session_invite"
    SESSION_COMPLETE = "session_complete"
    SESSION_ENDING = "session_ending"


HELPER_DASHBOARD = "/helper/dashboard"


def customer_status_url(request_id: str) -> str:
    return f"/customer/request/{request_id}/status"


def helper_job_url(request_id: str) -> str:
    return f"/helper/job/{request_id}"


@dataclass(frozen=True)
class Notification:
    """One notification: pushed to every device of each recipient, and put in their inbox.

    `key` names the occurrence (e.g. `request_claimed-{id}-v2`): a recipient's inbox document
    is `{key}`, so a duplicate trigger finds it and sends nothing twice.
    """

    type: NotificationType
    request_id: str
    key: str
    title: str
    body: str
    url: str
    extra: dict[str, str] = field(default_factory=dict)
    urgent: bool = False
    ttl_seconds: int | None = None
    sms: bool = False
    # Where an SMS of this notification leads (a path of the web app; a text has no `data.url`).
    sms_link: str | None = None

    @property
    def data(self) -> dict[str, str]:
        """The push `data` (strings only): always type, requestId, url, title, body."""
        return {
            **self.extra,
            "type": self.type.value,
            "requestId": self.request_id,
            "url": self.url,
            "title": self.title,
            "body": self.body,
        }

    def sms_text(self, app_url: str = "") -> str:
        """The text message: the title, the body, and the page to open when the app is known."""
        text = f"HomePro Assist: {self.title}. {self.body}"
        if self.sms_link and app_url:
            text += f" {app_url.rstrip('/')}{self.sms_link}"
        return text


def _short(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _dollars(cents: int) -> str:
    return f"${cents // 100}" if cents % 100 == 0 else f"${cents / 100:.2f}"


def new_request(request: RequestDoc, round_key: str, ttl_seconds: int) -> Notification:
    return Notification(
        type=NotificationType.NEW_REQUEST,
        request_id=request.id,
        key=f"new_request-{request.id}-{round_key}",
        title=f"New {request.category.value} job ({_dollars(request.amount)})",
        body=_short(request.description),
        url=HELPER_DASHBOARD,
        extra={"category": request.category.value, "round": round_key},
        urgent=True,
        ttl_seconds=ttl_seconds,
        sms_link=helper_job_url(request.id),
    )


def request_taken(request: RequestDoc) -> Notification:
    return Notification(
        type=NotificationType.REQUEST_TAKEN,
        request_id=request.id,
        key=f"request_taken-{request.id}-v{request.version}",
        title="Job taken",
        body=f"Another helper took the {request.category.value} job.",
        url=HELPER_DASHBOARD,
    )


def request_claimed(request: RequestDoc) -> Notification:
    name = request.helper_display_name or "A helper"
    return Notification(
        type=NotificationType.REQUEST_CLAIMED,
        request_id=request.id,
        key=f"request_claimed-{request.id}-v{request.version}",
        title="Helper found!",
        body=f"{name} accepted your request and will connect shortly.",
        url=customer_status_url(request.id),
    )


def claim_released(request: RequestDoc) -> Notification:
    return Notification(
        type=NotificationType.CLAIM_RELEASED,
        request_id=request.id,
        key=f"claim_released-{request.id}-v{request.version}",
        title="Claim released",
        body=(
            f"The {request.category.value} job went back to the board: no session started in time."
        ),
        url=HELPER_DASHBOARD,
    )


def request_cancelled(request: RequestDoc) -> Notification:
    return Notification(
        type=NotificationType.REQUEST_CANCELLED,
        request_id=request.id,
        key=f"request_cancelled-{request.id}-v{request.version}",
        title="Job cancelled",
        body=f"The customer cancelled the {request.category.value} job you claimed.",
        url=HELPER_DASHBOARD,
    )


def request_expired(request: RequestDoc) -> Notification:
    return Notification(
        type=NotificationType.REQUEST_EXPIRED,
        request_id=request.id,
        key=f"request_expired-{request.id}-v{request.version}",
        title="No helper available",
        body="We couldn't find a helper in time. The hold on your card has been released.",
        url=customer_status_url(request.id),
    )


def session_invite(request: RequestDoc) -> Notification:
    """The customer is asked to join: the push, the inbox and the text lead to the app's status
    page, whose Join calls `join_session` (never to the provider's link)."""
    status_page = customer_status_url(request.id)
    return Notification(
        type=NotificationType.SESSION_INVITE,
        request_id=request.id,
        key=f"session_invite-{request.id}-v{request.version}",
        title="Your helper is ready",
        body="Open the app and join the video session now.",
        url=status_page,
        extra={"sessionId": request.session_id or ""},
        urgent=True,
        sms=True,
        sms_link=status_page,
    )


def session_complete(request: RequestDoc) -> Notification:
    return Notification(
        type=NotificationType.SESSION_COMPLETE,
        request_id=request.id,
        key=f"session_complete-{request.id}-v{request.version}",
        title="Session complete",
        body="Your session has ended. Thank you for using HomePro Assist!",
        url=customer_status_url(request.id),
    )


def session_ending(request: RequestDoc, minutes_left: int) -> list[tuple[str, Notification]]:
    """Both parties of a long session, once each (the inbox key names the session): it ends
    on its own in `minutes_left` minutes. The customer's leads to the status page, the
    helper's to the job page (where they end it with its outcome)."""
    key = f"session_ending-{request.id}-{request.session_id or ''}"
    extra = {"sessionId": request.session_id or "", "minutesLeft": str(minutes_left)}
    customer = Notification(
        type=NotificationType.SESSION_ENDING,
        request_id=request.id,
        key=key,
        title=f"Your session ends in {minutes_left} minutes",
        body="The video session reaches its time limit soon and will end on its own.",
        url=customer_status_url(request.id),
        extra=extra,
        urgent=True,
    )
    helper = Notification(
        type=NotificationType.SESSION_ENDING,
        request_id=request.id,
        key=key,
        title=f"Session ends in {minutes_left} minutes",
        body=(
            "End the session with its outcome before the time limit: a session that times "
            "out waits for an admin to decide its payment."
        ),
        url=helper_job_url(request.id),
        extra=extra,
        urgent=True,
    )
    found = [(request.customer_id, customer)]
    if request.helper_id:
        found.append((request.helper_id, helper))
    return found
