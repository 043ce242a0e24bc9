# VisualShop developer commands. Each target sets up the virtualenv it needs.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test test-fast lint superuser shell bench clean-var venv

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

## make run: the whole shop at http://127.0.0.1:8000 (embedded Postgres + Redis unless configured);
## ARGS go to visualshop.run: `make run ARGS=--no-demo` starts with an empty catalogue
run: $(STAMP)
	$(PY) -m visualshop.run $(ARGS)

## make test: the whole test suite against embedded Postgres + Redis
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## make test-fast: the suite without the tests marked slow (workers, servers, the browser, > ~2 s)
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

## make lint: the house rules: import contracts (pyproject.toml), ruff's linter and formatter
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## make superuser: create an admin login for http://127.0.0.1:8000/admin/ (migrates a fresh var/ first)
superuser: $(STAMP)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py createsuperuser

## make shell: a Django shell on the same database
shell: $(STAMP)
	$(PY) manage.py shell

## make bench: every benchmark, full size; each one's JSON is kept in bench/results/<name>.json
bench: $(STAMP)
	@for script in bench/*.py; do echo "# $$script"; $(PY) -m bench.lib.record $$script || exit 1; done

## make clean-var: delete local state (database, media, broker data) -- asks no questions
clean-var:
	rm -rf var
