"""The Push port on the FCM HTTP v1 API, sent through libcurl's multi interface (pycurl).

Each message is its own v1 `messages:send` request (the API has no batch endpoint any more);
up to `concurrency` are in flight at once, multiplexed over HTTP/2 to FCM (throughput against
the seed's `send_each_for_multicast`: docs/benchmarks.md, `make bench-dispatch`). Messages are
data-only (no `notification` block anywhere), so a web service worker shows each one exactly
once. Retries live inside the libcurl event loop (a failed message waits its backoff in a heap
while the others stay in flight), which a retry library wrapping one call at a time cannot do.
"""

from __future__ import annotations

import heapq
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from io import BytesIO
from typing import Any

import pycurl

from homepro import faults
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


class _Attempt:
    """One message's progress: its body, how many tries so far, what the last try got."""

    __slots__ = ("attempts", "body", "index", "result", "retry_after")

    def __init__(self, index: int, body: bytes) -> None:
        self.index = index
        self.body = body
        self.attempts = 0
        self.result: PushResult | None = None
        self.retry_after: float | None = None


class FcmPush:
    """Sends every message once, `concurrency` in flight, retrying transient errors (429, 5xx,
    network) with exponential backoff and jitter, honouring Retry-After."""

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
        headers = [
            f"Authorization: Bearer {self._access_token()}",
            "Content-Type: application/json; charset=utf-8",
            "Expect:",
        ]
        work = [_Attempt(i, _encode(m)) for i, m in enumerate(messages)]
        ready: list[_Attempt] = list(reversed(work))  # a stack: first message first
        waiting: list[tuple[float, int, _Attempt]] = []  # (due, index, attempt): backoff heap
        multi = pycurl.CurlMulti()
        handles = [self._handle(headers) for _ in range(min(self._concurrency, len(work)))]
        idle = list(handles)
        active = 0
        answered = False  # the first answer is where a test may kill the fan-out (MID_FANOUT)
        try:
            while ready or waiting or active:
                now = time.monotonic()
                while waiting and waiting[0][0] <= now:
                    ready.append(heapq.heappop(waiting)[2])
                while idle and ready:
                    attempt = ready.pop()
                    handle = idle.pop()
                    handle.attempt = attempt
                    handle.response = BytesIO()
                    handle.setopt(pycurl.WRITEDATA, handle.response)
                    handle.setopt(pycurl.POSTFIELDS, attempt.body)
                    multi.add_handle(handle)
                    active += 1
                while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                    pass
                while True:
                    queued, ok, failed = multi.info_read()
                    for handle in ok:
                        self._finished(handle, handle.getinfo(pycurl.RESPONSE_CODE), None)
                    for handle, _errno, errmsg in failed:
                        self._finished(handle, 0, errmsg)
                    for handle in (*ok, *(f[0] for f in failed)):
                        multi.remove_handle(handle)
                        idle.append(handle)
                        active -= 1
                        attempt = handle.attempt
                        if attempt.result is None:  # to be tried again after a backoff
                            delay = attempt.retry_after or self._backoff * (
                                2 ** (attempt.attempts - 1)
                            ) * (0.5 + random.random())
                            heapq.heappush(
                                waiting,
                                (time.monotonic() + min(delay, 30.0), attempt.index, attempt),
                            )
                    if (ok or failed) and not answered:
                        answered = True
                        faults.fault(faults.MID_FANOUT)
                    if not queued:
                        break
                if active:
                    multi.select(0.05)
                elif waiting and not ready:
                    time.sleep(max(0.0, min(waiting[0][0] - time.monotonic(), 1.0)))
        finally:
            for handle in handles:
                handle.close()
            multi.close()
        return [a.result or PushResult(ok=False, error="UNKNOWN") for a in work]

    def _handle(self, headers: list[str]) -> pycurl.Curl:
        handle = pycurl.Curl()
        handle.setopt(pycurl.URL, self._url)
        handle.setopt(pycurl.POST, 1)
        handle.setopt(pycurl.HTTPHEADER, headers)
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.TIMEOUT_MS, int(self._timeout * 1000))
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, 5000)
        if self._url.startswith("https://"):
            handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
            handle.setopt(pycurl.PIPEWAIT, 1)  # wait to multiplex on one HTTP/2 connection
        return handle

    def _finished(self, handle: pycurl.Curl, status: int, network_error: str | None) -> None:
        attempt: _Attempt = handle.attempt
        attempt.attempts += 1
        attempt.retry_after = None
        last_try = attempt.attempts >= self._max_attempts
        if network_error is not None:
            if last_try:
                attempt.result = PushResult(ok=False, error=f"NETWORK: {network_error}")
            return
        if status == 200:
            attempt.result = PushResult(ok=True)
            return
        raw = handle.response.getvalue()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {}
        code, dead = error_of(status, payload if isinstance(payload, dict) else {})
        if status in RETRYABLE and not last_try:
            retry_after = _retry_after(handle)
            attempt.retry_after = retry_after
            return
        attempt.result = PushResult(ok=False, error=code, prune=dead)


def _encode(message: PushMessage) -> bytes:
    return json.dumps(message_body(message), separators=(",", ":")).encode()


def _retry_after(handle: pycurl.Curl) -> float | None:
    try:
        value = handle.getinfo(pycurl.RETRY_AFTER)
    except (AttributeError, pycurl.error):
        return None
    return float(value) if value and value > 0 else None
