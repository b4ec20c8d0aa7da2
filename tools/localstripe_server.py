"""localstripe (a stateful fake of the Stripe API) on loopback, adapted where it differs from
Stripe, so that the production Stripe adapter runs unchanged against it:

- listens on 127.0.0.1 only, and keeps its state in memory (stock: every interface, and a
  pickle in /tmp rewritten on every write), indexed by object type (stock: every list call
  scanned every object, and every PaymentIntent answer made such calls);
- accepts `cancellation_reason` on PaymentIntent cancel and `reason` on refunds (stock:
  rejected);
- reports `amount_capturable` on PaymentIntents (stock: missing);
- knows the test payment method `pm_card_threeDSecure2Required` (3-D Secure required);
- honours `Idempotency-Key` as Stripe does: a POST with a key seen before answers the first
  answer again (`Idempotent-Replayed: true`) without doing anything, and a key reused on
  another endpoint is a 400 `idempotency_error` (stock: every retry did it again);
- filters lists by `created[gt|gte|lt|lte]` (stock: 400), as the reconcile job lists;
- `POST /_config/homepro-outage?calls=N` answers the next N API calls 503, like a Stripe outage
  (`calls=0` ends it), so tests can watch a failed release wait for the next sweep;
- `POST /_config/homepro-delay?suffix=S&seconds=T&calls=N` holds the next N POSTs whose path
  ends with S for T seconds before doing them (other calls go on meanwhile), so a test can
  land a cancel between a request's write and its card's confirmation;
- counts every API call (`/v1/...`, whoever makes it, an injected outage's 503 included) by the
  wall-clock second it arrived in and by method + path (ids folded to `{id}`):
  `GET /_config/homepro-calls` answers `{"seconds": {"<epoch second>": {"<METHOD path>": n}},
  "total": n, "settled": {"<PaymentIntent id>": {"cancel": n, "capture": n}}}` (`settled`: the
  cancels and captures that did something: answered 200, not replayed from their idempotency
  key) and `DELETE /_config/homepro-calls` resets it, so a bench reads the most calls in any
  one second and finds a hold settled twice.

It sends no webhooks: tests sign their own with the local secret. What it still gets wrong
(it allows refunds it should not, it checks an idempotency key's endpoint but not its
parameters) is covered by unit tests of the adapter. What the store's index saved, with its
date: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from aiohttp import web
from localstripe import resources

resources.Store.try_load_from_disk = lambda self: None
resources.Store.dump_to_disk = lambda self: None


# Stock listing scans every object in the store, and a PaymentIntent's every answer lists its
# charges' refunds: each call cost O(objects), which a bench of 10,000 holds cannot afford. The
# store also keeps its objects by type, and listing reads only that type.
def _by_type(store: Any) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = store.__dict__.setdefault("homepro_by_type", {})
    return index


def _store_set(self: Any, key: str, value: Any) -> None:
    dict.__setitem__(self, key, value)
    _by_type(self).setdefault(key.split(":", 1)[0], {})[key] = value


def _store_del(self: Any, key: str) -> None:
    dict.__delitem__(self, key)
    _by_type(self).get(key.split(":", 1)[0], {}).pop(key, None)


def _store_clear(self: Any) -> None:
    dict.clear(self)
    _by_type(self).clear()


_COMPARE = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _created_bounds(created: Any) -> dict[str, int]:
    """`created=T` or `created[gte]=T` (and gt, lt, lte) as Stripe's lists take them."""
    if created is None:
        return {}
    pairs = created.items() if isinstance(created, dict) else [("eq", created)]
    try:
        bounds = {op: int(value) for op, value in pairs}
    except (TypeError, ValueError):
        raise resources.UserError(400, "Bad created filter") from None
    if not set(bounds) <= set(_COMPARE):
        raise resources.UserError(400, "Bad created filter")
    return bounds


def _list_all(
    cls: Any,
    /,
    url: str,
    limit: Any = None,
    starting_after: Any = None,
    created: Any = None,
    **kwargs: Any,
) -> Any:
    if kwargs:
        raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    bounds = _created_bounds(created)
    found = resources.List(url, limit=limit, starting_after=starting_after)
    found._list = [
        obj
        for obj in _by_type(resources.store).get(cls.object, {}).values()
        if all(_COMPARE[op](obj.created, bound) for op, bound in bounds.items())
    ]
    return found


resources.Store.__setitem__ = _store_set
resources.Store.__delitem__ = _store_del
resources.Store.clear = _store_clear
resources.StripeObject._api_list_all = classmethod(_list_all)

_stock_cancel = resources.PaymentIntent._api_cancel


def _cancel(id: str, cancellation_reason: str | None = None, **kwargs: Any) -> Any:
    return _stock_cancel(id, **kwargs)


resources.extra_apis[:] = [
    (method, url, _cancel if func == _stock_cancel else func)
    for method, url, func in resources.extra_apis
]


_stock_refund_create = resources.Refund._api_create


def _refund_create(reason: str | None = None, **data: Any) -> Any:
    return _stock_refund_create(**data)


resources.Refund._api_create = _refund_create


def _amount_capturable(self: Any) -> int:
    return int(self.amount) if self.status == "requires_capture" else 0


resources.PaymentIntent.amount_capturable = property(_amount_capturable)

