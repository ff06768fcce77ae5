"""lm-eval's `generate_until` answered through a provider batch instead of live calls.

It mirrors `TemplateAPI.generate_until` (lm-eval 0.4.13) for chat and text requests: each
request's body comes from the same `_payload(messages, generate, gen_kwargs)` a live call
builds, replies go through the same `parse_generations`, a missing reply becomes lm-eval's
placeholder, answers come back in the requests' own order, and each answer is offered to
lm-eval's cache hook under `(context, gen_kwargs)` as its live loop does.
"""

from __future__ import annotations

from typing import Any


def generate_until_batched(lm: Any, requests: list[Any]) -> list[str]:
    """Answers for lm-eval's generation requests, sent as provider batches."""
    from lm_eval.models.api_models import LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER

    from openvsclosed.models.transport import ApiError

    if lm.private_rows or lm.loopback_only:
        raise ApiError(
            "this task is private and its model has batch on: a provider batch keeps its "
            "prompts on the provider's servers for days, so private rows never go into one. "
            "Set `batch: false` on this model to run private tasks live.")
    if not requests:
        return []
    args = [req.args for req in requests]
    if lm.tokenized_requests or any(len(a) > 2 for a in args):
        raise ApiError("batch mode sends text and chat requests only (no token-id or image "
                       "requests); set `batch: false` on this model for this task")
    contexts = [a[0] for a in args]
    all_gen_kwargs = [a[1] for a in args]
    payloads = [lm._payload([context], True, gen_kwargs)
                for context, gen_kwargs in zip(contexts, all_gen_kwargs, strict=True)]
    bodies = lm.batcher.answer(payloads)
    answers: list[str] = []
    for context, gen_kwargs, body in zip(contexts, all_gen_kwargs, bodies, strict=True):
        texts = lm.parse_generations(outputs=body, contexts=[context])
        text = texts[0] if texts else None
        if text is None:
            answers.append(LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER)
            continue
        answers.append(text)
        lm.cache_hook.add_partial("generate_until", (context, gen_kwargs), text)
    return answers
