#!/usr/bin/env python3
"""The local stack's command line (standard library only; the work is in `emulator_stack/`).

    python3 tools/stack.py setup   # install everything, start nothing
    python3 tools/stack.py dev     # the whole stack, demo data, the ticker; Ctrl-C stops it
    python3 tools/stack.py test [STEP ...] [-- PYTEST_ARGS]
        # every step in order, or only those named: lint unit discovery (no emulators),
        # integration rules e2e (on one stack, ticker off), stack-hygiene (a stack of its own)
    python3 tools/stack.py run -- CMD ...   # CMD with the stack up (ticker off), then stop
    python3 tools/stack.py exec -- CMD ...  # CMD in the stack's environment (stack already up)

Ctrl-C stops the stack; a second Ctrl-C while it stops kills what is left at once. Either way
no process of the stack outlives the command.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time

from emulator_stack.console import log
from emulator_stack.environment import ROOT, TOOLS_VENV, banner, stack_env
from emulator_stack.install import setup
from emulator_stack.pipeline import STEPS, run_tests
from emulator_stack.running import handle_interrupts, running_stack, ticker


def cmd_setup(_: argparse.Namespace) -> int:
    setup()
    return 0


def cmd_dev(_: argparse.Namespace) -> int:
    os.environ.setdefault("HOMEPRO_STACK_FAULTS", "0")  # never armed in `make dev`
    env = setup()
    with running_stack(env, "dev") as stack:
        seed = [str(TOOLS_VENV / "bin/python"), "tools/seed.py"]
        subprocess.run(seed, cwd=ROOT, env=stack.env, check=True)
        stop = threading.Event()
        if env.get("HOMEPRO_TICKER", "1") != "0":
            threading.Thread(target=ticker, args=(stop,), daemon=True).start()
            log("ticker: the two sweeps run every minute (HOMEPRO_TICKER=0 turns it off)")
        for line in banner():
            log(line)
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
    # the test stack's functions may be armed with faults (functions/.env.local); dev and run
    # not. Only the Functions emulator sees HOMEPRO_FAULTS: unit tests never reach a token.
    os.environ.setdefault("HOMEPRO_STACK_FAULTS", "1")
    unknown = [name for name in args.steps if name not in STEPS]
    if unknown:
        log(f"unknown step {', '.join(unknown)}: the steps are {', '.join(STEPS)}")
        return 2
    return run_tests(args.steps, args.pytest)


def command(args: argparse.Namespace) -> list[str]:
    return list(args.command[1:] if args.command[:1] == ["--"] else args.command)


def cmd_run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HOMEPRO_STACK_FAULTS", "0")  # benchmarks run unarmed unless told
    env = {**setup(), "HOMEPRO_TICKER": "0"}
    with running_stack(env, "run") as stack:
        return subprocess.run(command(args), cwd=ROOT, env=stack.env).returncode


def cmd_exec(args: argparse.Namespace) -> int:
    """CMD with the stack's environment, against a stack that is already running (make dev)."""
    return subprocess.run(command(args), cwd=ROOT, env=stack_env()).returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("setup").set_defaults(func=cmd_setup)
    sub.add_parser("dev").set_defaults(func=cmd_dev)
    test = sub.add_parser("test")
    test.add_argument("steps", nargs="*", help=f"some of: {' '.join(STEPS)} (default: all)")
    test.set_defaults(func=cmd_test)
    runp = sub.add_parser("run")
    runp.add_argument("command", nargs=argparse.REMAINDER)
    runp.set_defaults(func=cmd_run)
    execp = sub.add_parser("exec")
    execp.add_argument("command", nargs=argparse.REMAINDER)
    execp.set_defaults(func=cmd_exec)
    pytest: list[str] = []
    if argv[:1] == ["test"] and "--" in argv:  # what follows `--` goes to pytest
        argv, pytest = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    args = parser.parse_args(argv)
    args.pytest = pytest
    handle_interrupts()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
