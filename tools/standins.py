"""Local stand-ins for the outside services with no emulator, speaking their real HTTP APIs.

    FCM HTTP v1      :9190  POST /v1/projects/{p}/messages:send
    Twilio Messages  :9191  POST /2010-04-01/Accounts/{sid}/Messages.json
    video (Zoho Lens):9192  POST /api/v2/sessions

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
import os
import time
from typing import Any

from aiohttp import web

FCM_PORT, TWILIO_PORT, VIDEO_PORT = 9190, 9191, 9192


class FcmProtocol(asyncio.Protocol):
    """A minimal HTTP/1.1 server for the FCM v1 send endpoint (keep-alive, Content-Length).

    Hand-written on asyncio rather than aiohttp.web so that the stand-in costs a fraction of
    what the client under test does: benchmarks measure the client, not the stand-in."""

    state: FcmState

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path = head[0].split(" ")[:2]
            close = headers.get("connection", "").lower() == "close"
            self.state.handle(self, method, path, headers, body, close)

    def respond(self, status: int, payload: Any, close: bool = False) -> None:
        if self.transport.is_closing():
            return
        body = b"" if payload is None else json.dumps(payload).encode()
        reason = {
            200: "OK",
            204: "No Content",
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            503: "Service Unavailable",
        }.get(status, "Error")
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n"
        )
        self.transport.write(head.encode() + body)
        if close:
            self.transport.close()


def fcm_error(status: int, code: str, message: str, detail: dict[str, Any]) -> tuple[int, Any]:
    return status, {
        "error": {"code": status, "message": message, "status": code, "details": [detail]}
    }


FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


class FcmState:
    """What the FCM stand-in has accepted, and how it answers each token."""

    def __init__(self, delay_ms: float) -> None:
        self.delay = delay_ms / 1000
        self.accepted: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # wall-clock time of each acceptance (benchmarks)
        self.failed_once: set[str] = set()
        self.ids = itertools.count(1)

    def handle(
        self,
        conn: FcmProtocol,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        close: bool,
    ) -> None:
        if path == "/messages" and method == "GET":
            conn.respond(200, self.accepted, close)
        elif path == "/messages" and method == "DELETE":
            self.accepted.clear()
            self.arrivals.clear()
            self.failed_once.clear()
            conn.respond(204, None, close)
        elif path == "/stats" and method == "GET":
            conn.respond(
                200,
                {
                    "count": len(self.arrivals),
                    "first": self.arrivals[0] if self.arrivals else None,
                    "last": self.arrivals[-1] if self.arrivals else None,
                },
                close,
            )
        elif (
            method == "POST"
            and path.startswith("/v1/projects/")
            and path.endswith("/messages:send")
        ):
            status, payload = self.send(path.split("/")[3], headers, body)
            if self.delay:
                asyncio.get_running_loop().call_later(
                    self.delay, conn.respond, status, payload, close
                )
            else:
                conn.respond(status, payload, close)
        else:
            conn.respond(
                404, {"error": {"code": 404, "status": "NOT_FOUND", "message": path}}, close
            )

    def send(self, project: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        try:
            body = json.loads(raw)
            token = body["message"]["token"]
        except (ValueError, KeyError, TypeError):
            return fcm_error(
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                {"@type": BAD_REQUEST, "fieldViolations": []},
            )
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, {
                "error": {"code": 401, "status": "UNAUTHENTICATED", "message": "no credential"}
            }
        if token.startswith("unregistered-"):
            return fcm_error(
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                {"@type": FCM_ERROR, "errorCode": "UNREGISTERED"},
            )
        if token.startswith("invalid-"):
            return fcm_error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
                {
                    "@type": BAD_REQUEST,
                    "fieldViolations": [
                        {"field": "message.token", "description": "Invalid registration token"}
                    ],
                },
            )
        if token.startswith("flaky-") and token not in self.failed_once:
            self.failed_once.add(token)
            return fcm_error(
                503,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                {"@type": FCM_ERROR, "errorCode": "UNAVAILABLE"},
            )
        self.accepted.append(body)
        self.arrivals.append(time.time())
        return 200, {"name": f"projects/{project}/messages/{next(self.ids)}"}


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


def video_app() -> web.Application:
    """Shaped like the Zoho Lens sessions API the adapter calls: one room per reference id."""
    rooms: dict[str, dict[str, Any]] = {}
    accepted: list[dict[str, Any]] = []

    async def create(request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Zoho-oauthtoken "):
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        reference = body["session"]["reference_id"]
        if reference not in rooms:
            room_id = f"lens-{len(rooms) + 1:06d}"
            rooms[reference] = {
                "session_id": room_id,
                "technician_url": f"http://127.0.0.1:{VIDEO_PORT}/join/{room_id}?as=technician",
                "customer_url": f"http://127.0.0.1:{VIDEO_PORT}/join/{room_id}?as=customer",
            }
            accepted.append(body)
        return web.json_response({"session": rooms[reference]})

    async def join(request: web.Request) -> web.Response:
        return web.Response(text=f"HomePro local video room {request.match_info['room']}")

    app = web.Application()
    app.router.add_post("/api/v2/sessions", create)
    app.router.add_get("/join/{room}", join)
    _add_log_routes(app, accepted)
    return app


def _add_log_routes(app: web.Application, log: list[dict[str, Any]]) -> None:
    async def listing(_: web.Request) -> web.Response:
        return web.json_response(log)

    async def clear(_: web.Request) -> web.Response:
        log.clear()
        return web.Response(status=204)

    app.router.add_get("/messages", listing)
    app.router.add_delete("/messages", clear)


async def serve(apps: list[tuple[web.Application, int]], fcm: tuple[FcmState, int] | None) -> None:
    runners = []
    servers = []
    if fcm is not None:
        state, port = fcm
        protocol = type("BoundFcmProtocol", (FcmProtocol,), {"state": state})
        loop = asyncio.get_running_loop()
        servers.append(await loop.create_server(protocol, "127.0.0.1", port, backlog=4096))
    for app, port in apps:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        runners.append(runner)
    print("stand-ins ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for server in servers:
            server.close()
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", choices=["fcm", "twilio"], help="run one stand-in only")
    parser.add_argument("--fcm-port", type=int, default=FCM_PORT)
    parser.add_argument("--twilio-port", type=int, default=TWILIO_PORT)
    parser.add_argument(
        "--fcm-delay-ms", type=float, default=float(os.environ.get("HOMEPRO_FCM_DELAY_MS", "0"))
    )
    args = parser.parse_args()
    apps: list[tuple[web.Application, int]] = []
    fcm = (FcmState(args.fcm_delay_ms), args.fcm_port) if args.only in (None, "fcm") else None
    if args.only in (None, "twilio"):
        apps.append((twilio_app(), args.twilio_port))
    if args.only is None:
        apps.append((video_app(), VIDEO_PORT))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(apps, fcm))


if __name__ == "__main__":
    main()
