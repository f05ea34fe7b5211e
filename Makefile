# `make run` serves the product; `make test` runs every test. Both set themselves up.
VENV ?= .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/annotator
REDIS_URL_DEFAULT ?= redis://127.0.0.1:6379/0

.PHONY: run test worker install

$(VENV)/.installed-base: requirements/base.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/base.txt
	touch $@

$(VENV)/.installed-test: requirements/test.txt requirements/base.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/test.txt
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base

# SQLite and in-process tasks unless DATABASE_URL / CELERY_BROKER_URL are set. DEBUG is off unless asked
# for (README, Security): the demo asks for it.
run: export DJANGO_DEBUG ?= true
run: $(VENV)/.installed-base
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_demo
	$(PY) manage.py runserver 127.0.0.1:8000

worker: $(VENV)/.installed-base
	$(VENV)/bin/celery -A annotator worker --loglevel=INFO

# The machine's PostgreSQL and Redis unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
# The browser tests (tests/annotator) drive Debian's Chromium through Playwright.
test: $(VENV)/.installed-test
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(REDIS_URL_DEFAULT)} \
		$(PY) -m pytest $(PYTEST_ARGS)
