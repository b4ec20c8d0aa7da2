"""Installing what is missing: node_modules, the two venvs, the web build, Chromium, and the
Cloud Firestore emulator."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

from .console import fail, log
from .environment import (
    CACHE,
    FUNCTIONS_VENV,
    ROOT,
    TOOLS_VENV,
    stack_env,
    write_function_env,
)

SHIPPED_FIRESTORE_JAR = Path(
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
)
FIRESTORE_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
CHROMIUM = Path("/usr/bin/chromium")


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def up_to_date(stamp: Path, value: str) -> bool:
    return stamp.exists() and stamp.read_text() == value


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
