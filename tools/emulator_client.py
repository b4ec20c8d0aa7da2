"""A small client of the local stack for tools and tests: Auth emulator accounts, callables."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_fixed

PROJECT = "demo-homepro"
REGION = "us-central1"
AUTH = "http://" + os.environ.get("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
FIRESTORE = "http://" + os.environ.get("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080")
FUNCTIONS = os.environ.get("HOMEPRO_FUNCTIONS_BASE", f"http://127.0.0.1:5001/{PROJECT}/{REGION}")
TRIGGERS = os.environ.get(
    "HOMEPRO_TRIGGER_BASE", f"http://127.0.0.1:5001/functions/projects/{PROJECT}/triggers"
)
PASSWORD = "homepro-demo"


@dataclass
class Account:
    uid: str
    email: str
    password: str
    id_token: str


class CallError(Exception):
    """A callable answered an error: `status` is its canonical code (e.g. FAILED_PRECONDITION)."""

    def __init__(self, status: str, message: str, http_status: int) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.http_status = http_status


def _post(url: str, body: Any, headers: dict[str, str] | None = None, timeout: float = 60) -> Any:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _identity(path: str, body: dict[str, Any]) -> dict[str, Any]:
    url = f"{AUTH}/identitytoolkit.googleapis.com/v1/{path}?key=local-demo-key"
    try:
        result: dict[str, Any] = _post(url, body)
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"{path}: {err.read().decode()}") from None
    return result


def sign_up(email: str, password: str = PASSWORD, display_name: str | None = None) -> Account:
    """A real sign-up through the Auth emulator (the blocking function runs)."""
    out = _identity(
        "accounts:signUp", {"email": email, "password": password, "returnSecureToken": True}
    )
    account = Account(out["localId"], email, password, out["idToken"])
    if display_name:
        _identity("accounts:update", {"idToken": account.id_token, "displayName": display_name})
    return account


def sign_in(email: str, password: str = PASSWORD) -> Account:
    out = _identity(
        "accounts:signInWithPassword",
        {"email": email, "password": password, "returnSecureToken": True},
    )
    return Account(out["localId"], email, password, out["idToken"])


def call(name: str, data: Any, id_token: str | None = None) -> dict[str, Any]:
    """Call a callable as the web SDK does; CallError carries the HttpsError code."""
    headers = {"Authorization": f"Bearer {id_token}"} if id_token else {}
    try:
        out = _post(f"{FUNCTIONS}/{name}", {"data": data}, headers)
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            error = json.loads(raw or b"{}").get("error")
        except ValueError:
            error = None
        if not isinstance(error, dict):  # not the callable protocol: the emulator itself failed
            raise CallError(
                f"HTTP_{err.code}", raw.decode(errors="replace")[:500], err.code
            ) from None
        raise CallError(
            error.get("status", "UNKNOWN"), error.get("message", ""), err.code
        ) from None
    result: dict[str, Any] = out["result"]
    return result


def deliver_task(name: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One delivery of a task to the task queue function `name`, as Cloud Tasks makes it
    (`{"data": payload}`): the HTTP status and the answer's JSON."""
    req = urllib.request.Request(
        f"{FUNCTIONS}/{name}",
        data=json.dumps({"data": payload}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(resp.status), json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return int(err.code), json.loads(err.read() or b"{}")


def run_scheduled(name: str) -> int:
    """Run a scheduled function once, as Cloud Scheduler would; returns the HTTP status."""
    req = urllib.request.Request(
        f"{TRIGGERS}/{REGION}-{name}-0",
        data=b"",
        method="POST",
        headers={"X-CloudScheduler-JobName": f"test-{name}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=540) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@retry(
    retry=retry_if_exception(lambda err: isinstance(err, HTTPError) and err.code == 409),
    stop=stop_after_attempt(50),
    wait=wait_fixed(0.2),
    reraise=True,
)
def clear_firestore(project: str = PROJECT) -> None:
    """Delete every document of `project` (the emulator answers 409 while a transaction is
    open: retried)."""
    url = f"{FIRESTORE}/emulator/v1/projects/{project}/databases/(default)/documents"
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).read()


def clear_auth() -> None:
    req = urllib.request.Request(f"{AUTH}/emulator/v1/projects/{PROJECT}/accounts", method="DELETE")
    urllib.request.urlopen(req, timeout=30).read()


FCM = os.environ.get("HOMEPRO_FCM_URL", "http://127.0.0.1:9190")
TWILIO = os.environ.get("HOMEPRO_TWILIO_URL", "http://127.0.0.1:9191")


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def read_as(path: str, id_token: str) -> tuple[int, dict[str, Any]]:
    """GET a document through Firestore's REST API as the signed-in user (the rules apply):
    the HTTP status and the document's field names and values as REST encodes them."""
    url = f"{FIRESTORE}/v1/projects/{PROJECT}/databases/(default)/documents/{path}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {id_token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status), dict(json.loads(resp.read()).get("fields") or {})
    except urllib.error.HTTPError as err:
        return int(err.code), {}


def _delete(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).read()


def fcm_messages() -> list[dict[str, Any]]:
    """Every message the FCM stand-in accepted (the `message` of each request body)."""
    return [body["message"] for body in _get_json(f"{FCM}/messages")]


def clear_fcm() -> None:
    _delete(f"{FCM}/messages")


def sms_messages() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _get_json(f"{TWILIO}/messages")
    return result


def clear_sms() -> None:
    _delete(f"{TWILIO}/messages")


STRIPE = os.environ.get("HOMEPRO_STRIPE_URL", "http://127.0.0.1:8420")
STRIPE_KEY = "sk_test_homepro_local"


def payment_intent(payment_intent_id: str) -> dict[str, Any]:
    """A PaymentIntent as localstripe holds it."""
    req = urllib.request.Request(
        f"{STRIPE}/v1/payment_intents/{payment_intent_id}",
        headers={"Authorization": f"Bearer {STRIPE_KEY}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        result: dict[str, Any] = json.loads(resp.read())
    return result


def stripe_outage(calls: int) -> None:
    """The next `calls` Stripe API calls answer 503 (0 ends the outage)."""
    req = urllib.request.Request(f"{STRIPE}/_config/homepro-outage?calls={calls}", method="POST")
    urllib.request.urlopen(req, timeout=30).read()


def stripe_authenticate(payment_intent_id: str, client_secret: str) -> None:
    """What Stripe.js does when the customer passes 3-D Secure (localstripe's own endpoint)."""
    data = urllib.parse.urlencode(
        {"client_secret": client_secret, "success": "true", "key": "pk_test_homepro_local"}
    ).encode()
    req = urllib.request.Request(
        f"{STRIPE}/v1/payment_intents/{payment_intent_id}/_authenticate", data=data, method="POST"
    )
    urllib.request.urlopen(req, timeout=30).read()


def _stripe(path: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{STRIPE}{path}",
        data=urllib.parse.urlencode(data).encode() if data is not None else None,
        method="POST" if data is not None else "GET",
        headers={"Authorization": f"Bearer {STRIPE_KEY}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        result: dict[str, Any] = json.loads(resp.read())
    return result


def payment_intents_for(request_id: str) -> list[dict[str, Any]]:
    """Every PaymentIntent localstripe holds for a request (by its `metadata.requestId`)."""
    found, after = [], None
    while True:
        page = _stripe(
            "/v1/payment_intents?limit=100" + (f"&starting_after={after}" if after else "")
        )
        found += [i for i in page["data"] if i["metadata"].get("requestId") == request_id]
        if not page["has_more"] or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def stripe_hold(request_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
    """A hold made for `request_id` straight at localstripe (an earlier attempt, another
    deploy): authorized, whatever the request records."""
    return _stripe(
        "/v1/payment_intents",
        {
            "amount": "4900",
            "currency": "usd",
            "payment_method": payment_method,
            "capture_method": "manual",
            "confirm": "true",
            "metadata[requestId]": request_id,
        },
    )


def stripe_calls() -> dict[int, dict[str, int]]:
    """Every Stripe API call localstripe saw since the last reset (all sources): by the epoch
    second it arrived in, then by `METHOD /v1/path` (ids as `{id}`)."""
    with urllib.request.urlopen(f"{STRIPE}/_config/homepro-calls", timeout=30) as resp:
        seconds: dict[str, dict[str, int]] = json.loads(resp.read())["seconds"]
    return {int(second): by for second, by in seconds.items()}


def reset_stripe_calls() -> None:
    req = urllib.request.Request(f"{STRIPE}/_config/homepro-calls", method="DELETE")
    urllib.request.urlopen(req, timeout=30).read()


def stripe_delay(suffix: str, seconds: float, calls: int = 1) -> None:
    """The next `calls` Stripe POSTs whose path ends with `suffix` wait `seconds` first."""
    query = urllib.parse.urlencode({"suffix": suffix, "seconds": seconds, "calls": calls})
    req = urllib.request.Request(f"{STRIPE}/_config/homepro-delay?{query}", method="POST")
    urllib.request.urlopen(req, timeout=30).read()
