"""What the stack tells its user: progress lines and fatal errors."""

from __future__ import annotations

import sys


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[stack] ERROR: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])
