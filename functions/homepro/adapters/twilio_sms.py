"""The Sms port on Twilio's Messages API (the official client), with retries."""

from __future__ import annotations

import logging
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)
RETRYABLE = {429, 500, 502, 503, 504}


def _transient(err: BaseException) -> bool:
    """A network error, or an answer Twilio says to try again later."""
    if isinstance(err, OSError):
        return True
    return getattr(err, "status", None) in RETRYABLE


# Twilio answers a message create in well under a second; past this the attempt is retried.
TIMEOUT_SECONDS = 5.0


class TwilioSms:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        base_url: str | None = None,
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
    ) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client  # heavy: imported only when SMS is first sent

        # a stalled call must not hold a round's fallback pushes (the client has no timeout)
        http = TwilioHttpClient(timeout=TIMEOUT_SECONDS)
        self._client = Client(account_sid, auth_token, http_client=http)
        if base_url:
            self._client.api.base_url = base_url
        self._from = from_number
        self._retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=backoff_seconds),
            reraise=True,
        )

    def send(self, to: str, body: str) -> bool:
        from twilio.base.exceptions import TwilioRestException

        def attempt() -> Any:
            return self._client.messages.create(to=to, from_=self._from, body=body[:1600])

        try:
            self._retrying(attempt)
        except TwilioRestException as err:
            log.warning(
                "sms not sent", extra={"to": to[-4:], "status": err.status, "code": err.code}
            )
            return False
        except OSError as err:
            log.warning("sms not sent", extra={"to": to[-4:], "error": repr(err)})
            return False
        return True


class DisabledSms:
    """No Twilio account configured: SMS is off (logged once per message)."""

    def send(self, to: str, body: str) -> bool:
        log.info("sms disabled: no TWILIO_ACCOUNT_SID", extra={"to": to[-4:]})
        return False
