"""The one backend table: every way of reaching a model, declared once.

Like inspect_ai's provider table, each backend is one entry: whether it runs weights here or
calls an API, the lm-eval class serving it, its key variable, default endpoint and wire style,
its provider batch protocol, and the extra to install with the modules that extra brings.
`config`, `catalog`, `models` and the executors read their facts here, so adding a backend is
one entry plus its class. Pure data: importing this module imports nothing of the project.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

Runs = Literal["local", "api"]
Style = Literal["openai", "anthropic"]
BatchProtocol = Literal["openai", "anthropic", "gemini"]


@dataclass(frozen=True)
class Backend:
    """How one backend reaches a model; see the module docstring for why it is one table."""

    name: str
    runs: Runs
    """`local`: weights on this machine (log-likelihoods and generation); `api`: chat only."""
    lm_eval_model: str
    """The name lm-eval's registry serves it under (`ovc-` names are ours)."""
    summary: str
    key_env: str | None = None
    """The provider's usual key variable (what the catalog's entries name and hints show)."""
    base_url: str | None = None
    """The endpoint used when a spec gives none (None: a spec must give one)."""
    style: Style | None = None
    """The request and reply shape an API speaks."""
    wire: str | None = None
    """The wire profile (data/wire_profiles.yaml) of a model that names none."""
    google_thinking: bool = False
    """Gemini's OpenAI-compatible endpoint takes a thinking budget under extra_body.google."""
    batch: BatchProtocol | None = None
    """The provider batch protocol (half price, results within a day); None: live calls only."""
    extra: str | None = None
    """The `openvsclosed[extra]` that installs what it needs."""
    modules: tuple[str, ...] = ()
    """Modules that must import for it to work (checked without importing them)."""

    @property
    def is_api(self) -> bool:
        """Whether prompts go over HTTP to a server (no log-likelihoods)."""
        return self.runs == "api"

    def install_line(self) -> str | None:
        """How to install what it lacks here, or None when nothing is missing."""
        missing = [m for m in self.modules if importlib.util.find_spec(m) is None]
        if not missing:
            return None
        extra = f"pip install 'openvsclosed[{self.extra}]'" if self.extra else "pip install"
        torch_first = (" (install torch first: pip install torch, which is the CUDA build on "
                       "Linux; a CPU-only machine can use the CPU wheel index)"
                       if "torch" in missing else "")
        return (f"backend {self.name} needs {', '.join(missing)}, not installed here; "
                f"install with {extra}{torch_first}")


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("hf", "local", "hf", "transformers weights on this machine (GGUF included)",
            extra="local", modules=("torch", "transformers", "accelerate")),
    Backend("vllm", "local", "vllm", "vLLM on this machine's GPUs", extra="vllm",
            modules=("vllm",)),
    Backend("fake", "local", "ovc-fake", "a deterministic fake model for tests and demos"),
    Backend("openai", "api", "ovc-openai-chat", "OpenAI's chat completions",
            key_env="OPENAI_API_KEY", base_url="https://api.openai.com/v1/chat/completions",
            style="openai", wire="openai-chat", batch="openai"),
    Backend("anthropic", "api", "ovc-anthropic-chat", "Anthropic's messages API",
            key_env="ANTHROPIC_API_KEY", base_url="https://api.anthropic.com/v1/messages",
            style="anthropic", wire="anthropic", batch="anthropic"),
    Backend("gemini", "api", "ovc-local-chat", "Gemini through Google's OpenAI-compatible "
            "endpoint", key_env="GEMINI_API_KEY",
            base_url="https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
            style="openai", wire="openai-chat", google_thinking=True, batch="gemini"),
    Backend("openai-compatible", "api", "ovc-local-chat", "any OpenAI-compatible server "
            "(vLLM, llama.cpp, a hosted provider)", style="openai", wire="openai-chat"),
)}
"""Every backend by name, in the order errors and docs list them."""

FAST_HF = "ovc-hf-fast"
"""lm-eval's `hf` with our prefix-sharing log-likelihood scorer and batched greedy generation
(`models/fast_hf.py`), served in place of `hf` when a spec keeps either fast path on."""

LOCAL = tuple(name for name, b in BACKENDS.items() if b.runs == "local")
API = tuple(name for name, b in BACKENDS.items() if b.runs == "api")


def backend(name: str) -> Backend:
    """The table's entry for `name` (a config already refused unknown names)."""
    return BACKENDS[name]
