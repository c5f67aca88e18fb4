# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench mutate install clean

# The install log is kept out of sight unless it fails.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Dyno Doctor into $(VENV) (log: $(VENV)/install.log) ..."
	@{ $(BIN)/python -m pip install --upgrade pip && $(BIN)/python -m pip install -e '.[dev]'; } \
		> $(VENV)/install.log 2>&1 || { tail -n 30 $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/dynodoc run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Mutation testing, module by module, each within a time budget (not part of `make test`: minutes, not
# seconds). `make mutate MODULES="logs redact"` runs some of them; scores are kept in bench/MUTATION.md.
mutate: $(STAMP)
	@$(BIN)/python bench/mutate.py $(MODULES)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mutmut mutants
