# HomePro Assist: the two commands, and a few helpers. Everything installs itself on first use.
PY ?= python3
STACK = $(PY) tools/stack.py
# The functions package and the tools, importable by name (nothing edits sys.path).
PYTHONPATH_TOOLS = PYTHONPATH=$(CURDIR)/functions:$(CURDIR)/tools

.PHONY: dev test lint unit discovery integration rules e2e stack-hygiene setup set-role report demo-traffic simulate bench-report bench-trigger bench-dispatch bench-sweep bench-stripe-budget bench-timers importtime clean

dev:            ## the whole local stack, demo data, the ticker; Ctrl-C stops everything
	$(STACK) dev

test:           ## every step below in order; the emulator steps share one stack (ticker off)
	$(STACK) test

lint:           ## ruff check, ruff format --check, mypy, the web client's typecheck
	$(STACK) test lint

unit:           ## unit tests (no emulators)
	$(STACK) test unit

discovery:      ## firebase-tools' own discovery finds exactly the contract's functions
	$(STACK) test discovery

integration:    ## integration tests on a stack of their own
	$(STACK) test integration

rules:          ## the security-rules matrix and its allow-all control, on a stack of their own
	$(STACK) test rules

e2e:            ## browser tests (Playwright, Debian's chromium) on a stack of their own
	$(STACK) test e2e

stack-hygiene:  ## Ctrl-C twice on `make dev` after a burst of calls leaves no process (own stack)
	$(STACK) test stack-hygiene

setup:          ## install everything, start nothing
	$(STACK) setup

set-role:       ## make set-role EMAIL=someone@example.com ROLE=helper  (on the running local stack)
	@test -n "$(EMAIL)" -a -n "$(ROLE)" || { echo "usage: make set-role EMAIL=... ROLE=customer|helper|admin"; exit 2; }
	$(STACK) exec -- .venv/bin/python tools/set_role.py "$(EMAIL)" "$(ROLE)"

report:         ## the dispatch KPIs of the running `make dev` stack (ARGS="--since … --until … --json")
	$(STACK) exec -- .venv/bin/python tools/report.py $(ARGS)

demo-traffic:   ## real requests through the callables of the running `make dev` stack (ARGS="--minutes 40")
	$(STACK) exec -- .venv/bin/python tools/demo_traffic.py $(ARGS)

simulate: setup  ## a simulated marketplace day per scenario, seed vs product policy (ARGS="--help")
	$(PYTHONPATH_TOOLS) .venv/bin/python tools/simulate.py $(ARGS)

bench-trigger: setup  ## latency from a Firestore write to the trigger's effect, cold and warm
	$(STACK) run -- .venv/bin/python tools/bench_trigger_latency.py 30

bench-dispatch: setup  ## a round at 1k/10k/50k helpers: latency, reads, writes, largest directory doc; broadcast beside
	HOMEPRO_FCM_DELAY_MS=50 HOMEPRO_EMULATORS=firestore $(STACK) run -- .venv/bin/python tools/bench_dispatch.py

bench-sweep: setup  ## expiring 10,000 stale requests vs the seed loop; paced and unpaced releases
	HOMEPRO_EMULATORS=firestore $(STACK) run -- .venv/bin/python tools/bench_sweep.py

bench-timers: setup  ## a deadline done by its timer task (cold, warm) vs the sweep's bound (60 s + its run)
	$(STACK) run -- .venv/bin/python tools/bench_timers.py 30 2000

bench-stripe-budget: setup  ## one Stripe budget: 600 expiries + 16 clients, a worker killed; calls/s at localstripe
	HOMEPRO_STACK_FAULTS=1 $(STACK) run -- .venv/bin/python tools/bench_stripe_budget.py

bench-report: setup  ## dispatch_report over a day of 5,000 requests on the Firestore emulator
	HOMEPRO_EMULATORS=firestore $(STACK) run -- .venv/bin/python tools/bench_report.py

importtime: setup  ## cold-start import cost of functions/main.py
	cd functions && venv/bin/python -X importtime -c "import main" 2>&1 | tail -1

clean:          ## remove installed tools and caches (not the lock files)
	rm -rf .venv functions/venv node_modules .cache
