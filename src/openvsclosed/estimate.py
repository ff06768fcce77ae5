"""Before any spend: how many API requests and tokens a plan will send, and what they cost.

Counts come from lm-eval's own task objects (documents after --limit, prompts with few-shot
examples); tokens are estimated at four characters each, outputs at the task's full
allowance, so the figure is an upper bound. Cached responses will make the real cost lower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHARS_PER_TOKEN = 4
CHAT_OVERHEAD_TOKENS = 12
DEFAULT_MAX_OUTPUT = 256


@dataclass
class SpendEstimate:
    """One model's estimated requests, tokens and dollars over its pending jobs."""

    model_id: str
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float | None = 0.0
    uncounted: list[str] = field(default_factory=list)
    """Tasks whose documents could not be loaded to count (the figures leave them out)."""


def estimate_jobs(jobs: list[Any], manager: Any) -> list[SpendEstimate]:
    """Per model, the requests and tokens its pending jobs would send."""
    out: dict[str, SpendEstimate] = {}
    counted: dict[tuple, tuple[int, int, int] | str] = {}
    for job in jobs:
        fields = job.key_fields
        shape = (job.lm_eval_task, fields.limit, fields.num_fewshot)
        if shape not in counted:  # the same task is loaded once, however many models run it
            try:
                counted[shape] = _count(manager, *shape)
            except Exception as exc:
                counted[shape] = f"{job.lm_eval_task}: {type(exc).__name__}: {str(exc)[:120]}"
        est = out.setdefault(job.model.id, SpendEstimate(job.model.id))
        if isinstance(counted[shape], str):
            est.uncounted.append(str(counted[shape]))
            continue
        requests, tokens_in, tokens_out = counted[shape]
        tokens_out = requests * output_allowance(job.model, tokens_out // max(requests, 1))
        est.requests += requests
        est.input_tokens += tokens_in
        est.output_tokens += tokens_out
        price_in, price_out = job.model.input_per_m, job.model.output_per_m
        if price_in is None or price_out is None:
            est.usd = None
        elif est.usd is not None:
            est.usd += (tokens_in * price_in + tokens_out * price_out) / 1e6
    return list(out.values())


def output_allowance(spec: Any, task_cap: int) -> int:
    """Output tokens one request may use: the task's cap, or the reasoning budget on the wire."""
    if not getattr(spec, "is_api", False):
        return task_cap
    from openvsclosed.models.wire import shape_payload, wire_settings

    wire = wire_settings(spec)
    body = shape_payload({"max_tokens": task_cap, "messages": []}, wire)
    return int(body.get(wire.token_limit) or task_cap)


def limited_docs(task: Any, limit: float | None) -> list[Any]:
    """The documents a run evaluates: test (else validation) docs, cut as lm-eval cuts --limit."""
    docs = list(task.test_docs() if task.has_test_docs() else task.validation_docs())
    count = len(docs) if limit is None else (
        int(limit) if limit >= 1 else int(len(docs) * limit + 0.999))
    return docs[:count]


def _count(manager: Any, task_name: str, limit: float | None,
           shots: int | None) -> tuple[int, int, int]:
    """(requests, input tokens, output tokens) of one task at one limit and shot count."""
    requests = tokens_in = tokens_out = 0
    for task in manager.load([task_name])["tasks"].values():
        max_out = int((task.config.generation_kwargs or {}).get("max_gen_toks",
                                                                DEFAULT_MAX_OUTPUT))
        for doc in limited_docs(task, limit):
            requests += 1
            tokens_in += len(str(task.doc_to_text(doc))) * (1 + (shots or 0)) // \
                CHARS_PER_TOKEN + CHAT_OVERHEAD_TOKENS
            tokens_out += max_out
    return requests, tokens_in, tokens_out
