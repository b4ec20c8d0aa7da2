"""`make dev`'s banner lists every emulator firebase.json starts, the Tasks emulator among them
(issue 16 item 6), and the stand-ins."""

import json

from emulator_stack.environment import PORTS, ROOT, banner


def test_the_banner_lists_the_tasks_emulator_and_every_port():
    lines = banner()
    assert "Cloud Tasks           http://127.0.0.1:9499" in lines
    emulators = json.loads((ROOT / "firebase.json").read_text())["emulators"]
    ports = {s["port"] for s in emulators.values() if isinstance(s, dict) and "port" in s}
    for port in ports | set(PORTS.values()):
        assert any(line.endswith(f":{port}") for line in lines), port
