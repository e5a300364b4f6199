# Two commands: `make book` and `make test`. Both create .venv if absent and install the project into it.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PROFILE ?= laptop
EXTRAS ?= book,test,dask

.PHONY: book publish test lint install clean browser

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

install: $(VENV)/.installed

book: install
	$(VENV)/bin/clusterage book --profile $(PROFILE)

# The book plus a static site for GitHub Pages in _build/publish (the results store as a download).
publish: install
	$(VENV)/bin/clusterage book --profile $(PROFILE) --publish

# Headless Chromium + driver for the book's browser test (Debian packages chromium, chromium-driver).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  echo "installing Debian's chromium and chromium-driver for the browser test"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# Lint (package, tests, benchmarks, notebooks), the publish workflow against GitHub's schema (offline), then the suite.
lint: install
	$(VENV)/bin/ruff check clusterage_utils tests benchmarks
	$(VENV)/bin/nbqa ruff notebooks book
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/publish-book.yml

# The suite on the default backend (TensorFlow), then the engine's tests again on JAX (its CPU wheels).
test: install browser lint
	$(PY) -m pytest -q -ra
	KERAS_BACKEND=jax $(PY) -m pytest -q -ra -m engine

clean:
	rm -rf _build build .pytest_cache
