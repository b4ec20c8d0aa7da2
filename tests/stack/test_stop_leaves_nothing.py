"""Ctrl-C on `make dev` (once, or twice: again while it stops), after a burst of concurrent
calls, leaves no process of its stack.

Runs `make dev` on a small stack of its own (Firestore, Auth, Functions), so it needs the
emulator ports free: `make stack-hygiene` runs it, after the main test stack has stopped. Every
process of that stack carries `HOMEPRO_STACK_ID=<this test's id>/...` in its environment; only
those are counted, never other processes of the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import emulator_client as ec

if os.environ.get("HOMEPRO_STACK_TESTS") != "1":
    pytest.skip("starts a stack of its own: run by `make stack-hygiene`", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / ".cache" / "logs" / "stop-leaves-nothing-make-dev.log"
CLIENTS = int(os.environ.get("HOMEPRO_BURST_CLIENTS", "12"))
CALLS_EACH = int(os.environ.get("HOMEPRO_BURST_CALLS", "4"))
EMULATORS = os.environ.get("HOMEPRO_BURST_EMULATORS", "firestore,auth,functions")
READY = "Ctrl-C stops everything"


def marked(marker: str) -> dict[int, str]:
    """pid -> `ps`-like line of every live process whose environment carries the marker (or a
    stack id below it)."""
    entry = f"HOMEPRO_STACK_ID={marker}".encode()
    found: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            if not any(e == entry or e.startswith(entry + b"/") for e in environ):
                continue
            state, ppid, pgid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state != "Z":
            found[int(proc.name)] = f"ppid {ppid} pgid {pgid} {state} {cmdline.strip()}"
    return found


def wrappers(processes: dict[int, str]) -> int:
    """The emulator's workers among `processes`: one `/bin/sh` wrapper each (its gunicorn
    master and worker below share one command line)."""
    return sum(kind(cmdline) == "functions-framework (sh)" for cmdline in processes.values())


def end_all(marker: str) -> None:
    """SIGKILL every process with the marker until none is left: a failing run leaves nothing."""
    deadline = time.monotonic() + 15
    while (left := marked(marker)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def kind(cmdline: str) -> str:
    """What a process of the stack is, for the counts."""
    command = cmdline.split(" ", 5)[5]
    if "functions-framework" in command:
        sh = command.startswith("/bin/sh")
        return "functions-framework (sh)" if sh else "functions-framework"
    for word, name in (
        ("java", "java"),
        ("firebase", "node (firebase-tools)"),
        ("standins.py", "stand-ins"),
        ("localstripe", "stand-ins"),
        ("seed.py", "seed"),
        ("stack.py", "stack.py"),
        ("make", "make"),
    ):
        if word in command:
            return name
    return "other"


def rss_mb(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def counts(processes: dict[int, str]) -> str:
    by_kind = Counter(kind(cmdline) for cmdline in processes.values())
    listed = ", ".join(f"{n} {name}" for name, n in sorted(by_kind.items())) or "none"
    return f"{listed}; {rss_mb(processes):.0f} MB resident" if processes else listed


def wait_for_log(text: str, dev: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if LOG.exists() and text in LOG.read_text(errors="replace"):
            return
        if dev.poll() is not None:
            break
        time.sleep(0.2)
    tail = LOG.read_text(errors="replace")[-3000:] if LOG.exists() else ""
    raise AssertionError(f"`make dev` never logged {text!r}:\n{tail}")


def burst() -> Counter[str]:
    """CLIENTS threads at once, each CALLS_EACH calls to a callable that writes (a trigger too)."""
    helper = ec.sign_in("helper1@homepro.test")

    def client(i: int) -> list[str]:
        outcomes = []
        for j in range(CALLS_EACH):
            try:
                ec.call("set_availability", {"isAvailable": (i + j) % 2 == 0}, helper.id_token)
                outcomes.append("ok")
            except (ec.CallError, OSError) as err:
                outcomes.append(type(err).__name__)
        return outcomes

    with ThreadPoolExecutor(CLIENTS) as pool:
        return Counter(o for outcomes in pool.map(client, range(CLIENTS)) for o in outcomes)


@pytest.mark.parametrize("presses", [2, 1], ids=["ctrl-c-twice", "ctrl-c-once"])
def test_ctrl_c_after_a_burst_leaves_no_process(presses: int) -> None:
    # Under the pipeline's own id, so that the pipeline can end this stack too if the test is
    # itself interrupted before its cleanup runs.
    parent = os.environ.get("HOMEPRO_STACK_ID", "")
    marker = f"{parent}/stop-leaves-nothing-{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(
        HOMEPRO_STACK_ID=marker,
        HOMEPRO_EMULATORS=EMULATORS,
        HOMEPRO_TICKER="0",
    )
    LOG.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with LOG.open("wb") as out:
        # Its own session, as a terminal's foreground job: Ctrl-C reaches make and stack.py.
        dev = subprocess.Popen(
            ["make", "--no-print-directory", "dev"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_log(READY, dev, timeout=240)
        ready = time.monotonic()
        before = wrappers(marked(marker))
        outcomes = burst()
        during = marked(marker)
        workers = wrappers(during) - before  # emulator workers the burst itself started
        print(
            f"\n[stop-leaves-nothing] stack up in {ready - started:.0f} s; burst of "
            f"{CLIENTS} clients x {CALLS_EACH} calls in {time.monotonic() - ready:.1f} s "
            f"({dict(outcomes)})\n"
            f"[stop-leaves-nothing] processes of the stack after the burst: {len(during)} "
            f"({counts(during)})"
        )
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C
        wait_for_log("[stack] stopping", dev, timeout=30)
        if presses == 2:
            # Ctrl-C again, the moment the stack starts stopping its emulators
            wait_for_log("stopping the emulators", dev, timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dev.pid, signal.SIGINT)
        stopping = time.monotonic()
        dev.wait(timeout=120)
        left = marked(marker)
        print(
            f"[stop-leaves-nothing] Ctrl-C x{presses}: `make dev` exited {dev.returncode} "
            f"{time.monotonic() - stopping:.1f} s after the last Ctrl-C; processes of the "
            f"stack left: {len(left)} ({counts(left)}); total {time.monotonic() - started:.0f} s"
        )
        for pid, line in sorted(left.items()):
            print(f"[stop-leaves-nothing]   left: {pid} {line[:160]}")
    finally:
        if dev.poll() is None:  # interrupted or failed early: stop it the same way, then kill
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dev.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                dev.wait(timeout=60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
        end_all(marker)
    assert outcomes["ok"] > 0, f"the burst's calls failed: {dict(outcomes)}"
    assert workers >= 2, f"the burst should have made the emulator start several workers: {during}"
    if presses == 2:  # the second Ctrl-C landed while the stack was stopping
        assert "again: killing what is left" in LOG.read_text(errors="replace")
    assert not left, f"{len(left)} processes of the stack left after Ctrl-C x{presses}"
