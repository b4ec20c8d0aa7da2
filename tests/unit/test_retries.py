"""Outside calls retried by tenacity: transient failures are tried again, the rest are not."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from twilio.base.exceptions import TwilioRestException

from homepro.adapters.twilio_sms import TwilioSms
from homepro.adapters.zoho_lens import ZohoLensSessions
from homepro.domain.errors import Unavailable


class _Video(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        status = self.answers.pop(0) if self.answers else 200
        body = b"{}"
        if status == 200:
            body = json.dumps(
                {"session": {"session_id": "z1", "customer_url": "c", "technician_url": "t"}}
            ).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def video() -> Iterator[str]:
    _Video.answers, _Video.calls = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Video)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_video_room_is_made_after_transient_failures(video):
    _Video.answers = [503, 429]
    room = ZohoLensSessions(video, "token", backoff_seconds=0).create("s-1", "r1", "help")
    assert (room.provider_session_id, _Video.calls) == ("z1", 3)


def test_a_refused_video_room_is_not_retried_and_answers_unavailable(video):
    _Video.answers = [400]
    with pytest.raises(Unavailable, match="HTTP 400"):
        ZohoLensSessions(video, "token", backoff_seconds=0).create("s-1", "r1", "help")
    assert _Video.calls == 1


def test_a_video_provider_down_after_every_attempt_answers_unavailable(video):
    _Video.answers = [503, 503, 503]
    with pytest.raises(Unavailable, match="HTTP 503"):
        zoho = ZohoLensSessions(video, "token", max_attempts=3, backoff_seconds=0)
        zoho.create("s-1", "r1", "help")
    assert _Video.calls == 3


class _Messages:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures, self.calls = failures, 0

    def create(self, **_: object) -> object:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return object()


def _sms(failures: list[Exception]) -> tuple[TwilioSms, _Messages]:
    sms = TwilioSms("AC0", "token", "+15005550006", backoff_seconds=0)
    messages = _Messages(failures)
    sms._client = type("Client", (), {"messages": messages})()
    return sms, messages


def test_a_text_is_sent_after_a_busy_answer_and_a_network_error():
    sms, messages = _sms([TwilioRestException(503, "u", "busy"), OSError("reset")])
    assert sms.send("+15551234567", "hello") and messages.calls == 3


def test_a_text_to_a_bad_number_is_not_retried():
    sms, messages = _sms([TwilioRestException(400, "u", "bad number", code=21211)])
    assert not sms.send("+1555", "hello") and messages.calls == 1
