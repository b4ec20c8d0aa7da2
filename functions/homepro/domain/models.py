"""Pydantic models of every document and every callable input (camelCase on the wire)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from homepro.domain.devices import MAX_TOKEN_LENGTH, TOKEN_PATTERN
from homepro.domain.errors import InvalidInput
from homepro.domain.states import PaymentStatus, RequestStatus, SessionStatus


class Role(StrEnum):
    CUSTOMER = "customer"
    HELPER = "helper"
    ADMIN = "admin"


class Category(StrEnum):
    PLUMBING = "plumbing"
    ELECTRICAL = "electrical"
    HVAC = "hvac"
    APPLIANCE = "appliance"
    CARPENTRY = "carpentry"
    GENERAL = "general"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"  # an active session reached SESSION_MAX_MINUTES (never a caller's)


class Platform(StrEnum):
    WEB = "web"
    ANDROID = "android"
    IOS = "ios"


class PaymentOwed(StrEnum):
    RELEASE = "release"
    CAPTURE = "capture"


class _Doc(BaseModel):
    """A Firestore document: camelCase fields, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class Actor(_Doc):
    """Who made a transition: a signed-in user with a role, or the system."""

    uid: str | None = None
    role: Role | Literal["system"]

    @classmethod
    def system(cls) -> Actor:
        return cls(role="system")

    def as_data(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class QuietHours(_Doc):
    start: str
    end: str
    tz: str


class UserDoc(_Doc):
    uid: str = ""
    role: Role | None = None
    display_name: str | None = None
    phone: str | None = None
    is_available: bool = False
    categories: list[Category] | None = None
    quiet_hours: QuietHours | None = None
    fcm_token: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def serves(self, category: Category) -> bool:
        """Empty or missing categories mean every category."""
        return not self.categories or category in self.categories


@dataclass(frozen=True)
class Device:
    """One installation of a user: `device_id` is None for the legacy `users/{uid}.fcmToken`."""

    uid: str
    device_id: str | None
    token: str
    platform: str = "web"


class DeviceDoc(_Doc):
    token: str = Field(min_length=1, max_length=MAX_TOKEN_LENGTH)
    platform: Platform
    created_at: datetime | None = None
    updated_at: datetime | None = None


class NotificationDoc(_Doc):
    type: str
    title: str
    body: str
    data: dict[str, str]
    created_at: datetime | None = None
    read_at: datetime | None = None


class PaymentAttention(_Doc):
    """`requests/{id}.paymentAttention`: a hold that waits for a person (`admin_settle`).
    `reason`: `session_timed_out` (the session ran out; was help given?) or
    `payment_attempts_exhausted` (the settlement `owed` failed `attempts` times; nothing
    retries it). `releaseBy`: when a sweep releases it if no admin decided (timed out only)."""

    reason: str
    since: datetime
    owed: PaymentOwed | None = None
    attempts: int | None = None
    release_by: datetime | None = None


class PaymentDecision(_Doc):
    """`requests/{id}.paymentDecision`: what resolved a `paymentAttention`, by whom and why
    (`by` is the admin's uid, or `system` for the sweep's release)."""

    action: PaymentOwed
    by: str
    reason: str
    at: datetime | None = None


class ShownQuote(_Doc):
    """`requests/{id}.quote`: the wait its customer was shown before paying (`quote_wait`)."""

    id: str
    expected_minutes: float
    p90_minutes: float
    shown_at: datetime | None = None


class RequestDoc(_Doc):
    id: str = ""
    customer_id: str
    category: Category
    description: str
    amount: int
    currency: str = "usd"
    status: RequestStatus
    payment_status: PaymentStatus
    payment_intent_id: str | None = None
    payment_owed: PaymentOwed | None = None
    payment_attempts: int = 0  # failed settlements (by any path) since the last decision
    payment_attention: PaymentAttention | None = None
    payment_decision: PaymentDecision | None = None
    helper_id: str | None = None
    helper_display_name: str | None = None
    created_at: datetime | None = None
    dispatchable_at: datetime | None = None
    pending_since: datetime | None = None
    claimed_at: datetime | None = None
    first_claimed_at: datetime | None = None
    first_claim_round: int | None = None
    session_id: str | None = None
    completed_at: datetime | None = None
    outcome: Outcome | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    expired_at: datetime | None = None
    updated_at: datetime | None = None
    release_count: int = 0
    released_by: list[str] = []  # helpers whose claim of it ended by release or timeout
    refunded_amount: int | None = None
    dispatch_round: int = 0
    escalation: int = 0
    version: int = 0
    client_request_id: str | None = None
    quote: ShownQuote | None = None

    @property
    def dispatchable(self) -> bool:
        return (
            self.status == RequestStatus.PENDING and self.payment_status == PaymentStatus.AUTHORIZED
        )


class AuditEvent(_Doc):
    """`requests/{id}/events/{eventId}`: one per transition, written in its transaction."""

    type: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    actor: Actor
    reason: str | None = None
    at: datetime | None = None


class DispatchDoc(_Doc):
    round: int
    reason: str
    helpers_targeted: int = 0
    devices_targeted: int = 0
    sent: int = 0
    failed: int = 0
    tokens_pruned: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


class SessionDoc(_Doc):
    id: str = ""
    request_id: str
    customer_id: str
    helper_id: str
    status: SessionStatus
    provider: str | None = None
    provider_session_id: str | None = None
    checklist: dict[str, bool] = {}
    created_at: datetime | None = None
    waiting_at: datetime | None = None
    active_at: datetime | None = None
    ended_at: datetime | None = None
    warned_at: datetime | None = None  # both parties told it ends in SESSION_WARNING_MINUTES
    outcome: Outcome | None = None
    duration_seconds: int | None = None
    version: int = 0


class AnalyticsDoc(_Doc):
    type: str
    request_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    metadata: dict[str, Any] = {}
    timestamp: datetime | None = None
    source: Literal["server", "client"] = "server"


# ---------------------------------------------------------------- callable inputs


DocId = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


M = TypeVar("M", bound=BaseModel)


class _Input(BaseModel):
    """A callable's data: camelCase keys, strict types, no unknown keys."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class CreateRequestInput(_Input):
    category: Category
    description: Annotated[StrictStr, Field(min_length=10, max_length=1000)]
    payment_method_id: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    client_request_id: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = None
    # the wait shown before paying (`quote_wait`); optional for older clients
    quote_id: DocId | None = None


class QuoteWaitInput(_Input):
    """Data of `quote_wait`: the category a customer is about to ask help for."""

    category: Category


class RequestRef(_Input):
    """Data of `claim_request` and `release_claim`."""

    request_id: DocId


class CancelRequestInput(_Input):
    request_id: DocId
    reason: Annotated[StrictStr, Field(max_length=500)] | None = None


# A category's safety checklist has a handful of items; anything longer is not a checklist.
MAX_CHECKLIST_ITEMS = 32


class StartSessionInput(_Input):
    request_id: DocId
    checklist: Annotated[
        dict[Annotated[StrictStr, Field(max_length=64)], StrictBool],
        Field(max_length=MAX_CHECKLIST_ITEMS),
    ]


class SessionRef(_Input):
    """Data of `join_session`."""

    session_id: DocId


class EndSessionInput(_Input):
    session_id: DocId
    outcome: Literal["resolved", "unresolved", "no_show"]
    notes: Annotated[StrictStr, Field(max_length=2000)] | None = None


class SetAvailabilityInput(_Input):
    is_available: StrictBool


DeviceToken = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_TOKEN_LENGTH, pattern=TOKEN_PATTERN)
]


class RegisterDeviceInput(_Input):
    """Data of `register_device`: this installation's push token and its platform."""

    token: DeviceToken
    platform: Platform


class RemoveDeviceInput(_Input):
    """Data of `remove_device`: the token, or the id `register_device` answered (one of them)."""

    token: DeviceToken | None = None
    device_id: DocId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RemoveDeviceInput:
        if (self.token is None) == (self.device_id is None):
            raise ValueError("give either token or deviceId")
        return self


class RefundRequestInput(_Input):
    request_id: DocId
    amount: Annotated[StrictInt, Field(gt=0)] | None = None
    reason: Annotated[StrictStr, Field(max_length=500)] | None = None


class AdminSettleInput(_Input):
    """Data of `admin_settle`: capture or release a hold that needs a person, and why."""

    request_id: DocId
    action: Literal["capture", "release"]
    reason: Annotated[
        str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=500)
    ]


IsoTime = Annotated[StrictStr, Field(min_length=10, max_length=40)]


class DispatchReportInput(_Input):
    """ISO-8601 times (`2026-11-25`, `2026-11-25T08:00:00Z`, `…+01:00`); no offset = UTC."""

    since: IsoTime | None = None
    until: IsoTime | None = None


def parse_input(model: type[M], data: Any) -> M:
    """Validate a callable's data; InvalidInput names the first offending field."""
    if not isinstance(data, dict):
        raise InvalidInput("data", "must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "data"
        problem = first["msg"]
        if first["type"] == "extra_forbidden":
            problem = "is not a known field"
        elif first["type"] == "missing":
            problem = "is required"
        raise InvalidInput(field, problem) from None


def document_data(model: BaseModel) -> dict[str, Any]:
    """A model as Firestore data: aliases, enums as strings."""
    return model.model_dump(by_alias=True, mode="python", exclude={"id"})
