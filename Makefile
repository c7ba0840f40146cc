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

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --locked

demo: install
	$(UV) run hub demo

# Debian's chromium for the dashboard's browser tests (Playwright drives it; no download)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: install browser
	$(UV) run pytest $(PYTEST_ARGS)

# throughput and memory against the floor and dlt (not part of `make test`): about 20 min
# for N = 100 000 and 1 000 000; `make bench BENCH_ARGS="--sizes 100000"` for a quick run
bench: install
	$(UV) sync --locked --group bench
	$(UV) run --group bench python -m bench $(BENCH_ARGS)

lint: install
	$(UV) run ruff check hub plugins dags tests

schemas: install
	$(UV) run hub schemas export

clean:
	rm -rf .demo .pytest_cache .hypothesis .bench
