"""Batched greedy generation for local `hf` models: lm-eval's batch-1 completions, many at a time.

lm-eval's `hf` runs `generate_until` one prompt per `model.generate` call at batch size 1 (and
with a larger batch, every sequence runs until the batch's last stop string). Here many prompts
share each forward instead:

1. each prompt is encoded exactly as `HFLM.generate_until` encodes it (`tok_batch_encode` of the
   prompt alone, left-truncated to `max_length - max_gen_toks`);
2. prompts are sorted by length and batched by a token budget; a prefix all of a batch's
   prompts share (a few-shot block, a chat template's system turn) runs once; then the batch
   runs as one left-padded forward, except long prompts on CPU, which run one by one (no
   padding to pay for) with their caches merged left-padded; decoding runs batched with the
   KV cache, position ids from the attention mask as `model.generate` derives them;
3. each step takes the argmax of the last position's float32 logits (greedy, as `generate`);
4. each sequence stops as `generate` with lm-eval's stopping criteria stops it at batch 1: on an
   EOS id, at `max_gen_toks`, or when a stop string appears in the decoded last
   `len(encode(stop)) + 2` generated tokens; a stopped row leaves the batch (its cache rows too),
   and the batch ends when its last sequence stops;
5. the text is decoded, thinking-stripped and cut at the stop strings as `HFLM` does.

Anything this path does not reproduce (sampling, generation kwargs beyond greedy, logits
processors from the model's generation config, seq2seq) goes to lm-eval's own loop. Numerics:
a padded batch runs different kernels than a batch of one, so logits differ in the last bits;
a completion can differ only where two tokens' logits tie to that precision (fp32: rare; fp16
or bf16: less rare). This module imports nothing from openvsclosed, so a bench script can load
it by file path alone.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from lm_eval.models.utils import (
    handle_stop_sequences,
    normalize_gen_kwargs,
    postprocess_generated_text,
)
from tqdm import tqdm

log = logging.getLogger(__name__)

FAST_GENERATOR = "ovc-fast-generation"
LONG_PROMPT = 256
"""CPU: prompts (past the shared prefix) this long run one by one, unpadded; shorter ones run
as one padded batch, as a CPU multiplies a few dozen rows less efficiently than thousands
(SmolLM2, ARC-Easy by chat: 20% padding still cost less than 40 single-prompt forwards)."""

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


@dataclass
class _Seq:
    """One prompt being completed."""

    index: int
    prompt: list[int]
    out: list[int] = field(default_factory=list)


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


def eos_ids(lm: Any) -> set[int]:
    """The token ids `generate` stops a sequence on (the generation config's, else the config's)."""
    ids = getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None)
    if ids is None:
        ids = getattr(lm.model.config, "eos_token_id", None)
    if ids is None:
        return set()
    return {int(i) for i in (ids if isinstance(ids, list | tuple) else [ids])}


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


class BatchedGreedy:
    """Greedy completions of many prompts at once, each stopping as at batch size 1."""

    def __init__(self, lm: Any, stats: dict[str, int] | None = None) -> None:
        """`lm`: an lm-eval `HFLM` (its model, tokenizer, device, max_length and settings)."""
        self.lm, self.model, self.tok = lm, lm.model, lm.tokenizer
        self.device = lm.device
        self.eos = eos_ids(lm)
        self.stats = stats if stats is not None else {}
        params = inspect.signature(self.model.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        self.keep_arg = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params),
                             None)

    # ---- planning -------------------------------------------------------------------------
    def encode(self, contexts: list[str], max_gen_toks: int) -> list[list[int]]:
        """Each prompt's tokens as `HFLM.generate_until` makes them at batch size 1."""
        max_ctx = self.lm.max_length - max_gen_toks
        assert max_ctx > 0, (f"max_gen_toks ({max_gen_toks}) must be less than the model's "
                             f"maximum sequence length ({self.lm.max_length})")
        return [self.lm.tok_batch_encode([c], left_truncate_len=max_ctx,
                                         truncation=self.lm.truncation)[0][0].tolist()
                for c in contexts]

    def budget(self, max_gen_toks: int) -> tuple[int, int]:
        """(rows, prompt + generated tokens) per batch: rows from `fast_gen_batch`, else by device.

        CPU: 32 rows (decoding 32 rows costs ~3x one row), 16k tokens; GPU: 256 rows, and as
        many tokens as half the free memory holds in KV cache.
        """
        rows = getattr(self.lm, "fast_gen_batch", None)
        if self.device.type != "cuda":
            return int(rows or 32), 16384
        cfg = self.model.config
        hidden = int(getattr(cfg, "hidden_size", 4096))
        layers = int(getattr(cfg, "num_hidden_layers", 32))
        heads = int(getattr(cfg, "num_attention_heads", 32))
        kv = int(getattr(cfg, "num_key_value_heads", heads)) * int(
            getattr(cfg, "head_dim", None) or hidden // heads)
        size = torch.finfo(self.model.dtype).bits // 8
        per_token = 2 * layers * kv * size  # the KV cache; activations are per row, not token
        free, _ = torch.cuda.mem_get_info(self.device)
        return int(rows or 256), max(4096, min(1 << 22, free // 2 // per_token))

    @staticmethod
    def batches(seqs: list[_Seq], rows: int, tokens: int, max_gen_toks: int,
                slack: float) -> list[list[_Seq]]:
        """Longest first; a batch grows while it fits and its padding stays within `slack`."""
        order = sorted(seqs, key=lambda s: -len(s.prompt))
        out: list[list[_Seq]] = []
        start = 0
        while start < len(order):
            width, real, end = len(order[start].prompt), 0, start
            while end < len(order):
                n, real_next = end - start + 1, real + len(order[end].prompt)
                if end > start and (n > rows or n * (width + max_gen_toks) > tokens
                                    or n * width > slack * real_next):
                    break
                real, end = real_next, end + 1
            out.append(order[start:end])
            start = end
        return out

    def run(self, contexts: list[str], until: list[str], max_gen_toks: int,
            pbar: Any = None) -> list[list[int]]:
        """The generated tokens of each context (EOS and stop tokens included, as `generate`)."""
        seqs = [_Seq(i, p) for i, p in enumerate(self.encode(contexts, max_gen_toks))]
        stops = [(s, len(self.tok.encode(s, add_special_tokens=False)) + 2) for s in until]
        rows, tokens = self.budget(max_gen_toks)
        slack = 1.25 if self.device.type == "cpu" else 2.0
        for batch in self.batches(seqs, rows, tokens, max_gen_toks, slack):
            self._generate(batch, stops, max_gen_toks, pbar)
        return [s.out for s in seqs]

    # ---- execution ------------------------------------------------------------------------
    def _stopped(self, seq: _Seq, stops: list[tuple[str, int]], max_gen_toks: int) -> bool:
        """`generate`'s verdict after a token: EOS, length, or lm-eval's stop-string criterion."""
        if seq.out[-1] in self.eos or len(seq.out) >= max_gen_toks:
            return True
        return any(s in self.tok.decode(seq.out[-n:]) for s, n in stops)

    def _count(self, name: str, n: int) -> None:
        self.stats[name] = self.stats.get(name, 0) + n

    def _shared_prefix(self, batch: list[_Seq]) -> int:
        """Tokens all prompts share (each keeps one of its own), if worth a separate forward."""
        if len(batch) < 2:
            return 0
        first, p = batch[0].prompt, min(len(s.prompt) for s in batch) - 1
        for s in batch[1:]:
            i = 0
            while i < p and s.prompt[i] == first[i]:
                i += 1
            p = i
        return p if p >= 16 else 0

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor,
                 cache: Any) -> torch.Tensor:
        """The last position's float32 logits (what greedy `generate` takes the argmax of)."""
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask,
                                  "position_ids": pos, self.cache_arg: cache, "use_cache": True}
        if self.keep_arg:
            kwargs[self.keep_arg] = 1
        dtype = self.lm.mixed_precision_dtype
        with torch.no_grad(), torch.autocast(device_type=self.device.type, dtype=dtype,
                                             enabled=dtype is not None):
            out = self.model(**kwargs)
        self._count("forward_calls", 1)
        return out.logits[:, -1, :].to(dtype=torch.float32)

    def _generate(self, batch: list[_Seq], stops: list[tuple[str, int]], max_gen_toks: int,
                  pbar: Any) -> None:
        p = self._shared_prefix(batch)
        prefix = self._prefix_kv(batch[0].prompt[:p]) if p else []
        self._count("prefix_tokens", p)
        self._count("prompt_tokens", sum(len(s.prompt) - p for s in batch))
        if self.device.type == "cpu" and min(len(s.prompt) for s in batch) - p >= LONG_PROMPT:
            logits, cache, mask = self._prefill_each(batch, p, prefix)
        else:
            logits, cache, mask = self._prefill_padded(batch, p, prefix)
        pos = mask.sum(-1, keepdim=True) - 1  # each row's last position
        active = list(batch)
        while True:
            nxt = logits.argmax(-1).tolist()
            keep: list[int] = []
            for b, (s, t) in enumerate(zip(active, nxt, strict=True)):
                s.out.append(int(t))
                if self._stopped(s, stops, max_gen_toks):
                    if pbar is not None:
                        pbar.update(1)
                else:
                    keep.append(b)
            self._count("generated_tokens", len(active))
            if not keep:
                return
            if len(keep) < len(active):  # stopped rows leave the batch, cache rows included
                index = torch.tensor(keep, dtype=torch.long, device=self.device)
                cache.batch_select_indices(index)
                mask, pos = mask[index], pos[index]
                active = [active[b] for b in keep]
            step = torch.tensor([[nxt[b]] for b in keep], dtype=torch.long, device=self.device)
            mask = torch.cat([mask, mask.new_ones((len(keep), 1))], dim=1)
            pos = pos + 1
            logits = self._forward(step, mask, pos, cache)

    def _prefix_kv(self, prefix: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The shared prefix's keys and values per layer (one row), from one forward."""
        from transformers import DynamicCache

        cache, dev, p = DynamicCache(), self.device, len(prefix)
        self._forward(torch.tensor([prefix], device=dev),
                      torch.ones((1, p), dtype=torch.long, device=dev),
                      torch.arange(p, device=dev)[None], cache)
        return _layers(cache)

    @staticmethod
    def _cache(layers: list[tuple[torch.Tensor, torch.Tensor]], rows: int = 1) -> Any:
        """A fresh cache holding `layers` for `rows` rows (the tensors are not copied)."""
        from transformers import DynamicCache

        cache = DynamicCache()
        for i, (k, v) in enumerate(layers):
            cache.update(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1), i)
        return cache

    def _prefill_each(self, batch: list[_Seq], p: int,
                      prefix: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[Any, Any, Any]:
        """Long prompts on CPU: each prompt's own forward, caches merged left-padded.

        A CPU forward of a long prompt costs in proportion to its tokens, so batching buys
        nothing and padding costs; without a shared prefix, each row's forward is exactly the
        forward `generate` runs at batch size 1. Decoding then runs batched.
        """
        dev, logits, caches = self.device, [], []
        for s in batch:
            n = len(s.prompt)
            cache = self._cache(prefix) if p else self._cache([])
            logits.append(self._forward(
                torch.tensor([s.prompt[p:]], device=dev),
                torch.ones((1, n), dtype=torch.long, device=dev),
                torch.arange(p, n, device=dev)[None], cache))
            caches.append(_layers(cache))
        width = max(len(s.prompt) for s in batch)
        self._count("padded_prompt_tokens", sum(len(s.prompt) - p for s in batch))
        mask = torch.zeros((len(batch), width), dtype=torch.long, device=dev)
        for b, s in enumerate(batch):
            mask[b, width - len(s.prompt):] = 1
        merged = []
        for layer in range(len(caches[0])):
            k0, v0 = caches[0][layer]
            keys = k0.new_zeros((len(batch), k0.shape[1], width, k0.shape[3]))
            values = v0.new_zeros((len(batch), v0.shape[1], width, v0.shape[3]))
            for b, c in enumerate(caches):
                k, v = c[layer]
                keys[b, :, width - k.shape[2]:] = k[0]
                values[b, :, width - v.shape[2]:] = v[0]
            merged.append((keys, values))
        return torch.cat(logits), self._cache(merged, len(batch)), mask

    def _prefill_padded(self, batch: list[_Seq], p: int,
                        prefix: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[Any, Any, Any]:
        """The prompts in one left-padded forward after the shared prefix (GPU; short on CPU)."""
        dev = self.device
        cache = self._cache(prefix, len(batch)) if p else self._cache([])
        width = max(len(s.prompt) for s in batch) - p
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), p + width), dtype=torch.long)
        mask[:, :p] = 1
        for b, s in enumerate(batch):
            ids[b, p + width - len(s.prompt):] = torch.tensor(s.prompt[p:])
            mask[b, 2 * p + width - len(s.prompt):] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)[:, p:]
        self._count("padded_prompt_tokens", len(batch) * width)
        return self._forward(ids, mask, pos, cache), cache, mask


def _layers(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A DynamicCache's (keys, values) per layer, on transformers before and after 4.56."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers
                if getattr(layer, "keys", None) is not None]
    return list(zip(cache.key_cache, cache.value_cache, strict=True))
