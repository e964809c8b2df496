# Day-to-day commands. `make help` lists them. Everything runs from a local
# virtual environment (.venv) installed from the hash-locked requirements.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
SCAN_VENV := .venv-scan
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)
# .env (a copy of .env.example) is where a user sets ports and images: make
# reads it too, so `make run`/`make up` and compose agree on them.
-include .env

DASHBOARD_PORT ?= 8501
API_PORT ?= 8000
# true: `make run` and `make up` also load the reference app's demo orders.
DEMO_DATA ?= false
PYTEST_ARGS ?=

.PHONY: help run test test-deps lint format lock docs clean smoke loadtest migration

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# .venv may be a link to a virtual environment elsewhere (tests/pipeline links
# this checkout's into its clones); venv refuses a link, so it gets the target.
$(VENV)/.app: requirements/app.txt
	$(PYTHON) -m venv "$$(readlink -f $(VENV))"
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/app.txt
	touch $@

$(VENV)/.dev: requirements/dev.txt $(VENV)/.app
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	touch $@

$(SCAN_VENV)/.scan: requirements/scan.txt
	$(PYTHON) -m venv "$$(readlink -f $(SCAN_VENV))"
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/scan.txt
	touch $@

run: $(VENV)/.app ## run dashboard + API on an embedded SQLite file (localhost; DEMO_DATA=true: demo orders)
	DASHBOARD_PORT=$(DASHBOARD_PORT) API_PORT=$(API_PORT) DEMO_DATA=$(DEMO_DATA) VENV=$(VENV) \
	  scripts/run-local.sh

test-deps: $(VENV)/.dev $(SCAN_VENV)/.scan ## the tests' Python packages (programs: scripts/install-test-deps.sh --help)

test: $(VENV)/.dev $(SCAN_VENV)/.scan ## run every test layer (CI=true turns missing tools into failures)
	PATH="$(CURDIR)/$(SCAN_VENV)/bin:$$PATH" $(BIN)/pytest $(PYTEST_ARGS)

# actionlint and helm are Go programs: scripts/install-test-deps.sh links them here.
TOOLS_BIN := $(CURDIR)/.tools/bin
LINT_PATH := $(CURDIR)/$(SCAN_VENV)/bin:$(TOOLS_BIN):$$PATH
CHART_DIR := helm/streamlit-app

