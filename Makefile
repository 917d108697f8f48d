# Every target bootstraps .venv itself; pinned versions come from constraints.txt (what CI passed with).
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set, `import mlflow` costs ~9 s without it, ~2 s with it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU torch for the distributed-training test only (not a dependency of aml-bridge). pip, not uv:
# pip finds the local CPU wheel (~40 s, 750 MB); uv would download a multi-GB CUDA build.
TORCH := torch==2.13.0
TORCH_STAMP := $(VENV)/.torch

.PHONY: venv torch demo test lint bench constraints clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --constraint constraints.txt -e '.[dev,airflow,containers]'
	$(BIN)/python -m compileall -q aml_bridge airflow_provider mlflow_plugin
	touch $(STAMP)

# Recompiled on every `make venv` too (only changed files; ~0.3 s): with PYTHONDONTWRITEBYTECODE set, a
# source changed by a merge after the install would otherwise compile again in every process and every DAG parse.
venv: $(STAMP)
	$(BIN)/python -m compileall -q aml_bridge airflow_provider mlflow_plugin

$(TORCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet $(TORCH)
	touch $(TORCH_STAMP)

torch: $(TORCH_STAMP)

demo: venv
	$(BIN)/python examples/demo.py

# The parallel driver forks its caller, so its tests get a pytest process of their own.
test: venv torch
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 --ignore=tests/parallel_driver
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/parallel_driver

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/logging.py
	$(BIN)/python bench/dag_parse.py examples/pipeline/dag.py --max-overhead-ms 150 --forbid mlflow,boto3,pandas
	$(BIN)/python bench/parallel.py
	$(BIN)/python bench/s3.py

# Refresh the pins after changing dependencies (then run `make test` and commit both).
constraints: venv
	$(BIN)/uv pip freeze --python $(BIN)/python --exclude-editable | grep -v -e '^aml-bridge' -e '^torch==' > constraints.txt

clean:
	rm -rf $(VENV) .aml-bridge
