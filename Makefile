# Every target makes its own virtual environment (.venv) on first use: a fresh machine needs
# only python3 and pip. Where `python3 -m venv` is unavailable (Debian without python3-venv),
# virtualenv is fetched into .venv-bootstrap with pip and makes the environment instead.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: test lint demo playground bench docs-images gallery docs clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		rm -rf $(VENV); \
		$(PYTHON) -m pip install --quiet --target .venv-bootstrap virtualenv && \
		PYTHONPATH=.venv-bootstrap $(PYTHON) -m virtualenv --quiet $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,demos,docs]"
	@touch $@

lint: $(VENV)/.installed
	$(PY) -m ruff check microgrid tests demos benchmarks docs
	$(PY) -m ruff format --check microgrid tests demos benchmarks docs
	$(PY) -m mypy

# pytest exits with 5 when a -k filter selects no test: that is not a failure.
test: lint
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
		if [ $$status -eq 5 ]; then echo "no tests selected"; exit 0; fi; exit $$status

demo: $(VENV)/.installed
	$(PY) demos/planar.py

# The pictures in docs/ are made by code, so they never go stale: run this after changing them.
docs-images: $(VENV)/.installed
	$(PY) docs/generate_images.py

# Every reference picture at slide size, and as seen with deuteranopia: open gallery/index.html.
gallery: $(VENV)/.installed
	$(PY) docs/generate_images.py --gallery gallery

# The documentation site in site/: the tutorial's pictures and notebooks are made from the pages'
# own code first, then mkdocs builds with every warning an error. The site needs no network: the
# browser libraries it ships (KaTeX, iframe-worker) come from npm, at package-lock.json's versions.
docs: $(VENV)/.installed node_modules/.package-lock.json
	$(PY) docs/tutorial/generate.py
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# npm ci installs exactly what package-lock.json lists (and writes this file); again when it changes.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make docs needs npm (Node.js) to install KaTeX for the site"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund

# The playground on http://127.0.0.1:8765/, opened in the browser; Ctrl-C stops it.
playground: $(VENV)/.installed
	$(VENV)/bin/microgrid playground

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-bootstrap .pytest_cache .mypy_cache .ruff_cache .hypothesis site node_modules gallery
