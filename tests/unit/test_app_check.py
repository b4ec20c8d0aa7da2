"""App Check: every callable refuses a call without an App Check token unless the deployment
turns it off (`ENFORCE_APP_CHECK=false`, as the local stack does: the emulators cannot mint
tokens offline). Each mode imports functions/main.py afresh, in a process of its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
PROBE = """
import json
import main
from flask import Flask, request

app, answers = Flask("probe"), {}
for name in dir(main):
    endpoint = getattr(getattr(main, name), "__firebase_endpoint__", None)
    if endpoint is not None and getattr(endpoint, "callableTrigger", None) is not None:
        with app.test_request_context("/", method="POST", json={"data": {}}):
            response = getattr(main, name)(request)
        answers[name] = json.loads(response.get_data())["error"]["message"]
print(json.dumps(answers))
"""


def answers_without_app_check(**env: str) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"FUNCTIONS_EMULATOR", "ENFORCE_APP_CHECK"}
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=FUNCTIONS,
        env={**clean, "PYTHONPATH": str(FUNCTIONS), "GCLOUD_PROJECT": "demo-app-check", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_callable_refuses_a_call_without_an_app_check_token_by_default():
    answers = answers_without_app_check()
    assert len(answers) >= 10  # every callable of the contract
    assert set(answers.values()) == {"Unauthenticated"}  # refused before our code runs


def test_the_local_stack_turns_it_off_and_our_own_checks_answer():
    answers = answers_without_app_check(ENFORCE_APP_CHECK="false")
    assert set(answers.values()) == {"sign in first"}
