# Two commands: `make lab` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What a student needs (the course and JupyterLab), and on top of it the test tools, for `make test` only.
LAB_STAMP  := $(VENV)/.installed-lab
TEST_STAMP := $(VENV)/.installed-test
TORCH_STAMP := $(VENV)/.installed-torch
PORT   ?= 8888

.PHONY: lab test test-torch notebooks bench-widgets lint clean help

help:
	@echo "make lab        set up .venv, copy the lessons into my-notebooks/ and serve them in JupyterLab"
	@echo "make test       set up .venv with the test tools and run every test, notebooks included"
	@echo "make test-torch add the [torch] extra (PyTorch CPU wheel, PEFT) and run appendix 06's tests"
	@echo "make notebooks  regenerate notebooks/ from solutions/ and re-execute both"
	@echo "make bench-widgets  time every widget in the browser: input change to output, p50 and p95 (goal 100 ms)"

# Quiet by default: one line per install phase, then pip's own progress bars (a download bar for each file
# over 512 kB that is not in pip's cache, one bar for the installation); everything pip says goes to PIP_LOG.
PIP_LOG := $(VENV)/pip.log
PIP     := $(BIN)/python -m pip --quiet --log $(PIP_LOG) install --progress-bar on

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required, found " + sys.version.split()[0])'
	@echo "[1/3] creating the virtual environment $(VENV)/"
	@$(PYTHON) -m venv $(VENV)

$(LAB_STAMP): pyproject.toml | $(BIN)/python
	@echo "[2/3] updating pip (pip's log: $(PIP_LOG))"
	@$(PIP) --upgrade pip
	@echo "[3/3] installing the course and JupyterLab into $(VENV)/ (the first time takes a few minutes)"
	@$(PIP) -e .
	@touch $@

$(TEST_STAMP): $(LAB_STAMP)
	@echo "[+] installing the test tools (pytest, nbval, playwright, nbgrader) into $(VENV)/"
	@$(PIP) -e '.[test]'
	@touch $@

$(TORCH_STAMP): pyproject.toml $(TEST_STAMP)
	@echo "[+] installing the [torch] extra (PyTorch CPU wheel, PEFT) into $(VENV)/"
	@$(PIP) -e '.[test,torch]'
	@touch $@

lab: $(LAB_STAMP)
	@$(BIN)/lora-course lab --port=$(PORT)

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=10

# Appendix 06 only: tests/torch/ and notebooks 06 (conftest.py collects them only with --torch).
test-torch: $(TORCH_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --torch tests/torch solutions/06_torch_and_peft.ipynb notebooks/06_torch_and_peft.ipynb

notebooks: $(LAB_STAMP)
	$(BIN)/lora-course student --execute

bench-widgets: $(TEST_STAMP)
	$(BIN)/python benchmarks/widget_speed.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
