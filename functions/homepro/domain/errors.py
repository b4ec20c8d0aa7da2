"""One error hierarchy for the whole backend; `entrypoints` maps it to HttpsError codes."""

from __future__ import annotations

from datetime import datetime


class HomeProError(Exception):
    """Base of every error the backend raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(HomeProError):
    """The caller's data is malformed; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class Unauthenticated(HomeProError):
    """No signed-in user."""


class Forbidden(HomeProError):
    """Wrong role, or not the owner."""


class NotFound(HomeProError):
    """The document does not exist."""


class InvalidTransition(HomeProError):
    """The current state does not allow the action (failed-precondition)."""


class FailedPrecondition(HomeProError):
    """A rule other than the state machine refuses the action (a declined card, a checklist)."""


class Conflict(HomeProError):
    """Too much contention on one document; the caller may try again (aborted)."""


class Unavailable(HomeProError):
    """An outside service (the video provider) failed after retries; the caller may retry."""


class ResourceExhausted(HomeProError):
    """A limit was reached; the message says which and when to try again (`retry_at`, if a
    moment is known)."""

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at
