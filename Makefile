# The two commands of the README: `make book` and `make test`. Both create or reuse .venv and are idempotent.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.wmnb-installed
PROFILE ?= quick

.PHONY: book test assets browser venv clean-book bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

# apt-get download needs package lists; on a fresh machine refresh them once (root only) and retry.
assets: $(STAMP)
	$(BIN)/wmnb assets || { echo "wmnb assets failed; refreshing apt package lists once and retrying"; \
	  apt-get update -qq && $(BIN)/wmnb assets; }

book: assets
	$(BIN)/wmnb book build --profile $(PROFILE)

# headless Chromium + its driver from Debian, for the browser check of the built book
browser:
	@command -v chromedriver >/dev/null && command -v chromium >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

# unit tests + nbval regression notebooks, then the smoke-profile book opened page by page in Chromium
test: assets browser
	$(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tests/nbval/sanitize.cfg tests
	$(BIN)/wmnb book check

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean-book:
	rm -rf _build book/_executed
