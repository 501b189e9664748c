# Every target does its own set-up on a fresh clone: system packages, .venv, pinned install.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PROGRAMS := dot chromium chromium-headless-shell chromedriver strace
SYSTEM_PACKAGES := graphviz chromium chromium-headless-shell chromium-driver strace fonts-dejavu-core
SYSTEM_FONT     := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

.PHONY: test demo system lint clean

system:
	@missing=0; for p in $(SYSTEM_PROGRAMS); do command -v $$p >/dev/null || missing=1; done; \
	[ -f $(SYSTEM_FONT) ] || missing=1; \
	if [ $$missing = 1 ]; then \
	  echo "Installing system packages: $(SYSTEM_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	fi

$(STAMP): setup.cfg pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[all]'
	touch $(STAMP)

# Tests: one thread per native library, one test process per core of a 2-core machine (more
# processes, or more threads each, slow every test several-fold); an idle process takes tests
# queued for the busy one (worksteal: a few tests run 20-40 s); the slowest 15 listed.
TEST_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

test: system $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist worksteal --durations=15

demo: system $(STAMP)
	$(PY) -m surrogate report --data german-credit --out reports/german-credit

lint: $(STAMP)
	$(VENV)/bin/ruff check surrogate tests bench
	$(VENV)/bin/mypy surrogate

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
