# Two commands: `make lab` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What a student needs (the course and JupyterLab), and on top of it the test tools, for `make test` only.
LAB_STAMP  := $(VENV)/.installed-lab
TEST_STAMP := $(VENV)/.installed-test
PORT   ?= 8888

.PHONY: lab test notebooks bench-widgets lint clean help

help:
	@echo "make lab        set up .venv, copy the lessons into my-notebooks/ and serve them in JupyterLab"
	@echo "make test       set up .venv with the test tools and run every test, notebooks included"
	@echo "make notebooks  regenerate notebooks/ from solutions/ and re-execute both"
	@echo "make bench-widgets  time every widget's compute function (limit 100 ms)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(LAB_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing the course and JupyterLab into $(VENV)/ (the first time takes a few minutes)"
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e .
	@touch $@

$(TEST_STAMP): $(LAB_STAMP)
	$(BIN)/python -m pip install -e '.[test]'
	@touch $@

lab: $(LAB_STAMP)
	$(BIN)/lora-course lab --port=$(PORT)

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --durations=5

notebooks: $(LAB_STAMP)
	$(BIN)/lora-course student --execute

bench-widgets: $(LAB_STAMP)
	$(BIN)/python benchmarks/widget_speed.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
