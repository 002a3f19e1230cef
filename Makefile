# Each target makes its own virtualenv (.venv) on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
#: The kit alone (what serving needs), and the kit with its test tools.
SERVE_STAMP := $(VENV)/.serve-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: mock test check lint typecheck bench fuzz clients heavy clean

# The virtualenv, with a current pip: it installs the kit's fifty packages in a third of the time the pip
# bundled with venv takes. Python's own pip (22.3 or later) puts it there; else the bundled pip upgrades
# itself. A virtualenv left without pip is removed, so the next run starts afresh.
$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --upgrade pip 2>/dev/null || \
		{ $(BIN)/python -m ensurepip --default-pip && $(BIN)/python -m pip install --quiet --upgrade pip; } || \
		{ rm -rf $(VENV); exit 1; }

# Serving skips compiling every installed module (each is compiled when first imported instead).
$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -e .
	touch $(SERVE_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(SERVE_STAMP)

mock: $(SERVE_STAMP) ## serve the mock on 127.0.0.1:11434 (pass options with ARGS="--port 11500")
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/ollama-mock $(ARGS)

# Two workers a core (tests/conftest.py), each taking whole modules: a module's servers and fixtures start
# once (not once in each worker: a sixth of the suite's time), and tests that must share one process (the
# verify self-test's score) do.
XDIST := -n auto --dist loadscope
# The kit's own tests check the in-process mock unless ARGS says otherwise (--ollama-url): a shell's
# OLLAMA_HOST (often 0.0.0.0, set for `ollama serve`) is not a request to check that server. The suite
# starts hundreds of Python processes: with PYTHONDONTWRITEBYTECODE (set in many CI images) each would
# compile the kit, and pytest rewrite the asserts of every plugin's modules, again.
TEST_ENV := env -u OLLAMA_HOST -u OLLAMA_URL -u PYTHONDONTWRITEBYTECODE
# Start-up as an installed kit starts, not compiling every module.
BYTECODE := $(BIN)/python -m compileall -q openapi mock_server contract_tests client commandline

test: $(STAMP) ## the whole test suite, lint and type checks included
	$(TEST_ENV) $(BIN)/python -m pytest $(XDIST) --durations=10 $(ARGS)

check: $(STAMP) lint ## the fast inner loop: ruff, mypy and the tests not marked slow (well under a minute)
	$(TEST_ENV) $(BIN)/python -m pytest $(XDIST) -q -m 'not slow and not clients and not heavy' $(ARGS)

lint: $(STAMP) typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow the editable install's import hook, so it reads a link tree that mirrors
# the installed layout (ollama_contract_kit/<folder>).
typecheck: $(STAMP)
	rm -rf .typecheck && mkdir -p .typecheck/ollama_contract_kit
	for folder in openapi mock_server client commandline contract_tests; do ln -s ../../$$folder .typecheck/ollama_contract_kit/$$folder; done
	$(BIN)/mypy -p ollama_contract_kit.openapi -p ollama_contract_kit.client -p ollama_contract_kit.commandline \
		-p ollama_contract_kit.mock_server -p ollama_contract_kit.contract_tests

bench: $(STAMP) ## figures: the mock against Prism with wrk (installs wrk and Prism when it can)
	$(BYTECODE) >/dev/null
	$(BIN)/python bench/run.py $(ARGS)

fuzz: $(STAMP) ## long Schemathesis runs: both documents, the contract suite, and the README's raw commands as written
	$(TEST_ENV) OLLAMA_FUZZ_EXAMPLES=2000 OLLAMA_RAW_EXAMPLES=readme $(BIN)/python -m pytest $(XDIST) tests/test_fuzz_mock.py \
		tests/test_contract_suite.py tests/test_docs_snippets.py --contract-max-examples 1000 $(ARGS)

heavy: $(STAMP) ## the long variants left out of `make test` (another signal, another environment)
	$(TEST_ENV) $(BIN)/python -m pytest -m heavy $(ARGS)

clients: $(STAMP) ## real client libraries (ollama-js, from npm) against the mock
	npm install --silent --no-audit --no-fund --prefix tests/clients
	$(TEST_ENV) $(BIN)/python -m pytest -m clients $(ARGS)

clean:
	rm -rf tests/clients/node_modules tests/clients/package-lock.json $(VENV) .typecheck build dist *.egg-info .hypothesis
