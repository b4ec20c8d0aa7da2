"""The VideoSessions port on Zoho Lens (remote-assistance sessions with a join link each for
the technician and the customer). The session id is the idempotency key: creating a room
for a session that has one returns the same room."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from homepro.domain.errors import Unavailable
from homepro.domain.sessions import VideoRoom

RETRYABLE = {429, 500, 502, 503, 504}


def _transient(err: BaseException) -> bool:
    """Worth another try: a 429 or 5xx, a network error, or an answer we could not read."""
    if isinstance(err, urllib.error.HTTPError):
        return err.code in RETRYABLE
    return isinstance(err, (urllib.error.URLError, OSError, KeyError, ValueError))


def _why(err: BaseException | None) -> str:
    return f"HTTP {err.code}" if isinstance(err, urllib.error.HTTPError) else repr(err)


class ZohoLensSessions:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 0.3,
        timeout: float = 10,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/api/v2/sessions"
        self._token = access_token
        self._timeout = timeout
        self._retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=backoff_seconds),
        )

    def create(self, session_id: str, request_id: str, title: str) -> VideoRoom:
        body = json.dumps(
            {"session": {"title": title, "reference_id": session_id, "notes": request_id}}
        ).encode()

        def attempt() -> VideoRoom:
            req = urllib.request.Request(
                self._url,
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Zoho-oauthtoken {self._token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": session_id,
                },
            )
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                data: dict[str, Any] = json.loads(resp.read())["session"]
            return VideoRoom(
                provider="zoho_lens",
                provider_session_id=str(data["session_id"]),
                customer_join_url=str(data["customer_url"]),
                helper_join_url=str(data["technician_url"]),
            )

        try:
            return self._retrying(attempt)
        except RetryError as err:
            last = _why(err.last_attempt.exception())
        except urllib.error.HTTPError as err:  # not worth retrying (a 4xx)
            last = _why(err)
        raise Unavailable(f"the video room could not be made, please try again ({last})")
