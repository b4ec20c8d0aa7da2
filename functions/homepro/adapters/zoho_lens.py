"""The VideoSessions port on Zoho Lens (remote-assistance sessions with a join link each for
the technician and the customer). The session id is the idempotency key: creating a room
for a session that has one returns the same room."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from homepro.domain.errors import Unavailable
from homepro.domain.sessions import VideoRoom

RETRYABLE = {429, 500, 502, 503, 504}


class ZohoLensSessions:
    def __init__(
        self, base_url: str, access_token: str, *, max_attempts: int = 3, timeout: float = 10
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/api/v2/sessions"
        self._token = access_token
        self._max_attempts = max_attempts
        self._timeout = timeout

    def create(self, session_id: str, request_id: str, title: str) -> VideoRoom:
        body = json.dumps(
            {"session": {"title": title, "reference_id": session_id, "notes": request_id}}
        ).encode()
        last = ""
        for attempt in range(self._max_attempts):
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
            try:
                with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                    data: dict[str, Any] = json.loads(resp.read())["session"]
                return VideoRoom(
                    provider="zoho_lens",
                    provider_session_id=str(data["session_id"]),
                    customer_join_url=str(data["customer_url"]),
                    helper_join_url=str(data["technician_url"]),
                )
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}"
                if err.code not in RETRYABLE:
                    break
            except (urllib.error.URLError, OSError, KeyError, ValueError) as err:
                last = repr(err)
            time.sleep(0.3 * (2**attempt))
        raise Unavailable(f"the video room could not be made, please try again ({last})")
