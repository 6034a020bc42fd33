# Two entry points a newcomer needs: `make run` (set up + main job) and `make test`.
# `make run` installs the runtime only; `make test`, `make lint` and `make setup` add the
# development tools. Both install the exact versions pinned in requirements/*.lock (README:
# "Updating the pinned dependencies"), so two installs a month apart compute the same numbers.
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
UV_COMPILE := uv pip compile pyproject.toml --universal --python-version 3.11 --quiet

.PHONY: setup run test lint bench lock

$(RUN_STAMP): pyproject.toml requirements/run.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements/run.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements/dev.lock
	$(PY) -m pip install --quiet -r requirements/dev.lock
	touch $(STAMP)

setup: $(STAMP)

run: $(RUN_STAMP)
	$(VENV)/bin/fairshare run

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

# Re-resolve the pinned versions after changing dependencies in pyproject.toml (needs `uv`:
# pip install uv). Commit the two lock files with the change.
lock:
	$(UV_COMPILE) -o requirements/run.lock
	$(UV_COMPILE) --extra dev --extra dask -o requirements/dev.lock
