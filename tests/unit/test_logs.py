"""Logging: the services log with the standard library; one handler writes Cloud Logging's JSON;
the simulation counts errors with a handler of its own."""

from __future__ import annotations

import io
import json
import logging

from homepro import logs
from marketsim import engine


def test_a_record_becomes_one_json_line_with_severity_message_and_fields():
    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("homepro.test-logs")
    handler = logs.CloudLoggingHandler(out, err)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("round sent", extra={"request_id": "r1", "round": "initial", "sent": 3})
        logger.warning("sweep skipped a request", extra={"request_id": "r2"})
    finally:
        logger.removeHandler(handler)
    info = json.loads(out.getvalue())
    assert info == {
        "severity": "INFO",
        "message": "round sent",
        "logger": "homepro.test-logs",
        "request_id": "r1",
        "round": "initial",
        "sent": 3,
    }
    warning = json.loads(err.getvalue())  # warnings and worse go to stderr
    assert (warning["severity"], warning["request_id"]) == ("WARNING", "r2")


def test_install_adds_the_handler_once():
    logger = logging.getLogger(logs.LOGGER)
    saved = logger.handlers[:], logger.propagate, logger.level
    try:
        logs.install()
        logs.install()
        assert sum(isinstance(h, logs.CloudLoggingHandler) for h in logger.handlers) == 1
        assert not logger.propagate
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def test_an_exception_is_logged_with_its_stack_trace():
    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("homepro.test-logs-exc")
    handler = logs.CloudLoggingHandler(out, err)
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("callable failed", extra={"request_id": "r1"})
    finally:
        logger.removeHandler(handler)
    entry = json.loads(err.getvalue())
    assert entry["severity"] == "ERROR" and "ValueError: boom" in entry["stack_trace"]


def test_the_simulation_counts_the_services_errors_and_prints_nothing(capsys):
    with engine._counting_errors() as errors:
        logging.getLogger("homepro.services.sweeps").error("sweep failed on a request")
        logging.getLogger("homepro.services.sweeps").warning("sweep skipped a request")
    assert errors.count == 1
    assert capsys.readouterr() == ("", "")
