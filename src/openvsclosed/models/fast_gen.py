"""Batched greedy generation for local `hf` models: lm-eval's batch-1 completions, many at a time.

lm-eval's `hf` runs `generate_until` one prompt per `model.generate` call at batch size 1 (and
with a larger batch, every sequence runs until the batch's last stop string). Here many prompts
share each forward instead (`models/greedy_batch.py`):

1. each prompt is encoded exactly as `HFLM.generate_until` encodes it (`tok_batch_encode` of the
   prompt alone, left-truncated to `max_length - max_gen_toks`);
2. prompts are sorted by length and batched; a prefix all of a batch's prompts share runs once;
   the rest prefills in groups of about equal length (long prompts alone on CPU), and decoding
   runs batched with the KV cache;
3. each step takes the argmax of the last position's float32 logits (greedy, as `generate`);
4. each sequence stops as `generate` with lm-eval's stopping criteria stops it at batch 1
   (`models/stops.py`); a stopped row leaves the batch, and the batch ends with its last row;
5. the text is decoded, thinking-stripped and cut at the stop strings as `HFLM` does.

Anything this path does not reproduce (sampling, generation kwargs beyond greedy, logits
processors from the model's generation config, seq2seq) goes to lm-eval's own loop. Numerics:
a padded batch runs different kernels than a batch of one, so logits differ in the last bits;
a completion can differ only where two tokens' logits tie to that precision (fp32: rare; fp16
or bf16: less rare). These modules import only each other from openvsclosed, so a bench script
can load them by file path (`fast_hf.sibling`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lm_eval.models.utils import (
    handle_stop_sequences,
    normalize_gen_kwargs,
    postprocess_generated_text,
)
from tqdm import tqdm

from openvsclosed.models.greedy_batch import BatchedGreedy

log = logging.getLogger(__name__)

FAST_GENERATOR = "ovc-fast-generation"
_GREEDY_KEYS = {"do_sample", "temperature"}
_NEUTRAL_CONFIG = {  # generation-config fields that change greedy logits when set otherwise
    "repetition_penalty": (None, 1.0), "encoder_repetition_penalty": (None, 1.0),
    "no_repeat_ngram_size": (None, 0), "encoder_no_repeat_ngram_size": (None, 0),
    "min_length": (None, 0), "min_new_tokens": (None, 0), "bad_words_ids": (None,),
    "suppress_tokens": (None,), "begin_suppress_tokens": (None,), "forced_bos_token_id": (None,),
    "forced_eos_token_id": (None,), "sequence_bias": (None,), "num_beams": (None, 1),
    "exponential_decay_length_penalty": (None,), "renormalize_logits": (None, False),
    "guidance_scale": (None, 1.0), "watermarking_config": (None,), "penalty_alpha": (None,),
    "assistant_model": (None,), "prompt_lookup_num_tokens": (None,), "max_matching_ngram_size":
    (None,), "dola_layers": (None,), "low_memory": (None, False), "cache_implementation": (None,),
}


def unsupported_reason(lm: Any) -> str | None:
    """Why this model's generation must go through lm-eval's loop, or None."""
    if getattr(lm, "backend", None) != "causal":
        return "not a causal LM"
    config = getattr(lm.model, "generation_config", None)
    for name, neutral in _NEUTRAL_CONFIG.items():
        value = getattr(config, name, None)
        if value not in neutral and not (isinstance(value, list | tuple) and not value):
            return f"the model's generation config sets {name}={value!r}"
    return None


def fast_generate_until(lm: Any, requests: list[Any], disable_tqdm: bool,
                        plain: Callable[[list[Any], bool], list[str]],
                        stats: dict[str, int] | None = None) -> list[str]:
    """`HFLM.generate_until`'s answers for `requests`; the greedy groups batched, the rest plain."""
    results: list[str | None] = [None] * len(requests)
    reason = unsupported_reason(lm)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(repr(sorted(r.args[1].items(), key=lambda kv: kv[0])), []).append(i)
    pbar = tqdm(total=len(requests), disable=disable_tqdm or getattr(lm, "rank", 0) != 0,
                desc="Running generate_until requests (ovc batched generation)")
    for members in groups.values():
        gen_kwargs = requests[members[0]].args[1]
        kwargs = normalize_gen_kwargs(gen_kwargs, lm.max_gen_toks)
        eos = lm.tok_decode(lm.eot_token_id, skip_special_tokens=False)
        until = handle_stop_sequences(kwargs.pop("until", None), eos=eos)
        max_gen_toks = int(kwargs.pop("max_gen_toks"))
        extra = set(kwargs) - _GREEDY_KEYS
        sampling = kwargs.get("do_sample") or float(kwargs.get("temperature") or 0)
        why = reason or (f"generation kwargs {sorted(extra)}" if extra else None) or (
            "sampling" if sampling else None)
        if why:
            log.info("generation through lm-eval's loop: %s", why)
            answers = plain([requests[i] for i in members], disable_tqdm)
            for i, a in zip(members, answers, strict=True):
                results[i] = a
            pbar.update(len(members))
            continue
        contexts = [requests[i].args[0] for i in members]
        outs = BatchedGreedy(lm, stats).run(contexts, until, max_gen_toks, pbar)
        for i, context, toks in zip(members, contexts, outs, strict=True):
            text = finish_text(lm, toks, until)
            results[i] = text
            lm.cache_hook.add_partial("generate_until", (context, gen_kwargs), text)
    pbar.close()
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def finish_text(lm: Any, toks: list[int], until: list[str]) -> str:
    """`HFLM.generate_until`'s text from generated tokens: thinking cut, decoded, stop-cut."""
    think = getattr(lm, "think_end_token", None)
    if isinstance(think, int):
        marks = [i for i, t in enumerate(toks) if t == think]
        if marks:
            toks = toks[marks[-1] + 1:]
    text = lm.tok_decode(toks)
    if isinstance(think, int):
        text = text.lstrip()
    return postprocess_generated_text(generation=text, stop=until,
                                      think_end_token=think if isinstance(think, str) else None)
