"""How a `vllm` model is laid out on its GPUs, and the settings the project fixes for fidelity.

Kept apart from `load_model` so the derivation is testable without vLLM or a GPU.
"""

from __future__ import annotations

import math
from typing import Any


def gpus_per_copy(spec: Any) -> float:
    """GPUs one copy of a model holds: the spec's (catalog default), else 1 for vLLM, else 0."""
    if getattr(spec, "num_gpus", None) is not None:
        return float(spec.num_gpus)
    return 1.0 if spec.backend == "vllm" else 0.0


def vllm_engine_args(spec: Any, *, data_parallel: int | None = None,
                     loglikelihood: bool = True) -> dict[str, Any]:
    """tensor_parallel_size from the GPUs per copy, data_parallel_size from the copies.

    `data_parallel`: copies lm-eval runs itself (through Ray) inside one process; the Ray
    executor passes 1 because its copies are separate actors. Prefix caching is off whenever the
    model scores log-likelihoods: vLLM's prefix cache makes prompt log-probabilities depend on
    request order (vllm issue 42019), so two runs of one job could disagree.
    """
    tensor = max(1, math.ceil(gpus_per_copy(spec)))
    copies = spec.replicas if data_parallel is None else data_parallel
    return {"tensor_parallel_size": tensor, "data_parallel_size": max(1, int(copies)),
            "enable_prefix_caching": not loglikelihood}
