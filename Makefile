# fleetform: `make demo` runs the main job on the local lab, `make test` runs the whole suite.
# Both install what they need (apt packages, a Python venv, dockerd, the lab).

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
FLEETFORM := $(VENV)/bin/fleetform
PYINFRA := $(VENV)/bin/pyinfra
LAB_HOSTS ?= 3
APT_PACKAGES := docker.io debootstrap busybox-static openssh-client openssl ca-certificates age git

.PHONY: demo test test-unit test-e2e lint deps apt venv engine-local lab lab-down bench clean

demo: deps engine-local lab
	$(FLEETFORM) validate stacks/*.yml
	$(FLEETFORM) apply -i inventory/lab.py stacks/demo.yml --yes
	$(FLEETFORM) plan -i inventory/lab.py stacks/demo.yml
	$(FLEETFORM) verify -i inventory/lab.py stacks/demo.yml
	$(FLEETFORM) lab status

# The suite leaves nothing running: the lab it used is removed at the end
# (its cached images stay), and so is the dockerd it started, if it did.
test: deps lint
	@if docker info >/dev/null 2>&1; then started=0; else started=1; fi; \
	$(MAKE) --no-print-directory engine-local || exit 1; \
	$(VENV)/bin/pytest -q -ra tests; rc=$$?; \
	$(FLEETFORM) lab down || rc=1; \
	if [ $$started = 1 ]; then \
	  echo "stopping the dockerd this run started"; \
	  start-stop-daemon --stop --quiet --oknodo --retry TERM/30/KILL/5 --pidfile /run/dockerd.pid; \
	fi; \
	exit $$rc

test-unit: venv
	$(VENV)/bin/pytest -q -m "not e2e" tests

lint: venv
	$(VENV)/bin/ruff check src tests deploys inventory bench
	$(VENV)/bin/ruff format --check src tests deploys inventory bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

deps: apt venv

# apt packages the lab and the control-machine engine need (age: keys for the SOPS tests);
# idempotent and quiet.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $@

# Make sure a Docker engine answers on /var/run/docker.sock, using fleetform's
# own engine deploy against @local (it picks a supervised background start
# where no init system can run dockerd).
engine-local: deps
	@docker info >/dev/null 2>&1 || $(PYINFRA) -y @local deploys/engine.py
	@docker info --format 'docker engine {{.ServerVersion}} answers on /var/run/docker.sock'

lab: engine-local
	$(FLEETFORM) lab up --hosts $(LAB_HOSTS)

lab-down: venv
	$(FLEETFORM) lab down

bench: deps engine-local
	$(PY) -m bench --out docs/benchmarks.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
