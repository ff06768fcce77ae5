"""Before any spend: how many API requests and tokens a plan will send, and what they cost.

Counts come from lm-eval's own task objects (documents after --limit, prompts with few-shot
examples); tokens are estimated at four characters each, outputs at the task's full
allowance, so the figure is an upper bound. Cached responses will make the real cost lower.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def estimate_jobs(jobs: list[Any], manager: Any) -> list[SpendEstimate]:
    """Per model, the requests and tokens its pending jobs would send."""
    out: dict[str, SpendEstimate] = {}
    for job in jobs:
        est = out.setdefault(job.model.id, SpendEstimate(job.model.id))
        loaded = manager.load([job.lm_eval_task])
        for task in loaded["tasks"].values():
            docs = list(task.test_docs() if task.has_test_docs() else task.validation_docs())
            limit = job.key_fields.limit
            count = len(docs) if limit is None else (
                int(limit) if limit >= 1 else int(len(docs) * limit + 0.999))
            docs = docs[:count]
            shots = job.key_fields.num_fewshot or 0
            gen = (task.config.generation_kwargs or {})
            max_out = int(gen.get("max_gen_toks", DEFAULT_MAX_OUTPUT))
            for doc in docs:
                text = str(task.doc_to_text(doc))
                est.requests += 1
                est.input_tokens += (len(text) * (1 + shots)) // CHARS_PER_TOKEN + \
                    CHAT_OVERHEAD_TOKENS
                est.output_tokens += max_out
        price_in, price_out = job.model.input_per_m, job.model.output_per_m
        if price_in is None or price_out is None:
            est.usd = None
        elif est.usd is not None:
            est.usd = (est.input_tokens * price_in + est.output_tokens * price_out) / 1e6
    return list(out.values())