lint: $(VENV)/.dev $(SCAN_VENV)/.scan ## ruff, shellcheck, hadolint, actionlint, zizmor, helm lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(SCAN_VENV)/bin/shellcheck .ci/run $$(git ls-files '*.sh')
	$(SCAN_VENV)/bin/hadolint --failure-threshold style docker/Dockerfile docker/certbot/Dockerfile docker/standins/*/Containerfile
	@for tool in actionlint helm; do PATH="$(LINT_PATH)" command -v $$tool >/dev/null || \
	  { echo "make lint: $$tool not found; build it with scripts/install-test-deps.sh --lint-tools"; exit 2; }; done
	PATH="$(LINT_PATH)" actionlint -no-color
	$(SCAN_VENV)/bin/zizmor --offline --no-progress .github
	@# files/ holds symlinks to the one copy of each config; helm logs each at INFO.
	for values in $(CHART_DIR)/ci/*-values.yaml; do \
	  PATH="$(LINT_PATH)" helm lint --strict --quiet $(CHART_DIR) --values "$$values" 2>&1 \
	  | { grep -v 'found symbolic link in path' || true; }; done

format: $(VENV)/.dev ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: $(VENV)/.dev ## re-compile the hash-locked requirements from pyproject.toml
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/lock.sh

MIGRATIONS := app/core/migrations/versions

migration: $(VENV)/.app ## a new Alembic revision from your tables' changes: make migration MESSAGE="add notes"
	@test -n "$(MESSAGE)" || { echo 'make migration: say what it does, e.g. make migration MESSAGE="add notes"'; exit 2; }
	$(BIN)/python -m app.core revision --message "$(MESSAGE)"
	@# Alembic writes in its own style; make lint's ruff (in the dev tools) makes it ours.
	if [ -x $(BIN)/ruff ]; then $(BIN)/ruff format --quiet $(MIGRATIONS) && \
	  $(BIN)/ruff check --fix --quiet $(MIGRATIONS); fi

docs: $(VENV)/.dev ## docs/reliability.md's tables from the last test run's measurements (test-artifacts/)
	$(BIN)/python -m tests.support.reliability

clean: ## remove virtual environments, caches and the local SQLite data
	rm -rf $(VENV) $(SCAN_VENV) data .pytest_cache .ruff_cache

# --- containers: docker when its daemon answers, else podman -----------------
CONTAINER_ENGINE ?= $(shell if docker info >/dev/null 2>&1; then echo docker; \
  elif command -v podman >/dev/null 2>&1; then echo podman; else echo docker; fi)
# Images are tagged with the commit they are built from (-dirty when the tree
# has uncommitted changes: such an image is not reproducible).
GIT_SHA := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
IMAGE_REPOSITORY ?= localhost/streamlit-template
IMAGE_TAG ?= $(GIT_SHA)
IMAGE ?= $(IMAGE_REPOSITORY):$(IMAGE_TAG)
PYTHON_IMAGE ?=
# Extra build options, e.g. sandboxed CI: --network host -v /etc/ssl/certs:/etc/ssl/certs:ro
BUILD_FLAGS ?=
HTTP_PORT ?= 8080
IDP_PORT ?= 9400
PUBLIC_URL ?= http://localhost:$(HTTP_PORT)
# How long `make up` waits for every service to be healthy, in seconds.
UP_TIMEOUT ?= 600
# `make down DOWN_FLAGS=--volumes` also deletes the database volume.
DOWN_FLAGS ?=
# The stack on top of compose.yaml: dev (compose.override.yaml: a local provider,
# plain HTTP on loopback) or production (compose.production.yaml: HTTPS with an
# ACME certificate, your provider; docker/README.md). STACK=production in .env
# makes every make up/down/logs use it.
STACK ?= dev
STACK_FILE := docker/compose.$(if $(filter production,$(STACK)),production,override).yaml
COMPOSE_FILES := -f docker/compose.yaml -f $(STACK_FILE) $(if $(wildcard .env),--env-file .env)
# What the compose files substitute (see .env.example), as make resolved it.
COMPOSE_ENV = APP_IMAGE=$(IMAGE) HTTP_PORT=$(HTTP_PORT) PUBLIC_URL=$(PUBLIC_URL) DEMO_DATA=$(DEMO_DATA) \
  IDP_PORT=$(IDP_PORT) API_PORT=$(API_PORT) DASHBOARD_PORT=$(DASHBOARD_PORT) \
  $(if $(PYTHON_IMAGE),PYTHON_IMAGE=$(PYTHON_IMAGE))
ifeq ($(CONTAINER_ENGINE),docker)
COMPOSE ?= docker compose
COMPOSE_DEPS :=
UP_FLAGS ?= --detach --build --wait --wait-timeout $(UP_TIMEOUT)
else
# podman-compose from PyPI, hash-locked with the dev tools (docker/README.md says
# why). Docker format keeps the image's HEALTHCHECK, which the services use.
COMPOSE ?= $(BIN)/podman-compose --podman-build-args "--format docker $(BUILD_FLAGS)"
COMPOSE_DEPS := $(VENV)/.dev
UP_FLAGS ?= --detach --build
# Without systemd (containers, CI runners) podman cannot start a health-check
# timer and logs an error for each container; compose-wait.sh runs the checks.
COMPOSE_ENV += $(if $(wildcard /run/systemd/system),,DISABLE_HC_SYSTEMD=true)
endif

.PHONY: image push up down logs secrets deploy standins backup restore

image: ## build the app image (IMAGE=..., PYTHON_IMAGE=... for another base)
	$(CONTAINER_ENGINE) build $(if $(filter podman,$(CONTAINER_ENGINE)),--format docker) \
	  $(if $(PYTHON_IMAGE),--build-arg PYTHON_IMAGE=$(PYTHON_IMAGE)) \
	  $(BUILD_FLAGS) -t $(IMAGE) -f docker/Dockerfile .

# podman, unlike docker, wants TLS from a registry on loopback too (such as the
# local cluster's, cluster/README.md): not from 127.0.0.1:PORT or localhost:PORT.
PUSH_FLAGS := $(if $(and $(filter podman,$(CONTAINER_ENGINE)),$(filter 127.0.0.1:% localhost:%,$(firstword $(subst /, ,$(IMAGE_REPOSITORY))))),--tls-verify=false)

push: ## push IMAGE to its registry (IMAGE_REPOSITORY=ghcr.io/you/app)
	@case "$(IMAGE_REPOSITORY)" in localhost/*) \
	  echo "make push: IMAGE_REPOSITORY=$(IMAGE_REPOSITORY) is local; set it to your registry, e.g. ghcr.io/you/app"; exit 2;; esac
	@case "$(IMAGE_TAG)" in *-dirty) \
	  echo "make push: uncommitted changes ($(IMAGE_TAG)); commit first so the tag names what is inside"; exit 2;; esac
	$(CONTAINER_ENGINE) push $(PUSH_FLAGS) $(IMAGE)

# --- Kubernetes: the chart in helm/streamlit-app -------------------------------
RELEASE ?= streamlit-app
NAMESPACE ?= streamlit-app
VALUES ?=
SMOKE_URL ?=
DRY_RUN ?=
IMAGE_DIGEST ?=
# How long helm waits for the rollout before it rolls back.
DEPLOY_TIMEOUT ?= 10m

deploy: $(VENV)/.dev ## helm upgrade --install the chart, then smoke it (VALUES="a.yaml b.yaml" IMAGE_REPOSITORY=... [SMOKE_URL=...] [DRY_RUN=1])
	$(BIN)/python scripts/deploy.py $(foreach file,$(VALUES),--values "$(file)") \
	  --release "$(RELEASE)" --namespace "$(NAMESPACE)" \
	  --image-repository "$(IMAGE_REPOSITORY)" --image-tag "$(IMAGE_TAG)" \
	  --image-digest "$(IMAGE_DIGEST)" --smoke-url "$(SMOKE_URL)" \
	  --timeout "$(DEPLOY_TIMEOUT)" $(if $(DRY_RUN),--dry-run)

secrets: ## generate local secrets into secrets/ (kept if present)
	scripts/make-secrets.sh

standins: ## build local stand-ins for compose's public images (machines without a registry; podman)
	@scripts/build-standins.sh

up: secrets $(COMPOSE_DEPS) ## start the whole stack (compose) with a dev login (STACK=production: HTTPS, your provider), wait until healthy; prints the URL
ifeq ($(CONTAINER_ENGINE),docker)
	$(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) up $(UP_FLAGS)
else
	@# podman before 4.6 cannot wait for health, so podman-compose ignores
	@# service_healthy: PostgreSQL first (migrate needs it), then the rest, each
	@# time until every container's own health check passes. --no-deps: podman
	@# 4.3 fails to start a container whose --requires chain is already running.
	$(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) up --detach postgres
	scripts/compose-wait.sh $(UP_TIMEOUT) $$($(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) ps --quiet)
	$(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) up $(UP_FLAGS) --no-deps
	scripts/compose-wait.sh $(UP_TIMEOUT) $$($(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) ps --quiet)
endif
	@# Two dashboards (dashboard-1, -2) and the API's workers each hold a pool.
	@$(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) exec -T api python3 -m app.core connections \
	  --processes $$((2 + $(or $(GUNICORN_WORKERS),2)))
	@echo "Open $(PUBLIC_URL) and sign in$(if $(filter production,$(STACK)), with your provider, as dev@example.com (any e-mail works))."

down: $(COMPOSE_DEPS) ## stop the stack (data stays in its volume; DOWN_FLAGS=--volumes wipes it)
	$(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) down $(DOWN_FLAGS)

logs: $(COMPOSE_DEPS) ## follow the stack's logs
	$(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) logs --follow --tail=100

# Backups of the compose database (docker/README.md, "Backups"): one folder per
# backup, named by its UTC time, under BACKUP_DIR.
BACKUP_DIR ?= backups
# make backup BACKUP_KEEP=N also removes all but the N newest backups (0: none removed).
BACKUP_KEEP ?= 0
# The services that write to the database: make restore stops them meanwhile.
DB_WRITERS := api dashboard-1 dashboard-2

backup: $(COMPOSE_DEPS) ## pg_dump the running stack's database to backups/<UTC time>/app.dump (BACKUP_KEEP=N: keep the N newest)
	$(COMPOSE_ENV) scripts/compose-backup.sh backup "$(BACKUP_DIR)" "$(BACKUP_KEEP)" -- $(COMPOSE) $(COMPOSE_FILES)

restore: $(COMPOSE_DEPS) ## restore a backup into the running stack: make restore FILE=backups/<UTC time>/app.dump
	@test -n "$(FILE)" || { echo "make restore: say which backup, e.g. make restore FILE=$(BACKUP_DIR)/20250101T030000Z/app.dump (make backup writes them)"; exit 2; }
	@test -f "$(FILE)" || { echo "make restore: FILE=$(FILE) is not a file; nothing was stopped or restored"; exit 2; }
	$(COMPOSE_ENV) DB_WRITERS="$(DB_WRITERS)" scripts/compose-backup.sh restore "$(FILE)" -- $(COMPOSE) $(COMPOSE_FILES)
ifeq ($(CONTAINER_ENGINE),docker)
	$(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) up --detach --no-deps --no-recreate --wait --wait-timeout $(UP_TIMEOUT) $(DB_WRITERS)
else
	scripts/compose-wait.sh $(UP_TIMEOUT) $$($(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) ps --quiet)
endif
	@echo "make restore: $(FILE) restored; $(DB_WRITERS) are healthy again on the restored data."

loadtest: $(VENV)/.app ## browserless sessions against any Streamlit app: make loadtest URL=... [SCENARIO=file.toml] [LOADTEST_ARGS="--page notes --sessions 50 --sign-in EMAIL", or "--discover"]
	@test -n "$(URL)" || { echo "make loadtest: set URL, e.g. make loadtest URL=http://127.0.0.1:8501 (SCENARIO defaults to app/ops/scenarios/platform.toml)"; exit 2; }
	$(BIN)/python -m app.ops.loadtest --url "$(URL)" $(if $(SCENARIO),--scenario "$(SCENARIO)") $(LOADTEST_ARGS)

smoke: $(VENV)/.app ## smoke-check a running deployment: make smoke URL=https://host [SMOKE_ARGS="--auth --sign-in EMAIL --api-url https://host/api"]
	@test -n "$(URL)" || { echo "make smoke: set URL, e.g. make smoke URL=http://127.0.0.1:8501 SMOKE_ARGS='--api-url http://127.0.0.1:8000'"; exit 2; }
	$(BIN)/python -m app.ops.smoke --url "$(URL)" $(SMOKE_ARGS)

# template-only:start (the template's own wing: generated projects lack it)
# --- generation: a new project from this checkout (template/, docs/template.md)
OUT ?= ..
.PHONY: generate

generate: $(VENV)/.dev ## new project from this template, asks the questions: make generate [OUT=..]
	$(BIN)/cookiecutter --directory template --output-dir "$(OUT)" "$(CURDIR)"

# --- benchmark: tests/bench/run.py on its own PostgreSQL servers (docs/benchmark.md) ----
PG_BIN ?= $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin)))
BENCH_OUT ?= docs/benchmark-quick.md
BENCH_ARGS ?=
PROFILE_ARGS ?=
BENCH_PATH := $(if $(PG_BIN),$(PG_BIN):)$$PATH

.PHONY: bench bench-full profile

bench: $(VENV)/.dev ## quick load benchmark: reference vs render floor vs trivial page, seed 001, 1 vs 2 replicas (3 min measured; BENCH_OUT=...)
	@PATH="$(BENCH_PATH)" command -v initdb >/dev/null || { echo "make bench: initdb not found; install PostgreSQL (scripts/install-test-deps.sh)"; exit 2; }
	PATH="$(BENCH_PATH)" $(BIN)/python -m tests.bench.run --profile quick --out $(BENCH_OUT) $(BENCH_ARGS)

bench-full: $(VENV)/.dev ## the full benchmark, 1..500 sessions, scale-out and server options (8 min measured on 2 cores): docs/benchmark.md
	@PATH="$(BENCH_PATH)" command -v initdb >/dev/null || { echo "make bench-full: initdb not found; install PostgreSQL (scripts/install-test-deps.sh)"; exit 2; }
	PATH="$(BENCH_PATH)" $(BIN)/python -m tests.bench.run --profile full --out docs/benchmark.md $(BENCH_ARGS)

profile: $(VENV)/.dev ## where the dashboard's core goes under 50 sessions, sampled by py-spy (~2 min; PROFILE_ARGS=--sqlite): docs/profile.md
	PATH="$(BENCH_PATH)" $(BIN)/python -m tests.bench.profile $(PROFILE_ARGS)
# template-only:end

# --- a local Kubernetes to try the chart on (cluster/; root, Linux) ------------
.PHONY: cluster-up cluster-down cluster-load

cluster-up: ## a single-node Kubernetes + Traefik on this machine (root; first build 15-25 min)
	cluster/build.sh
	cluster/up.sh

cluster-down: ## stop the local cluster and delete its state (the built binaries stay)
	cluster/down.sh --wipe

cluster-load: ## import IMAGE (default: the one `make image` builds) into the local cluster
	cluster/load-image.sh $(IMAGE)