_stock_test_article = resources.PaymentMethod._try_get_canonical_test_article.__func__


def _test_article(cls: Any, id: str) -> Any:
    if id == "pm_card_threeDSecure2Required":
        return resources.PaymentMethod(
            type="card",
            card={
                "number": "4000002760003184",
                "exp_month": "12",
                "exp_year": "2030",
                "cvc": "123",
            },
        )
    return _stock_test_article(cls, id)


resources.PaymentMethod._try_get_canonical_test_article = classmethod(_test_article)

from localstripe import server  # noqa: E402  (its routes read the adapted resources)

_outage = {"calls": 0}


@web.middleware
async def outage(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/v1/") and _outage["calls"] > 0:
        _outage["calls"] -= 1
        return web.json_response(
            {"error": {"type": "api_error", "message": "Stripe is unavailable (injected)"}},
            status=503,
        )
    response: web.StreamResponse = await handler(request)
    return response


async def set_outage(request: web.Request) -> web.Response:
    _outage["calls"] = int(request.query.get("calls", "0"))
    return web.json_response(_outage)


_delays: list[dict[str, Any]] = []


@web.middleware
async def delay(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method == "POST" and request.path.startswith("/v1/"):
        for rule in _delays:
            if rule["calls"] > 0 and request.path.endswith(rule["suffix"]):
                rule["calls"] -= 1
                await asyncio.sleep(rule["seconds"])
                break
    response: web.StreamResponse = await handler(request)
    return response


async def set_delay(request: web.Request) -> web.Response:
    rule: dict[str, Any] = {
        "suffix": request.query["suffix"],
        "seconds": float(request.query.get("seconds", "0")),
        "calls": int(request.query.get("calls", "1")),
    }
    _delays[:] = [r for r in _delays if r["calls"] > 0 and r["suffix"] != rule["suffix"]]
    if rule["calls"] > 0:
        _delays.append(rule)
    return web.json_response({"delays": _delays})


# epoch second -> "METHOD /v1/path" (ids folded) -> calls that arrived in it
_calls: dict[int, dict[str, int]] = {}
# PaymentIntent id -> "cancel" | "capture" -> times it was done (not replayed)
_settled: dict[str, dict[str, int]] = {}


def _endpoint(method: str, path: str) -> str:
    """`POST /v1/payment_intents/pi_123/cancel` -> `POST /v1/payment_intents/{id}/cancel`."""
    parts = path.split("/")
    if len(parts) > 3:
        parts[3] = "{id}"
    return f"{method} {'/'.join(parts)}"


@web.middleware
async def count_calls(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/v1/"):
        second = _calls.setdefault(int(time.time()), {})
        endpoint = _endpoint(request.method, request.path)
        second[endpoint] = second.get(endpoint, 0) + 1
    response: web.StreamResponse = await handler(request)
    parts = request.path.split("/")
    if (
        request.method == "POST"
        and len(parts) == 5
        and parts[2] == "payment_intents"
        and parts[4] in ("cancel", "capture")
        and response.status == 200
        and "Idempotent-Replayed" not in response.headers
    ):
        done = _settled.setdefault(parts[3], {})
        done[parts[4]] = done.get(parts[4], 0) + 1
    return response


async def read_calls(request: web.Request) -> web.Response:
    seconds = {str(s): dict(by) for s, by in sorted(_calls.items())}
    total = sum(sum(by.values()) for by in _calls.values())
    return web.json_response({"seconds": seconds, "total": total, "settled": _settled})


async def reset_calls(request: web.Request) -> web.Response:
    _calls.clear()
    _settled.clear()
    return web.json_response({"seconds": {}, "total": 0, "settled": {}})


# Idempotency-Key -> (method, path, status, body, content type) of its first answer.
_answered: dict[str, tuple[str, str, int, bytes, str]] = {}
_in_flight: dict[str, asyncio.Lock] = {}


@web.middleware
async def idempotency(request: web.Request, handler: Any) -> web.StreamResponse:
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        response: web.StreamResponse = await handler(request)
        return response
    async with _in_flight.setdefault(key, asyncio.Lock()):  # Stripe: 409 while in flight
        first = _answered.get(key)
        if first is not None:
            method, path, status, body, content_type = first
            if (method, path) != (request.method, request.path):
                message = "Keys for idempotent requests can only be used for the same endpoint."
                error = {"error": {"type": "idempotency_error", "message": message}}
                return web.json_response(error, status=400)
            return web.Response(
                body=body,
                status=status,
                content_type=content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        response = await handler(request)
        if response.status < 500 and isinstance(response, web.Response):
            body = response.body if isinstance(response.body, bytes) else b""
            _answered[key] = (
                request.method,
                request.path,
                response.status,
                body,
                response.content_type,
            )
        return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    # outermost first: an injected outage is not an answer a key remembers; a delayed call is
    # still done once when it wakes (its key answered meanwhile by a retry, it replays)
    # the counter outermost: every call arriving is counted, whatever answers it
    server.app.middlewares[0:0] = [count_calls, outage, delay, idempotency]
    server.app.router.add_get("/_config/homepro-calls", read_calls)
    server.app.router.add_delete("/_config/homepro-calls", reset_calls)
    server.app.router.add_post("/_config/homepro-outage", set_outage)
    server.app.router.add_post("/_config/homepro-delay", set_delay)
    web.run_app(server.app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
