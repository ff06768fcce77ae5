"""Our model classes in lm-eval's registry, registered once and only after lm-eval's own."""

from __future__ import annotations

from typing import Any

from openvsclosed.backends import FAST_HF, backend


def ensure_registered() -> None:
    """Register the `ovc-` classes; lm-eval's registry fills itself only while empty."""
    import lm_eval.models  # noqa: F401  (fills the registry first)
    from lm_eval.api.registry import model_registry

    if "ovc-fake" not in model_registry:
        from openvsclosed.models.api_classes import chat_classes
        from openvsclosed.models.fake import FakeLM

        model_registry.register("ovc-fake")(FakeLM)
        for name, cls in chat_classes().items():
            model_registry.register(name)(cls)
    if FAST_HF not in model_registry:  # lazy: torch and transformers load only when it is used
        model_registry.register(FAST_HF, target="openvsclosed.models.fast_hf:FastHFLM")


def lm_eval_model_class(name: str, fast_scoring: bool = False) -> Any:
    """The lm-eval LM class serving backend `name` (`hf` with fast scoring or generation: ours)."""
    ensure_registered()
    from lm_eval.api.registry import get_model

    return get_model(FAST_HF if name == "hf" and fast_scoring else backend(name).lm_eval_model)
