# Two commands: `make lab` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH_STAMP := $(VENV)/.installed-torch
PORT   ?= 8888
# JupyterLab refuses to run as root unless told; containers and CI often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test test-torch notebooks bench-widgets lint clean help

help:
	@echo "make lab        set up .venv and open the course in JupyterLab"
	@echo "make test       set up .venv and run every test, notebooks included"
	@echo "make test-torch add the [torch] extra (PyTorch CPU wheel, PEFT) and run appendix 06's tests"
	@echo "make notebooks  regenerate notebooks/ from solutions/ and re-execute both"
	@echo "make bench-widgets  time every widget in the browser: input change to output, p50 and p95 (goal 100 ms)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

$(TORCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,torch]'
	@touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(ROOT_FLAG)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Appendix 06 only: tests/torch/ and notebooks 06 (conftest.py collects them only with --torch).
test-torch: $(TORCH_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --torch tests/torch solutions/06_torch_and_peft.ipynb notebooks/06_torch_and_peft.ipynb

notebooks: $(STAMP)
	$(BIN)/lora-course student --execute

bench-widgets: $(STAMP)
	$(BIN)/python benchmarks/widget_speed.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
