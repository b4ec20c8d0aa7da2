"""Logging at the edge: the services log with the standard `logging` module and structured
fields (`log.info("round sent", extra={"request_id": …})`); `install()` writes each record as
one line of Cloud Logging's structured JSON (severity, message, the fields). A simulation or a
test attaches its own handler to the `homepro` logger instead."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

LOGGER = "homepro"
# The attributes every LogRecord has: anything else on a record came from `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was logged with."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class CloudLoggingHandler(logging.Handler):
    """One JSON object per line: Cloud Functions (Cloud Run) turns each into a structured
    entry with its severity. Warnings and worse go to stderr, the rest to stdout."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        super().__init__()
        self._out, self._err = out, err

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry: dict[str, Any] = {
                "severity": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                **fields_of(record),
            }
            if record.exc_info:
                # the field Error Reporting reads a stack trace from
                entry["stack_trace"] = logging.Formatter().formatException(record.exc_info)
            stream = (self._err or sys.stderr) if record.levelno >= logging.WARNING else None
            stream = stream or self._out or sys.stdout
            stream.write(json.dumps(entry, default=str) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def install(level: int = logging.INFO) -> None:
    """Send the `homepro` logger's records to Cloud Logging (once per process)."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(h, CloudLoggingHandler) for h in logger.handlers):
        logger.addHandler(CloudLoggingHandler())
    logger.setLevel(level)
    logger.propagate = False
