# MineWatch: `make demo` sets up and runs every stage on generated data; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= data/demo
DEMO_MINES ?= 12
DEMO_DAYS ?= 75
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
	MLFLOW_TRACKING_URI=sqlite:///$(abspath $(DEMO_DIR))/mlflow.db $(BIN)/minewatch run --data $(DEMO_DIR)/raw --out $(DEMO_DIR)
	MLFLOW_TRACKING_URI=sqlite:///$(abspath $(DEMO_DIR))/mlflow.db $(BIN)/minewatch report --top 5 \
		--warehouse $(DEMO_DIR)/warehouse.duckdb --features $(DEMO_DIR)/features.duckdb --out $(DEMO_DIR)/reports
	@echo
	@echo "demo data:      $(DEMO_DIR)/raw (ground truth under $(DEMO_DIR)/raw/_truth)"
	@echo "warehouse:      $(DEMO_DIR)/warehouse.duckdb   (minewatch ingest --report --warehouse $(DEMO_DIR)/warehouse.duckdb)"
	@echo "features:       $(DEMO_DIR)/features.duckdb"
	@echo "target list:    $(DEMO_DIR)/targets.csv"
	@echo "reports:        $(abspath $(DEMO_DIR))/reports/index.html"

test: venv
	$(BIN)/pytest -q

test-all: venv
	$(BIN)/pytest -q -m "slow or not slow"

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data/demo .pytest_cache
