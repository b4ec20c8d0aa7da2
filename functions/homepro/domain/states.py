"""The three lifecycles of the contract as data: states, actions, allowed moves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from homepro.domain.errors import InvalidTransition


class RequestStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    IN_SESSION = "in_session"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class RequestAction(StrEnum):
    CLAIM = "claim"
    ESCALATE = "escalate"
    RELEASE = "release"
    CANCEL = "cancel"
    EXPIRE = "expire"
    START_SESSION = "start_session"
    COMPLETE = "complete"


class PaymentStatus(StrEnum):
    REQUIRES_PAYMENT = "requires_payment"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    RELEASED = "released"
    REFUNDED = "refunded"
    FAILED = "failed"


class PaymentAction(StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    RELEASE = "release"
    REFUND = "refund"
    FAIL = "fail"


class SessionStatus(StrEnum):
    CREATED = "created"
    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"


class SessionAction(StrEnum):
    INVITE = "invite"
    JOIN = "join"
    END = "end"
    NO_SHOW = "no_show"
    TIME_OUT = "time_out"


S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)


@dataclass(frozen=True)
class StateMachine(Generic[S, A]):
    """A lifecycle: its name and its table of allowed `(state, action) -> state`."""

    name: str
    table: Mapping[tuple[S, A], S]

    def allows(self, state: S, action: A) -> bool:
        return (state, action) in self.table

    def sources(self, action: A) -> frozenset[S]:
        """The states from which `action` is allowed."""
        return frozenset(state for (state, act) in self.table if act == action)


def transition(machine: StateMachine[S, A], state: S, action: A) -> S:
    """The state after `action`, or InvalidTransition naming what is not allowed."""
    try:
        return machine.table[(state, action)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {action.value.replace('_', ' ')} a {machine.name} that is {state.value}"
        ) from None


R, RA = RequestStatus, RequestAction
REQUEST = StateMachine[RequestStatus, RequestAction](
    "request",
    {
        (R.PENDING, RA.CLAIM): R.CLAIMED,
        (R.PENDING, RA.ESCALATE): R.PENDING,
        (R.PENDING, RA.CANCEL): R.CANCELLED,
        (R.PENDING, RA.EXPIRE): R.EXPIRED,
        (R.CLAIMED, RA.RELEASE): R.PENDING,
        (R.CLAIMED, RA.CANCEL): R.CANCELLED,
        (R.CLAIMED, RA.EXPIRE): R.EXPIRED,
        (R.CLAIMED, RA.START_SESSION): R.IN_SESSION,
        (R.IN_SESSION, RA.COMPLETE): R.COMPLETED,
    },
)

P, PA = PaymentStatus, PaymentAction
PAYMENT = StateMachine[PaymentStatus, PaymentAction](
    "payment",
    {
        (P.REQUIRES_PAYMENT, PA.AUTHORIZE): P.AUTHORIZED,
        (P.AUTHORIZED, PA.CAPTURE): P.CAPTURED,
        (P.AUTHORIZED, PA.RELEASE): P.RELEASED,
        (P.CAPTURED, PA.REFUND): P.REFUNDED,
        (P.REQUIRES_PAYMENT, PA.FAIL): P.FAILED,
        (P.AUTHORIZED, PA.FAIL): P.FAILED,
    },
)

SS, SA = SessionStatus, SessionAction
SESSION = StateMachine[SessionStatus, SessionAction](
    "session",
    {
        (SS.CREATED, SA.INVITE): SS.WAITING,
        (SS.WAITING, SA.JOIN): SS.ACTIVE,
        (SS.ACTIVE, SA.END): SS.ENDED,
        (SS.WAITING, SA.NO_SHOW): SS.ENDED,
        (SS.ACTIVE, SA.TIME_OUT): SS.ENDED,
    },
)

TERMINAL_REQUEST_STATES = frozenset({R.COMPLETED, R.CANCELLED, R.EXPIRED})
