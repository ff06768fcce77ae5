"""Before a GPU run: roughly how many GPU-hours each open model's pending jobs will take.

A planning figure, not a promise: tokens are counted from lm-eval's own task objects (four
characters a token, each few-shot example as long as the question, every answer choice scored
with its whole context, since vLLM runs log-likelihood jobs without its prefix cache; generation
at the task's full allowance), then priced on an H100-class GPU: prefill at 40% of its bf16
peak, decoding 64 sequences at a time at half its memory bandwidth, weights in 16 bits read once
per step, loading at 1 GB/s. MoE models prefill with their active parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PEAK_FLOPS = 989e12
"""bf16 dense FLOP/s of one H100 SXM."""
PREFILL_EFFICIENCY = 0.4
MEMORY_BANDWIDTH = 3.35e12
"""Bytes/s of one H100 SXM's HBM3."""
DECODE_EFFICIENCY = 0.5
DECODE_BATCH = 64
LOAD_BYTES_PER_S = 1e9
BYTES_PER_PARAM = 2
CHARS_PER_TOKEN = 4


@dataclass
class GpuEstimate:
    """One model's pending GPU work."""

    model_id: str
    gpus: float
    prefill_tokens: int = 0
    decode_tokens: int = 0
    hours: float | None = 0.0
    """GPU-hours (GPUs x wall hours); None when the model's size is unknown."""
    uncounted: list[str] = field(default_factory=list)
    """Tasks whose documents could not be loaded to count (the figures leave them out)."""


def estimate_gpu_hours(jobs: list[Any], manager: Any) -> list[GpuEstimate]:
    """Per open model on GPUs, its pending tokens and GPU-hours."""
    from openvsclosed.catalog import load_catalog
    from openvsclosed.models.vllm_engine import gpus_per_copy

    catalog = load_catalog()
    counted: dict[tuple, tuple[int, int] | str] = {}
    out: dict[str, GpuEstimate] = {}
    for job in jobs:
        spec = job.model
        gpus = gpus_per_copy(spec)
        if spec.is_api or not gpus:
            continue
        fields = job.key_fields
        shape = (job.lm_eval_task, fields.limit, fields.num_fewshot)
        if shape not in counted:
            try:
                counted[shape] = _tokens(manager, *shape)
            except Exception as exc:
                counted[shape] = f"{job.lm_eval_task}: {type(exc).__name__}: {str(exc)[:120]}"
        est = out.setdefault(spec.id, GpuEstimate(spec.id, gpus))
        found = counted[shape]
        if isinstance(found, str):
            est.uncounted.append(found)
            continue
        est.prefill_tokens += found[0]
        est.decode_tokens += found[1]
    for est in out.values():
        entry = catalog.get(est.model_id)
        spec = next(j.model for j in jobs if j.model.id == est.model_id)
        total = spec.params_b or (entry.params_b if entry else None)
        active = (entry.active_params_b if entry else None) or total
        if total is None:
            est.hours = None
            continue
        seconds = (2 * active * 1e9 * est.prefill_tokens / (PEAK_FLOPS * PREFILL_EFFICIENCY
                                                              * est.gpus)
                   + est.decode_tokens / DECODE_BATCH * BYTES_PER_PARAM * total * 1e9
                   / (MEMORY_BANDWIDTH * DECODE_EFFICIENCY * est.gpus)
                   + BYTES_PER_PARAM * total * 1e9 / LOAD_BYTES_PER_S)
        est.hours = est.gpus * seconds / 3600
    return list(out.values())


def _tokens(manager: Any, task_name: str, limit: float | None,
            shots: int | None) -> tuple[int, int]:
    """(prefill tokens, generated tokens) of one task at one limit and shot count."""
    from openvsclosed.estimate import DEFAULT_MAX_OUTPUT, limited_docs
    from openvsclosed.taskindex import LOGLIKELIHOOD_TYPES

    prefill = decode = 0
    for task in manager.load([task_name])["tasks"].values():
        kind = task.config.output_type
        max_out = int((task.config.generation_kwargs or {}).get("max_gen_toks",
                                                                DEFAULT_MAX_OUTPUT))
        for doc in limited_docs(task, limit):
            context = len(str(task.doc_to_text(doc))) * (1 + (shots or 0)) // CHARS_PER_TOKEN
            if kind in LOGLIKELIHOOD_TYPES:
                choices = task.doc_to_choice(doc) if kind == "multiple_choice" else [""]
                prefill += sum(context + len(str(c)) // CHARS_PER_TOKEN + 1 for c in choices)
            else:
                prefill += context
                decode += max_out
    return prefill, decode
