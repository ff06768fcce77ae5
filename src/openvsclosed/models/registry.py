"""Our model classes in lm-eval's registry, registered once and only after lm-eval's own."""

from __future__ import annotations

from typing import Any

BACKEND_TO_LM_EVAL = {
    "hf": "hf", "vllm": "vllm", "fake": "ovc-fake", "openai": "ovc-openai-chat",
    "anthropic": "ovc-anthropic-chat", "gemini": "ovc-local-chat",
    "openai-compatible": "ovc-local-chat",
}
FAST_HF = "ovc-hf-fast"
"""lm-eval's `hf` with our prefix-sharing log-likelihood scorer (`models/fast_hf.py`) and
batched greedy generation (`models/fast_gen.py`)."""


def ensure_registered() -> None:
    """Register the `ovc-` classes; lm-eval's registry fills itself only while empty."""
    import lm_eval.models  # noqa: F401  (fills the registry first)
    from lm_eval.api.registry import model_registry

    if "ovc-fake" not in model_registry:
        from openvsclosed.models.api import api_classes
        from openvsclosed.models.fake import FakeLM

        model_registry.register("ovc-fake")(FakeLM)
        for name, cls in api_classes().items():
            model_registry.register(name)(cls)
    if FAST_HF not in model_registry:  # lazy: torch and transformers load only when it is used
        model_registry.register(FAST_HF, target="openvsclosed.models.fast_hf:FastHFLM")


def lm_eval_model_class(backend: str, fast_scoring: bool = False) -> Any:
    """The lm-eval LM class serving `backend` (`hf` with fast scoring or generation: ours)."""
    ensure_registered()
    from lm_eval.api.registry import get_model

    return get_model(FAST_HF if backend == "hf" and fast_scoring else BACKEND_TO_LM_EVAL[backend])
