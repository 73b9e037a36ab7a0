# MineWatch: `make demo` sets up and runs every stage on generated data; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= data/demo
DEMO_MINES ?= 12
DEMO_DAYS ?= 60
DEMO_NATIONAL ?= 1

.PHONY: venv demo test test-all lint bench clean

$(BIN)/minewatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/minewatch

venv: $(BIN)/minewatch

demo: venv
	$(BIN)/minewatch simulate --out $(DEMO_DIR)/raw --mines $(DEMO_MINES) --days $(DEMO_DAYS) --seed 7 --national $(DEMO_NATIONAL)
	$(BIN)/minewatch ingest $(DEMO_DIR)/raw --warehouse $(DEMO_DIR)/warehouse.duckdb
	$(BIN)/minewatch ingest --report --warehouse $(DEMO_DIR)/warehouse.duckdb
	@echo "demo data: $(DEMO_DIR)/raw (ground truth under $(DEMO_DIR)/raw/_truth)"
	@echo "warehouse: $(DEMO_DIR)/warehouse.duckdb"

test: venv
	$(BIN)/pytest -q

test-all: venv
	$(BIN)/pytest -q -m "slow or not slow"

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data/demo .pytest_cache
