# The lab's commands. Each one does all of its own set-up on a fresh Debian or Ubuntu machine.
#   make test       lint, then every test: unit (moto in-process), local cloud, notebooks (nbval), and the
#                   lesson in JupyterLab in headless Chromium (screenshots in build/screenshots/)
#   make lint       ruff, then mypy strict on lab_helpers/, both as configured in pyproject.toml
#   make lab        the whole lesson headless (REGION=us-east-1 for another region; LEARNER=kim01 to prefix
#                   every name; TARGET=aws CONFIRM_COSTS=1 for a real AWS account; LEVEL=all for 99_cleanup; NB=99_cleanup
#                   for one notebook; TAGS="CostCenter=1234" and BOUNDARY=<policy ARN> when an organisation requires them)
#   make jupyter    the local cloud and JupyterLab on notebooks/
#   make notebooks  refresh the notebooks' reference outputs (after editing a notebook; NB=03_rds_proxy for one:
#                   the lesson runs up to it on a fresh cloud, and only its outputs are rewritten)
#   make example-charts  06's charts from a reference run (the lesson up to 06 on a fresh cloud) as the example images
#                   its markdown shows, notebooks/images/06-chart-*.png (needs fonts-noto-cjk)
#   make bench      measure it: Lambda Duration per variant, connection storm, RDS Proxy against the database
#                   (plain and TLS), start-up, lesson time, and a soak of the whole cloud (20 minutes; SOAK=300
#                   for 300 seconds, SOAK=90m for 90 minutes, SOAK=0 for none)
#   make conformance  PyMySQL's and aiomysql's own test suites, directly and through the local RDS Proxy, side by
#                   side (not part of make test; make bench shows the counts of the last run)
#   make up/down/status   the local cloud by hand
#   make classroom  for instructors: every learner's lab in a shared account (TARGET=aws REGION=...), with how far
#                   each got and what it bills; make classroom-cleanup LEARNER=kim01 (or ALL=1) removes labs
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

TARGET ?= local
REGION ?=
LEARNER ?=
LEVEL ?=
TAGS ?=
BOUNDARY ?=
NB ?=
ALL ?=
JOBS ?=
CONFIRM_COSTS ?=
SOAK ?=
NEEDS_DB := $(if $(filter local,$(TARGET)),mariadb)

.PHONY: test lint lab jupyter notebooks example-charts bench conformance venv venv-test mariadb chromium up down status clean \
	classroom classroom-cleanup

test: lint mariadb chromium
	$(PY) -m pytest -q

lint: venv-test
	$(PY) -m ruff check lab_helpers handler tests conftest.py
	$(PY) -m mypy

lab: venv $(NEEDS_DB)
	$(PY) -m lab_helpers.tools.run_lab --target $(TARGET) $(if $(REGION),--region $(REGION)) \
		$(if $(LEARNER),--learner $(LEARNER)) $(if $(LEVEL),-p level $(LEVEL)) $(if $(CONFIRM_COSTS),--confirm-costs) \
		$(if $(TAGS),-p tags "$(TAGS)") $(if $(BOUNDARY),-p permissions_boundary $(BOUNDARY)) $(NB)

jupyter: venv mariadb
	$(PY) -m lab_helpers.local up
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root)

notebooks: venv mariadb
	$(PY) -m lab_helpers.tools.run_lab --refresh $(NB)

example-charts: venv mariadb
	$(PY) -m lab_helpers.tools.example_charts

bench: venv mariadb
	$(PY) -m lab_helpers.tools.bench $(if $(SOAK),--soak $(SOAK))

conformance: venv mariadb
	$(PY) -m lab_helpers.tools.conformance

venv: $(STAMP)
venv-test: $(TEST_STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test]'
	@touch $(TEST_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: Python 3.11 or newer is needed (found $$($(PYTHON) --version 2>&1)); set PYTHON=/path/to/python3.11"; exit 1; }
	@if ! $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Python's venv (Debian package python3-venv)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "error: Python's venv module is missing: run 'sudo apt-get install -y python3-venv', then try again."; exit 1; fi; \
	fi
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $(STAMP)

# The Debian packages, each list in one file that repo2docker and the dev container read too: apt.txt, what the
# lab needs (MariaDB, the Korean font of 06's charts), and apt-test.txt, what `make test` adds (Chromium, emoji).
APT_PACKAGES := $(strip $(shell sed -e 's/\#.*//' apt.txt))
TEST_APT_PACKAGES := $(strip $(shell sed -e 's/\#.*//' apt-test.txt))

# MariaDB's server where its packages put it (Debian: /usr/sbin, off an ordinary user's PATH; Homebrew: /opt/homebrew
# or /usr/local), or on PATH; lab_helpers.local.rds.mariadb.find_mariadbd looks in the same places.
MARIADBD_PLACES := /usr/sbin/mariadbd /opt/homebrew/bin/mariadbd /usr/local/bin/mariadbd
mariadb:
	@found=; for f in $(MARIADBD_PLACES); do [ -x "$$f" ] && found="$$f"; done; \
	if command -v mariadbd >/dev/null || [ -n "$$found" ]; then :; \
	elif [ "$$(uname -s)" = Darwin ]; then \
	  echo "error: MariaDB is not installed: run 'brew install mariadb', then try again."; exit 1; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing MariaDB (Debian packages of apt.txt: $(APT_PACKAGES))"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else echo "error: MariaDB is not installed: run 'sudo apt-get install -y $(APT_PACKAGES)', then try again."; exit 1; fi

# Debian's Chromium for the browser test (Playwright drives it; it downloads no browser of its own), with
# the fonts that draw the lesson's Korean text and its ✅ in the screenshots.
CHROMIUM_PACKAGES := $(APT_PACKAGES) $(TEST_APT_PACKAGES)
chromium:
	@if { command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; } && \
	  fc-list 2>/dev/null | grep -q NotoSansCJK && fc-list 2>/dev/null | grep -q NotoColorEmoji; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Chromium and its fonts (Debian packages $(CHROMIUM_PACKAGES))"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES) >/dev/null; \
	else echo "error: Chromium or its fonts are not installed: run 'sudo apt-get install -y $(CHROMIUM_PACKAGES)', then try again."; exit 1; fi

classroom: venv
	$(PY) -m lab_helpers.classroom list --target $(TARGET) $(if $(REGION),--region $(REGION))

classroom-cleanup: venv
	$(PY) -m lab_helpers.classroom cleanup --target $(TARGET) $(if $(REGION),--region $(REGION)) \
		$(foreach L,$(LEARNER),--learner $(L)) $(if $(ALL),--all --yes) $(if $(JOBS),--jobs $(JOBS))

up: venv mariadb
	$(PY) -m lab_helpers.local up

down:
	@[ -x $(PY) ] && $(PY) -m lab_helpers.local down || echo "nothing to stop"

status: venv
	$(PY) -m lab_helpers.local status

clean: down
	rm -rf .lab build
