"""The Sms port on Twilio's Messages API (the official client), with retries."""

from __future__ import annotations

import time

from firebase_functions import logger

RETRYABLE = {429, 500, 502, 503, 504}


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
        from twilio.rest import Client  # heavy: imported only when SMS is first sent

        self._client = Client(account_sid, auth_token)
        if base_url:
            self._client.api.base_url = base_url
        self._from = from_number
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds

    def send(self, to: str, body: str) -> bool:
        from twilio.base.exceptions import TwilioRestException

        for attempt in range(self._max_attempts):
            try:
                self._client.messages.create(to=to, from_=self._from, body=body[:1600])
                return True
            except TwilioRestException as err:
                if err.status not in RETRYABLE or attempt + 1 == self._max_attempts:
                    logger.warn("sms not sent", to=to[-4:], status=err.status, code=err.code)
                    return False
            except OSError as err:
                if attempt + 1 == self._max_attempts:
                    logger.warn("sms not sent", to=to[-4:], error=repr(err))
                    return False
            time.sleep(self._backoff * (2**attempt))
        return False


class DisabledSms:
    """No Twilio account configured: SMS is off (logged once per message)."""

    def send(self, to: str, body: str) -> bool:
        logger.info("sms disabled: no TWILIO_ACCOUNT_SID", to=to[-4:])
        return False
