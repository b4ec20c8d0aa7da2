"""The Push port on the FCM HTTP v1 API, with an asyncio HTTP client (aiohttp).

firebase-admin's own send path uses a thread per message and reached about 1,100 messages/s
here; posting to the same v1 `messages:send` endpoint with a few hundred requests in flight
reaches several thousand. Messages are data-only (no `notification` block anywhere), so a web
service worker shows each one exactly once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from homepro.services.ports import PushMessage, PushResult

RETRYABLE = {429, 500, 502, 503, 504}
# FCM error codes that mean the token itself is dead: delete the device.
DEAD_TOKEN_CODES = {"UNREGISTERED"}


def message_body(message: PushMessage) -> dict[str, Any]:
    """The v1 `{"message": …}` body: data-only, priority and TTL on every platform."""
    body: dict[str, Any] = {"token": message.token, "data": dict(message.data)}
    android: dict[str, Any] = {"priority": "high" if message.urgent else "normal"}
    webpush_headers: dict[str, str] = {"Urgency": "high" if message.urgent else "normal"}
    apns_headers: dict[str, str] = {"apns-push-type": "background", "apns-priority": "5"}
    if message.ttl_seconds is not None:
        ttl = max(0, message.ttl_seconds)
        android["ttl"] = f"{ttl}s"
        webpush_headers["TTL"] = str(ttl)
    body["android"] = android
    body["webpush"] = {"headers": webpush_headers}
    body["apns"] = {"headers": apns_headers, "payload": {"aps": {"content-available": 1}}}
    return {"message": body}


def error_of(status: int, payload: Mapping[str, Any]) -> tuple[str, bool]:
    """(error code, whether the token is dead) from an FCM error response."""
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping):
        return f"HTTP_{status}", False
    code = str(error.get("status") or f"HTTP_{status}")
    token_field = False
    for detail in error.get("details") or []:
        if not isinstance(detail, Mapping):
            continue
        if str(detail.get("@type", "")).endswith("FcmError") and detail.get("errorCode"):
            code = str(detail["errorCode"])
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, Mapping) and violation.get("field") == "message.token":
                token_field = True
    message = str(error.get("message", "")).lower()
    about_token = token_field or "registration token" in message
    dead = code in DEAD_TOKEN_CODES or (code == "INVALID_ARGUMENT" and about_token)
    return code, dead


class FcmPush:
    """Sends each message on its own v1 request, `concurrency` in flight, retrying transient
    errors (429, 5xx, network) with exponential backoff and jitter, honouring Retry-After."""

    def __init__(
        self,
        project_id: str,
        base_url: str,
        access_token: Callable[[], str],
        *,
        concurrency: int = 500,
        max_attempts: int = 5,
        backoff_seconds: float = 0.25,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._access_token = access_token
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._timeout = timeout_seconds

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        if not messages:
            return []
        return asyncio.run(self._send_all(messages))

    async def _send_all(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        token = await asyncio.to_thread(self._access_token)
        connector = aiohttp.TCPConnector(limit=self._concurrency, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        gate = asyncio.Semaphore(self._concurrency)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=headers
        ) as session:
            return list(await asyncio.gather(*(self._send_one(session, gate, m) for m in messages)))

    async def _send_one(
        self, session: aiohttp.ClientSession, gate: asyncio.Semaphore, message: PushMessage
    ) -> PushResult:
        body = message_body(message)
        last = "UNKNOWN"
        for attempt in range(self._max_attempts):
            retry_after: float | None = None
            async with gate:
                try:
                    async with session.post(self._url, json=body) as resp:
                        if resp.status == 200:
                            await resp.read()
                            return PushResult(ok=True)
                        try:
                            payload = await resp.json(content_type=None)
                        except (ValueError, aiohttp.ContentTypeError):
                            payload = {}
                        last, dead = error_of(resp.status, payload or {})
                        if resp.status not in RETRYABLE:
                            return PushResult(ok=False, error=last, prune=dead)
                        header = resp.headers.get("Retry-After")
                        retry_after = float(header) if header and header.isdigit() else None
                except (aiohttp.ClientError, TimeoutError) as err:
                    last = type(err).__name__
            if attempt + 1 < self._max_attempts:
                delay = retry_after or self._backoff * (2**attempt) * (0.5 + random.random())
                await asyncio.sleep(min(delay, 30.0))
        return PushResult(ok=False, error=last)
