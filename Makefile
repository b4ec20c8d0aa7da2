# HomePro Assist: the two commands, and a few helpers. Everything installs itself on first use.
PY ?= python3
STACK = $(PY) tools/stack.py

.PHONY: dev test unit lint setup set-role report demo-traffic simulate bench-report bench-trigger bench-dispatch bench-sweep importtime clean

dev:            ## the whole local stack, demo data, the ticker; Ctrl-C stops everything
	$(STACK) dev

test:           ## lint, unit tests, then integration tests on the emulator suite (ticker off)
	$(STACK) test

setup:          ## install everything, start nothing
	$(STACK) setup

lint: setup     ## ruff and mypy
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

unit: setup     ## unit tests only (no emulators)
	PYTHONPATH=functions .venv/bin/python -m pytest -q tests/unit

set-role:       ## make set-role EMAIL=someone@example.com ROLE=helper  (on the running local stack)
	@test -n "$(EMAIL)" -a -n "$(ROLE)" || { echo "usage: make set-role EMAIL=... ROLE=customer|helper|admin"; exit 2; }
	$(STACK) exec -- .venv/bin/python tools/set_role.py "$(EMAIL)" "$(ROLE)"

report:         ## the dispatch KPIs of the running `make dev` stack (ARGS="--since … --until … --json")
	$(STACK) exec -- .venv/bin/python tools/report.py $(ARGS)

demo-traffic:   ## real requests through the callables of the running `make dev` stack (ARGS="--minutes 40")
	$(STACK) exec -- .venv/bin/python tools/demo_traffic.py $(ARGS)

simulate: setup  ## a simulated marketplace day per scenario, seed vs product policy (ARGS="--help")
	PYTHONPATH=functions:tests:tools .venv/bin/python tools/simulate.py $(ARGS)

bench-trigger: setup  ## latency from a Firestore write to the trigger's effect, cold and warm
	$(STACK) run -- .venv/bin/python tools/bench_trigger_latency.py 30

bench-dispatch: setup  ## dispatch round throughput and latency vs the seed's approach (FCM at 50 ms)
	HOMEPRO_FCM_DELAY_MS=50 $(STACK) run -- .venv/bin/python tools/bench_dispatch.py

bench-sweep: setup  ## expiring 10,000 stale requests vs the seed loop; paced and unpaced releases
	HOMEPRO_EMULATORS=firestore $(STACK) run -- .venv/bin/python tools/bench_sweep.py

bench-report: setup  ## dispatch_report over a day of 5,000 requests on the Firestore emulator
	HOMEPRO_EMULATORS=firestore $(STACK) run -- .venv/bin/python tools/bench_report.py

importtime: setup  ## cold-start import cost of functions/main.py
	cd functions && venv/bin/python -X importtime -c "import main" 2>&1 | tail -1

clean:          ## remove installed tools and caches (not the lock files)
	rm -rf .venv functions/venv node_modules .cache
