# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-faults lint format messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	$(BIN)/python manage.py runportal

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fault suite alone (also part of `make test`): servers, workers and Redis killed, frozen, flushed.
test-faults: $(VENV)/.dev
	$(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The German catalogue: collect the marked strings into locale/de/LC_MESSAGES/django.po, then compile
# django.mo. Both are committed, so running the portal never needs gettext; this target does (.ci/apt dev).
messages: $(VENV)/.dev
	bash .ci/apt dev
	$(BIN)/python manage.py makemessages --locale de --no-obsolete --ignore var --ignore tests --ignore bench --ignore docker
	$(BIN)/python manage.py compilemessages --locale de --ignore .venv --ignore var

# The references (sshd, vsftpd, libvips) are Debian packages; sshd's and vsftpd's password logins need root.
bench: $(VENV)/.dev
	bash .ci/apt bench
	$(BIN)/python -m bench $(if $(QUICK),--quick) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
