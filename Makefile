# The two set-up commands: `make serve` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test benchmark clean opensearch opensearch-stop

$(BIN)/searchsvc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/searchsvc
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/searchsvc
	$(BIN)/searchsvc serve

test: $(VENV)/.test-deps
	bash .ci/install-browser
	bash .ci/install-axe
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

benchmark: $(BIN)/searchsvc
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts

# A local three-node OpenSearch cluster on 127.0.0.1:9201-9203 (cluster/README.md).
opensearch:
	bash cluster/run.sh start

opensearch-stop:
	bash cluster/run.sh stop
