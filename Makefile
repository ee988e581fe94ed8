# 爱南宁健康码 — the two commands: `make demo` and `make test`.

PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# Python 3.12: pyenv's, then the PATH's, then any pyenv install on disk (newest first).
PYTHON312 ?= $(shell { pyenv which python3.12 || command -v python3.12 || \
	ls -d /root/.pyenv/versions/3.12*/bin/python | sort -V | tail -n 1; } 2>/dev/null | head -n 1)

.PHONY: venv install demo test bench
.DEFAULT_GOAL := demo

venv install: $(STAMP)

$(PY):
	@if [ -z "$(PYTHON312)" ]; then \
		echo "Python 3.12 not found: install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12" >&2; \
		exit 1; \
	fi
	$(PYTHON312) -m venv $(VENV)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(PY)
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { \
		echo "$(VENV) is not Python 3.12: remove it (rm -rf $(VENV)) and run make again" >&2; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

# SQLite in var/, the SMS codes printed here, and the demo logins printed by seed_demo.
demo: export HEALTHCODE_DEBUG = 1
demo: export HEALTHCODE_SMS_BACKEND ?= console
demo: $(STAMP)
	$(PY) manage.py migrate --no-input
	@if [ -z "$$(find healthcode -name '*.po' -print -quit)" ]; then \
		echo "no translations to compile"; \
	elif command -v msgfmt >/dev/null; then \
		$(PY) manage.py compilemessages --ignore=$(VENV) --ignore=node_modules; \
	else \
		echo "msgfmt not found (apt-get install gettext): using the committed .mo files"; \
	fi
	$(PY) manage.py seed_demo
	@# The background worker (exports, re-derivations) runs beside the server and stops with it.
	$(PY) manage.py db_worker --no-startup-delay & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# Lint, Django checks, the suite on SQLite and on PostgreSQL 15, then the browser tests.
test: $(STAMP)
	VENV=$(VENV) scripts/test.sh $(PYTEST_ARGS)

# Every benchmark (bench/run.py): its own PostgreSQL clusters (scripts/pg.sh), gunicorn and the
# wrk load generator on 127.0.0.1; results in bench/results/. wrk comes from Debian.
bench: $(STAMP)
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk; \
		else echo "wrk not found: sudo apt-get install wrk" >&2; exit 1; fi; }
	$(PY) bench/run.py
