"""What the stack tells its user: progress lines and fatal errors."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def _say(line: str, stream: TextIO) -> None:
    """Write a line; a reader that went away (`| tee` killed by the same Ctrl-C, a closed
    terminal) never stops the stack from stopping: later lines go nowhere."""
    try:
        print(line, file=stream, flush=True)
    except (OSError, ValueError):
        devnull = open(os.devnull, "w")  # noqa: SIM115 (kept open for the process's life)
        sys.stdout = sys.stderr = devnull


def log(message: str) -> None:
    _say(f"[stack] {message}", sys.stdout)


def fail(message: str) -> None:
    _say(f"[stack] ERROR: {message}", sys.stderr)
    raise SystemExit(2)


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])
