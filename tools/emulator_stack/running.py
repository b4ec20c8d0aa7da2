"""The running stack: the emulator suite and the stand-ins, started, ticked, and stopped whole."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from .console import fail, log, tail
from .environment import (
    CACHE,
    PORTS,
    PROJECT,
    REGION,
    ROOT,
    STACK_ID,
    TOOLS_VENV,
    TRIGGER_BASE,
    emulator_ports,
)

# The outside services' local stand-ins: (name, script, the port that says it is up).
STANDINS = (
    ("standins", "tools/standins.py", "fcm"),
    ("localstripe", "tools/localstripe_server.py", "stripe"),
)
SWEEPS = ("sweep_stale_requests", "sweep_stale_claims")
# How long stopping waits, at most, before it stops asking.
EMULATORS_SHUTDOWN_S = 30.0
TERMINATE_S = 5.0
KILL_S = 15.0


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Process:
    """One line of the process table, as /proc tells it."""

    pid: int
    ppid: int
    pgid: int
    state: str


def process_table() -> dict[int, Process]:
    table: dict[int, Process] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(proc.name)
        table[pid] = Process(pid, int(fields[1]), int(fields[2]), fields[0])
    return table


def carries(pid: int, entry: bytes) -> bool:
    """Whether the process's environment holds `entry` (NAME=value) exactly."""
    try:
        return entry in (Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"))
    except OSError:
        return False


def end_marked_below(stack_id: str) -> int:
    """SIGKILL every live process marked with a stack id below `stack_id` (`{stack_id}/…`),
    never this process or its ancestors; how many there were."""
    prefix = f"{STACK_ID}={stack_id}/".encode()
    ended: set[int] = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        table = process_table()
        mine = ancestry(table)
        found = set()
        for pid, proc in table.items():
            if pid in mine or proc.state == "Z":
                continue
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(entry.startswith(prefix) for entry in environ):
                found.add(pid)
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        ended |= found
        time.sleep(0.1)
    return len(ended)


def ancestry(table: dict[int, Process]) -> set[int]:
    """This process and every one above it: never part of what a stop ends."""
    found: set[int] = set()
    pid = os.getpid()
    while pid > 0 and pid not in found:
        found.add(pid)
        pid = table[pid].ppid if pid in table else 0
    return found


def descendants(roots: set[int], table: dict[int, Process]) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


# Ctrl-C, SIGTERM and SIGHUP: the first one stops the stack; any further one, or one that comes
# while a stack is stopping, only hurries the stop (kill at once) instead of aborting it.
INTERRUPTED = threading.Event()
STOPPING = threading.Event()
HURRY = threading.Event()


def on_interrupt(signum: int, _frame: FrameType | None) -> None:
    """The first interrupt raises KeyboardInterrupt (the stack stops on the way out); later
    ones, and any during a stop, make the stop kill what is left at once."""
    if INTERRUPTED.is_set() or STOPPING.is_set():
        if not HURRY.is_set():
            log(f"{signal.Signals(signum).name} again: killing what is left of the stack at once")
        INTERRUPTED.set()
        HURRY.set()
        return
    INTERRUPTED.set()
    raise KeyboardInterrupt


def handle_interrupts() -> None:
    """Install `on_interrupt` (also when started from a shell that ignores SIGINT; but a
    `nohup` that ignores SIGHUP is kept)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        signal.signal(sig, on_interrupt)


def wait_until(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if HURRY.is_set() or time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Stack:
    """The emulator suite and the stand-ins, each in a session of its own, every process marked
    with the stack's id; stopping ends every marked process, whatever became of its parent."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        outer = env.get(STACK_ID)
        self.id = f"{outer}/{uuid.uuid4().hex}" if outer else uuid.uuid4().hex
        self.env = {**env, STACK_ID: self.id}  # commands run on the stack are marked too
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.standins: list[subprocess.Popen[bytes]] = []
        self.left: list[int] = []

    def start(self, timeout: float = 180.0) -> None:
        busy = [name for name, port in emulator_ports().items() if port_open(port)]
        if busy:
            fail(f"ports already in use ({', '.join(busy)}): is another stack running?")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for name, script, _ in STANDINS:
            out = self.log_path.with_name(self.log_path.name.replace("emulators", name))
            self.standins.append(
                subprocess.Popen(
                    [str(TOOLS_VENV / "bin/python"), str(ROOT / script)],
                    cwd=ROOT,
                    env=self.env,
                    stdout=out.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        log_file = self.log_path.open("wb")
        cmd = [
            str(ROOT / "node_modules/.bin/firebase"),
            "emulators:start",
            "--only",
            self.env.get("HOMEPRO_EMULATORS", "firestore,auth,functions,hosting"),
            "--project",
            PROJECT,
        ]
        started = time.monotonic()
        log(f"starting the emulator suite (log: {self.log_path.relative_to(ROOT)})")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while time.monotonic() - started < timeout:
            text = self.log_path.read_text(errors="replace")
            if "Failed to load function definition" in text or "Error:" in text:
                self.stop()
                fail(f"the emulator suite failed to start:\n{tail(text)}")
            if self.proc.poll() is not None:
                self.stop()
                fail(f"the emulator suite exited early:\n{tail(text)}")
            standins_up = all(port_open(PORTS[port]) for *_, port in STANDINS)
            others_up = port_open(PORTS["twilio"]) and port_open(PORTS["video"])
            if "All emulators ready" in text and standins_up and others_up:
                log(f"emulators ready in {time.monotonic() - started:.1f} s")
                return
            time.sleep(0.25)
        self.stop()
        fail(
            f"the emulator suite was not ready after {timeout:.0f} s:\n"
            + tail(self.log_path.read_text())
        )

    def processes(self) -> set[int]:
        """Every live process of this stack: marked with its id, or in one of its sessions'
        groups, or below one of the processes it started (never this one or its ancestors)."""
        table = process_table()
        leaders = {p.pid for p in (self.proc, *self.standins) if p is not None}
        entry = f"{STACK_ID}={self.id}".encode()
        found = {pid for pid, proc in table.items() if proc.pgid in leaders}
        found |= descendants(leaders, table)
        found |= {pid for pid in table if carries(pid, entry)}
        return {pid for pid in found - ancestry(table) if pid in table and table[pid].state != "Z"}

    def stop(self) -> None:
        """Ask firebase-tools to shut its emulators down, then end whatever is left: SIGTERM,
        then SIGKILL until nothing of the stack is alive. Ctrl-C meanwhile skips the waits."""
        STOPPING.set()
        try:
            started = time.monotonic()
            seen: set[int] = set()
            if self.proc is not None and self.proc.poll() is None:
                log("stopping the emulators (Ctrl-C again to kill them at once)")
                seen |= self.processes()
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGINT)
                proc = self.proc
                wait_until(lambda: proc.poll() is not None, EMULATORS_SHUTDOWN_S)
            left = self.processes()
            seen |= left
            self._signal(left, signal.SIGTERM)
            wait_until(lambda: not self.processes(), TERMINATE_S)
            deadline = time.monotonic() + KILL_S
            while (left := self.processes()) and time.monotonic() < deadline:
                seen |= left
                self._signal(left, signal.SIGKILL)
                self._reap()
                time.sleep(0.1)
            self._reap()
        finally:
            STOPPING.clear()
        if self.proc is None and not seen:
            return
        self.proc, self.standins = None, []
        self.left = sorted(left)
        if left:
            lines = "\n".join(f"  {pid} {command_line(pid)[:160]}" for pid in self.left)
            log(f"ERROR: {len(left)} processes of the stack are still alive:\n{lines}")
        else:
            log(
                f"stack stopped in {time.monotonic() - started:.1f} s: {len(seen)} processes "
                "ended, none left"
            )

    def _signal(self, pids: set[int], sig: signal.Signals) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def _reap(self) -> None:
        for proc in (self.proc, *self.standins):
            if proc is not None:
                proc.poll()


@contextlib.contextmanager
def running_stack(env: dict[str, str], name: str) -> Iterator[Stack]:
    """A started stack, stopped on the way out however that happens (Ctrl-C, SIGTERM, error)."""
    stack = Stack(env, CACHE / "logs" / f"{name}-emulators.log")
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
    if INTERRUPTED.is_set():  # Ctrl-C while a finished run was stopping: still interrupted
        raise KeyboardInterrupt


def call_sweeps() -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for name in SWEEPS:
        req = urllib.request.Request(
            f"{TRIGGER_BASE}/{REGION}-{name}-0",
            data=b"",
            method="POST",
            headers={
                "X-CloudScheduler-JobName": f"local-{name}",
                "X-CloudScheduler-ScheduleTime": stamp,
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=540) as resp:
                resp.read()
        except (urllib.error.URLError, OSError) as err:
            log(f"ticker: {name} failed: {err}")


def ticker(stop: threading.Event) -> None:
    """The scheduled sweeps, every minute: the emulator never fires scheduled functions."""
    while not stop.wait(60):
        call_sweeps()
