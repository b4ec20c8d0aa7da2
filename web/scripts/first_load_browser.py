"""The customer's first-load JavaScript as a browser sees it, on the running local stack.

A check on web/scripts/first-load.mjs (which reads the build): Chromium, with its cache off,
opens `/` signed out, then a new customer signs up and `/customer/request` is loaded afresh,
signed in. Every JavaScript response of each load is listed with its raw and gzip (level 9)
bytes, including the chunks pages import at run time and the messaging service worker when
the page registers it. Run on the stack, e.g.:

    flock /tmp/homepro-stack.lock python3 tools/stack.py run -- \\
        .venv/bin/python web/scripts/first_load_browser.py
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import Page, Response, sync_playwright

APP = os.environ.get("HOMEPRO_APP_URL", "http://127.0.0.1:5000")
CHROMIUM = os.environ.get("HOMEPRO_CHROMIUM", "/usr/bin/chromium")
PUBLIC = Path(__file__).resolve().parents[2] / "public"
SERVICE_WORKER = "/firebase-messaging-sw.js"
# Firestore keeps a channel open, so the network never idles: wait a fixed time instead.
SETTLE_MS = 4_000


def gzip_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9, mtime=0))


def measure(page: Page, load: Callable[[], object], ready: str) -> dict[str, Any]:
    """JavaScript fetched while `load` runs and the page settles on `ready` (a test id)."""
    seen: dict[str, bytes] = {}

    def on_response(response: Response) -> None:
        path = urlparse(response.url).path
        if path.endswith(".js") and response.url.startswith(APP):
            try:
                seen[path] = response.body()
            except Exception:  # a body the browser dropped (a redirect)
                seen.setdefault(path, b"")

    page.on("response", on_response)
    load()
    page.get_by_test_id(ready).wait_for()
    page.wait_for_timeout(SETTLE_MS)
    page.remove_listener("response", on_response)
    worker = page.evaluate(
        "navigator.serviceWorker.getRegistrations().then(list => list.length > 0)"
    )
    if worker and SERVICE_WORKER not in seen:
        seen[SERVICE_WORKER] = (PUBLIC / SERVICE_WORKER.lstrip("/")).read_bytes()
    files: list[dict[str, Any]] = [
        {"file": path, "raw": len(body), "gzip": gzip_size(body)}
        for path, body in sorted(seen.items())
    ]
    return {
        "serviceWorkerRegistered": worker,
        "files": files,
        "raw": sum(f["raw"] for f in files),
        "gzip": sum(f["gzip"] for f in files),
    }


def main() -> None:
    email = f"firstload-{uuid.uuid4().hex[:10]}@homepro.test"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(base_url=APP)
        page = context.new_page()
        context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})

        signed_out = measure(page, lambda: page.goto("/"), "auth-form")

        page.get_by_test_id("signup-toggle").click()
        page.get_by_test_id("display-name").fill("First Load")
        page.get_by_test_id("email").fill(email)
        page.get_by_test_id("password").fill("first-load-password")
        page.get_by_test_id("submit-auth").click()
        page.wait_for_url("**/customer/request")
        page.get_by_test_id("request-form").wait_for()
        page.wait_for_timeout(SETTLE_MS)

        signed_in = measure(page, lambda: page.goto("/customer/request"), "request-form")
        browser.close()

    union: dict[str, dict[str, Any]] = {}
    for load in (signed_out, signed_in):
        for entry in load["files"]:
            union[entry["file"]] = entry
    report = {
        "gzip": "python gzip level 9",
        "/ (signed out)": signed_out,
        "/customer/request (signed-in customer)": signed_in,
        "together": {
            "files": sorted(union),
            "raw": sum(e["raw"] for e in union.values()),
            "gzip": sum(e["gzip"] for e in union.values()),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
