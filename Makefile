# The two commands a fresh machine needs:
#   make demo   real exchanges through Airflow on the embedded SQLite store and the sandboxes
#   make test   the whole test suite (SQLite and PostgreSQL, Airflow DAG runs)
# Both install what they need (uv, then the locked workspace) themselves.

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PYTEST_ARGS ?=

BENCH_ARGS ?=

.PHONY: demo test bench install browser lint schemas clean

# Third-party adapters, which every `make install` keeps (a plain `uv sync` removes what the
# lock does not list): requirements in adapters.txt, one a line as pip takes them (a name and
# version, a wheel, a git URL, `-e ../hub-acme`), and distributions in folders under
# local-adapters/ (`hub adapters new NAME` writes one), installed editable. Both are
# untracked. They are installed against the locked versions and this workspace's own (an
# index's package of the same name never replaces them): an adapter that needs other
# versions of the hub or its dependencies is refused, never allowed to change them.
ADAPTERS_FILE ?= adapters.txt
LOCAL_ADAPTERS ?= local-adapters

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --locked --inexact
	@set --; \
	if [ -f "$(ADAPTERS_FILE)" ]; then set -- -r "$(ADAPTERS_FILE)"; fi; \
	for dir in "$(LOCAL_ADAPTERS)"/*/; do \
	  if [ -f "$${dir}pyproject.toml" ]; then set -- "$$@" -e "$${dir%/}"; fi; \
	done; \
	if [ $$# -gt 0 ]; then \
	  python="$${UV_PROJECT_ENVIRONMENT:-.venv}/bin/python"; \
	  locked=$$(mktemp) && trap 'rm -f "$$locked"' EXIT && \
	  $(UV) export --frozen --no-hashes --no-emit-workspace --format requirements.txt \
	    --quiet -o "$$locked" && \
	  for project in pyproject.toml plugins/*/pyproject.toml; do \
	    name=$$(sed -n 's/^name = "\(.*\)"$$/\1/p' "$$project" 2>/dev/null | head -n 1); \
	    version=$$(sed -n 's/^version = "\(.*\)"$$/\1/p' "$$project" 2>/dev/null | head -n 1); \
	    if [ -n "$$name" ] && [ -n "$$version" ]; then echo "$$name==$$version" >> "$$locked"; fi; \
	  done; \
	  echo "$(UV) pip install --python $$python --constraint <uv.lock's versions and this workspace's> $$*" && \
	  $(UV) pip install --python "$$python" --constraint "$$locked" "$$@"; \
	fi

demo: install
	$(UV) run hub demo

# Debian's chromium for the dashboard's browser tests (Playwright drives it; no download)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: install browser
	$(UV) run pytest $(PYTEST_ARGS)

# throughput and memory against the floor and dlt (not part of `make test`), on SQLite and on
# PostgreSQL at HUB_TEST_PG_URL (a schema of its own per run, dropped after), N = 100 000 and
# 1 000 000 (README, "Benchmarks": 5 min for N = 100 000, about 35 for the million);
# `make bench BENCH_ARGS="--sizes 100000"` for a quick run, "--store sqlite" for one store
bench: install
	$(UV) sync --locked --inexact --group bench
	$(UV) run --group bench python -m bench $(BENCH_ARGS)

lint: install
	$(UV) run ruff check hub plugins dags tests

schemas: install
	$(UV) run hub schemas export

clean:
	rm -rf .demo .pytest_cache .hypothesis .bench
