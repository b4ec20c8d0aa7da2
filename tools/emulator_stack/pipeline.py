"""The test pipeline: each step alone or all in order, the emulator steps on one stack."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from .console import log
from .environment import ROOT, STACK_ID, TOOLS_VENV
from .install import ensure_chromium, setup
from .running import end_marked_below, running_stack

PY = str(TOOLS_VENV / "bin" / "python")
BIN = TOOLS_VENV / "bin"

# What `firebase deploy --only functions` must find (CONTRACT.md: callables, triggers, jobs).
DEPLOYED_FUNCTIONS = {
    "before_user_created",
    "quote_wait",
    "create_request",
    "cancel_request",
    "refund_request",
    "admin_settle",
    "claim_request",
    "release_claim",
    "start_session",
    "join_session",
    "end_session",
    "set_availability",
    "register_device",
    "remove_device",
    "dispatch_report",
    "stripe_webhook",
    "on_request_created",
    "on_request_updated",
    "on_user_written",
    "on_device_written",
    "sweep_stale_requests",
    "sweep_stale_claims",
    "reconcile_payments",
    "settlepayment",
    "requesttimer",
    "drainoutbox",
}


def step(command: list[str], env: dict[str, str]) -> int:
    log("$ " + " ".join(Path(part).name if part.startswith("/") else part for part in command))
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def lint(env: dict[str, str], _pytest: Sequence[str]) -> int:
    """ruff (lint and format), mypy, the web client's TypeScript check and its first load."""
    for command in (
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        ["npm", "run", "--silent", "typecheck:web"],
        # the customer's first load holds no helper or admin screen (from the build's manifest)
        ["node", "web/scripts/first-load.mjs"],
    ):
        if code := step(command, env):
            return code
    return 0


def unit(env: dict[str, str], pytest: Sequence[str]) -> int:
    return step([PY, "-m", "pytest", "-q", "tests/unit", *pytest], env)


def discovery(env: dict[str, str], _pytest: Sequence[str]) -> int:
    """Offline deploy check: the CLI's own discovery of functions/main.py (what a deploy would
    read) finds every function of the contract, and nothing else."""
    log("$ firebase internaltesting:functions:discover")
    done = subprocess.run(
        [str(ROOT / "node_modules/.bin/firebase"), "internaltesting:functions:discover"],
        cwd=ROOT,
        env={**env, "FIREBASE_CLI_EXPERIMENTS": "internaltesting"},
        capture_output=True,
        text=True,
    )
    start = done.stdout.find("\n{")
    if done.returncode != 0 or start < 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        return done.returncode or 1
    found = set(json.loads(done.stdout[start:])["default"]["endpoints"])
    log(f"functions discovered: {len(found)} (as the contract: {found == DEPLOYED_FUNCTIONS})")
    if found != DEPLOYED_FUNCTIONS:
        missing, extra = sorted(DEPLOYED_FUNCTIONS - found), sorted(found - DEPLOYED_FUNCTIONS)
        log(f"missing {missing}, unexpected {extra}")
        return 1
    return 0


def integration(env: dict[str, str], pytest: Sequence[str]) -> int:
    return step([PY, "-m", "pytest", "-q", "tests/integration", *pytest], env)


def rules(env: dict[str, str], _pytest: Sequence[str]) -> int:
    """The security-rules matrix on the Firestore emulator: every case passes with
    firestore.rules; with an allow-all file exactly the "deny" cases fail (the control)."""
    command = ["node", "--test", "--test-reporter=tap", "tests/rules/"]
    log("$ node --test tests/rules/  (firestore.rules)")
    ours = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    passed, failed = tap_results(ours.stdout)
    log(f"rules matrix: {len(passed)} passed, {len(failed)} failed")
    if ours.returncode != 0 or failed or not passed:
        print(ours.stdout[-4000:], ours.stderr[-2000:], sep="\n")
        return ours.returncode or 1
    control_env = {**env, "HOMEPRO_RULES": "tests/rules/allow-all.rules"}
    log("$ node --test tests/rules/  (allow-all control)")
    control = subprocess.run(command, cwd=ROOT, env=control_env, capture_output=True, text=True)
    allowed, refused = tap_results(control.stdout)
    deny = {name for name in passed if name.startswith("deny:")}
    log(
        f"allow-all control: {len(refused)} of {len(passed)} cases fail "
        f"(the {len(deny)} deny cases: {refused == deny})"
    )
    return 0 if refused == deny and len(allowed) == len(passed) - len(deny) else 1


def tap_results(tap: str) -> tuple[set[str], set[str]]:
    passed: set[str] = set()
    failed: set[str] = set()
    for line in tap.splitlines():
        if line.startswith(("ok ", "not ok ")):
            name = line.split(" - ", 1)[1].split(" # ", 1)[0].strip()
            (passed if line.startswith("ok ") else failed).add(name)
    return passed, failed


def e2e(env: dict[str, str], pytest: Sequence[str]) -> int:
    log("(Playwright, chromium; screenshots in .cache/e2e-artifacts)")
    return step([PY, "-m", "pytest", "-q", "-s", "tests/e2e", *pytest], env)


def stack_hygiene(env: dict[str, str], _pytest: Sequence[str]) -> int:
    """Ctrl-C twice on `make dev` after a burst of calls, on a small stack of its own: nothing
    of that stack may be left (needs the emulator ports free). The test's stacks are marked
    below this step's id, so that an interrupted test leaves nothing either."""
    step_id = f"stack-hygiene-{uuid.uuid4().hex}"
    try:
        return step(
            [PY, "-m", "pytest", "-q", "-s", "tests/stack"],
            {**env, "HOMEPRO_STACK_TESTS": "1", STACK_ID: step_id},
        )
    finally:
        if ended := end_marked_below(step_id):
            log(f"stack-hygiene: ended {ended} processes its test left behind")


Step = Callable[[dict[str, str], Sequence[str]], int]
# In the order `test` runs them. The first group stops at the first failure; the stack steps
# share one stack and all run; the stack-hygiene step starts its own once that one is gone.
ALONE: dict[str, Step] = {"lint": lint, "unit": unit, "discovery": discovery}
ON_STACK: dict[str, Step] = {"integration": integration, "rules": rules, "e2e": e2e}
AFTER_STACK: dict[str, Step] = {"stack-hygiene": stack_hygiene}
STEPS = (*ALONE, *ON_STACK, *AFTER_STACK)


def run_tests(names: Sequence[str], pytest: Sequence[str]) -> int:
    """Run the named steps (all of them when none is named) in the pipeline's order."""
    wanted = set(names or STEPS)
    env = setup()
    started = time.monotonic()
    for name, alone in ALONE.items():
        if name in wanted and (code := alone(env, pytest)):
            return code
    codes = []
    on_stack = [name for name in ON_STACK if name in wanted]
    if on_stack:
        env = {**env, "HOMEPRO_TICKER": "0"}
        if "e2e" in on_stack:
            env["HOMEPRO_CHROMIUM"] = str(ensure_chromium())
        with running_stack(env, "test") as stack:
            codes = [ON_STACK[name](stack.env, pytest) for name in on_stack]
        if stack.left:
            codes.append(1)
    for name, after in AFTER_STACK.items():
        if name in wanted:
            codes.append(after(env, pytest))
    log(f"tests took {time.monotonic() - started:.0f} s")
    return next((code for code in codes if code), 0)
