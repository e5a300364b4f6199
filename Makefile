# Two commands: `make book` and `make test`. Both create .venv if absent and install the project into it.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PROFILE ?= laptop
EXTRAS ?= cpu,book,test,dask

.PHONY: book test install clean browser

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

install: $(VENV)/.installed

book: install
	$(VENV)/bin/clusterage book --profile $(PROFILE)

# Headless Chromium + driver for the book's browser test (Debian packages chromium, chromium-driver).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  echo "installing Debian's chromium and chromium-driver for the browser test"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

test: install browser
	$(PY) -m pytest -q -ra

clean:
	rm -rf _build build .pytest_cache
