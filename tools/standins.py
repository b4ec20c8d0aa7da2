"""Local stand-ins for the outside services with no emulator, speaking their real HTTP APIs.

    FCM HTTP v1      :9190  POST /v1/projects/{p}/messages:send
    Twilio Messages  :9191  POST /2010-04-01/Accounts/{sid}/Messages.json

Each also answers `GET /messages` (a JSON array of every accepted request, in arrival order)
and `DELETE /messages` (empties it). FCM tokens that begin `unregistered-` are answered 404
UNREGISTERED, `invalid-` 400 INVALID_ARGUMENT about the token, and `flaky-` 503 on their first
send (then accepted), as FCM does. `--fcm-delay-ms` makes every FCM answer wait (benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
from typing import Any

from aiohttp import web

FCM_PORT, TWILIO_PORT = 9190, 9191


def fcm_error(status: int, code: str, message: str, detail: dict[str, Any]) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": code, "details": [detail]}}
    return web.json_response(body, status=status)


def fcm_app(delay_ms: float) -> web.Application:
    accepted: list[dict[str, Any]] = []
    failed_once: set[str] = set()
    ids = itertools.count(1)

    async def send(request: web.Request) -> web.Response:
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        try:
            body = json.loads(await request.read())
            token = body["message"]["token"]
        except (ValueError, KeyError, TypeError):
            return fcm_error(
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []},
            )
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response(
                {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "no credential"}},
                status=401,
            )
        if token.startswith("unregistered-"):
            return fcm_error(
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED",
                },
            )
        if token.startswith("invalid-"):
            return fcm_error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": "message.token", "description": "Invalid registration token"}
                    ],
                },
            )
        if token.startswith("flaky-") and token not in failed_once:
            failed_once.add(token)
            return fcm_error(
                503,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNAVAILABLE",
                },
            )
        accepted.append(body)
        project = request.match_info["project"]
        return web.json_response({"name": f"projects/{project}/messages/{next(ids)}"})

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/v1/projects/{project}/messages:send", send)
    _add_log_routes(app, accepted, failed_once)
    return app


def twilio_app() -> web.Application:
    accepted: list[dict[str, Any]] = []
    ids = itertools.count(1)

    async def create(request: web.Request) -> web.Response:
        form = await request.post()
        to, sender, body = form.get("To"), form.get("From"), form.get("Body")
        if not to or not body:
            return web.json_response(
                {
                    "code": 21604,
                    "message": "A 'To' phone number and a 'Body' are required.",
                    "status": 400,
                },
                status=400,
            )
        sid = f"SM{next(ids):032d}"
        record = {
            "sid": sid,
            "to": to,
            "from": sender,
            "body": body,
            "account_sid": request.match_info["sid"],
        }
        accepted.append(record)
        return web.json_response(
            {
                **record,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "price": None,
                "error_code": None,
                "uri": f"{request.path[:-5]}/{sid}.json",
            },
            status=201,
        )

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create)
    _add_log_routes(app, accepted)
    return app


def _add_log_routes(app: web.Application, log: list[dict[str, Any]], *extra: set[str]) -> None:
    async def listing(_: web.Request) -> web.Response:
        return web.json_response(log)

    async def clear(_: web.Request) -> web.Response:
        log.clear()
        for state in extra:
            state.clear()
        return web.Response(status=204)

    app.router.add_get("/messages", listing)
    app.router.add_delete("/messages", clear)


async def serve(apps: list[tuple[web.Application, int]]) -> None:
    runners = []
    for app, port in apps:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        runners.append(runner)
    print("stand-ins ready: " + ", ".join(str(port) for _, port in apps), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", choices=["fcm", "twilio"], help="run one stand-in only")
    parser.add_argument("--fcm-port", type=int, default=FCM_PORT)
    parser.add_argument("--twilio-port", type=int, default=TWILIO_PORT)
    parser.add_argument("--fcm-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    apps: list[tuple[web.Application, int]] = []
    if args.only in (None, "fcm"):
        apps.append((fcm_app(args.fcm_delay_ms), args.fcm_port))
    if args.only in (None, "twilio"):
        apps.append((twilio_app(), args.twilio_port))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(apps))


if __name__ == "__main__":
    main()
