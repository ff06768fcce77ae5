"""Greedy completions of many prompts at once, each stopping where batch size 1 would stop.

The plan for one batch of prompts (sorted longest first, grouped by `BatchedGreedy.batches`):

1. a prefix all of the batch's prompts share (a few-shot block, a chat template's system turn)
   runs once, its KV cache expanded under every row;
2. the rest of the prompts run as prefill groups: on CPU, runs of prompts of about the same
   length in one left-padded forward each (padding costs a CPU as much as a real token, so a
   group grows only while its padding stays within `PREFILL_SLACK`), and long prompts alone;
   on a GPU, the whole batch in one forward (padding is cheaper than another forward there);
3. the groups' caches are merged, each row's tokens at the right edge, into one cache with room
   for the tokens to come (`kv_cache.growing_cache`: no copy of the cache per step);
4. decoding runs batched: position ids from the attention mask, as `model.generate` derives
   them; the argmax of the last position's float32 logits; a row that stops leaves the batch.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from openvsclosed.models.kv_cache import (
    cache_layers,
    expanded_cache,
    growing_cache,
    merged_right_aligned,
)

LONG_PROMPT = 256
"""CPU: a prompt (past the shared prefix) this long runs alone: a forward of that many tokens
keeps a CPU busy, so grouping buys nothing and its padding would cost."""
PREFILL_SLACK = 1.1
"""CPU: a prefill group grows while its padded tokens stay within this factor of its real ones."""


@dataclass
class Seq:
    """One prompt being completed: its tokens and what was generated so far."""

    index: int
    prompt: list[int]
    out: list[int] = field(default_factory=list)


def shared_prefix(batch: list[Seq]) -> int:
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


def prefill_groups(batch: list[Seq], p: int, on_cpu: bool) -> list[list[Seq]]:
    """Consecutive runs of `batch` (longest first) that each prefill in one forward."""
    if not on_cpu:
        return [batch]
    groups: list[list[Seq]] = []
    for s in batch:
        n = len(s.prompt) - p
        if groups and n < LONG_PROMPT:
            group = groups[-1]
            width = len(group[0].prompt) - p
            real = sum(len(g.prompt) - p for g in group) + n
            if width < LONG_PROMPT and (len(group) + 1) * width <= PREFILL_SLACK * real:
                group.append(s)
                continue
        groups.append([s])
    return groups


class BatchedGreedy:
    """Greedy completions of many prompts at once, each stopping as at batch size 1."""

    def __init__(self, lm: Any, stats: dict[str, int] | None = None) -> None:
        """`lm`: an lm-eval `HFLM` (its model, tokenizer, device, max_length and settings)."""
        from openvsclosed.models.stops import eos_ids

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

        CPU: 64 rows (decoding 32 rows costs ~3x one row), 16k tokens; GPU: 256 rows, and as
        many tokens as half the free memory holds in KV cache.
        """
        rows = getattr(self.lm, "fast_gen_batch", None)
        if self.device.type != "cuda":
            return int(rows or 64), 16384
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
    def batches(seqs: list[Seq], rows: int, tokens: int, max_gen_toks: int,
                slack: float | None) -> list[list[Seq]]:
        """Longest first; a batch grows while it fits and (`slack`) its padding stays small.

        CPU (`slack` None): prefill groups keep padding small, so a batch is as large as the
        budget allows; GPU: the batch prefills in one padded forward, padding within `slack`.
        """
        order = sorted(seqs, key=lambda s: -len(s.prompt))
        out: list[list[Seq]] = []
        start = 0
        while start < len(order):
            width, real, end = len(order[start].prompt), 0, start
            while end < len(order):
                n, real_next = end - start + 1, real + len(order[end].prompt)
                if end > start and (n > rows or n * (width + max_gen_toks) > tokens or (
                        slack is not None and n * width > slack * real_next)):
                    break
                real, end = real_next, end + 1
            out.append(order[start:end])
            start = end
        return out

    def run(self, contexts: list[str], until: list[str], max_gen_toks: int,
            pbar: Any = None) -> list[list[int]]:
        """The generated tokens of each context (EOS and stop tokens included, as `generate`)."""
        from openvsclosed.models.stops import StopCheck

        seqs = [Seq(i, p) for i, p in enumerate(self.encode(contexts, max_gen_toks))]
        check = StopCheck(self.tok, until, self.eos, max_gen_toks)
        rows, tokens = self.budget(max_gen_toks)
        slack = None if self.device.type == "cpu" else 2.0
        with torch.inference_mode():
            for batch in self.batches(seqs, rows, tokens, max_gen_toks, slack):
                self._generate(batch, check, max_gen_toks, pbar)
        return [s.out for s in seqs]

    # ---- execution ------------------------------------------------------------------------
    def _count(self, name: str, n: int) -> None:
        self.stats[name] = self.stats.get(name, 0) + n

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor,
                 cache: Any) -> torch.Tensor:
        """The last position's float32 logits (what greedy `generate` takes the argmax of)."""
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask,
                                  "position_ids": pos, self.cache_arg: cache, "use_cache": True}
        if self.keep_arg:
            kwargs[self.keep_arg] = 1
        dtype = self.lm.mixed_precision_dtype
        with torch.inference_mode(), torch.autocast(device_type=self.device.type, dtype=dtype,
                                                    enabled=dtype is not None):
            out = self.model(**kwargs)
        self._count("forward_calls", 1)
        return out.logits[:, -1, :].to(dtype=torch.float32)

    def _generate(self, batch: list[Seq], check: Any, max_gen_toks: int, pbar: Any) -> None:
        started = time.perf_counter()
        p = shared_prefix(batch)
        prefix = self._prefix_kv(batch[0].prompt[:p]) if p else []
        self._count("prefix_tokens", p)
        self._count("prompt_tokens", sum(len(s.prompt) - p for s in batch))
        logits, cache, mask = self._prefill(batch, p, prefix, max_gen_toks)
        self._count("prefill_ms", round(1000 * (time.perf_counter() - started)))
        pos = mask.sum(-1, keepdim=True) - 1  # each row's last position
        active = list(batch)
        while True:
            nxt = logits.argmax(-1).tolist()
            keep: list[int] = []
            for b, (s, t) in enumerate(zip(active, nxt, strict=True)):
                s.out.append(int(t))
                if check.stopped(s.out):
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
        dev, p = self.device, len(prefix)
        cache = expanded_cache([])
        self._forward(torch.tensor([prefix], device=dev),
                      torch.ones((1, p), dtype=torch.long, device=dev),
                      torch.arange(p, device=dev)[None], cache)
        return cache_layers(cache)

    def _prefill(self, batch: list[Seq], p: int, prefix: list[tuple[torch.Tensor, torch.Tensor]],
                 max_gen_toks: int) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Every prompt's first logits, one cache for them all, and its attention mask."""
        logits, parts, masks = [], [], []
        for group in prefill_groups(batch, p, self.device.type == "cpu"):
            group_logits, layers, mask = self._prefill_group(group, p, prefix)
            logits.append(group_logits)
            parts.append(layers)
            masks.append(mask)
        if len(parts) == 1:
            merged, mask = parts[0], masks[0]
        else:
            merged, widths = merged_right_aligned(parts)
            mask = torch.zeros((len(batch), max(widths)), dtype=torch.long, device=self.device)
            start = 0
            for m, w in zip(masks, widths, strict=True):
                mask[start:start + len(m), mask.shape[1] - w:] = m
                start += len(m)
        return torch.cat(logits), growing_cache(merged, max_gen_toks), mask

    def _prefill_group(self, group: list[Seq], p: int,
                       prefix: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[Any, Any, Any]:
        """The group's prompts after the shared prefix in one left-padded forward.

        A group of one has no padding: without a shared prefix, its forward is exactly the one
        `generate` runs at batch size 1.
        """
        dev = self.device
        cache = expanded_cache(prefix, len(group))
        width = max(len(s.prompt) for s in group) - p
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        ids = torch.full((len(group), width), pad, dtype=torch.long)
        mask = torch.zeros((len(group), p + width), dtype=torch.long)
        mask[:, :p] = 1
        for b, s in enumerate(group):
            ids[b, p + width - len(s.prompt):] = torch.tensor(s.prompt[p:])
            mask[b, 2 * p + width - len(s.prompt):] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)[:, p:]
        self._count("padded_prompt_tokens", len(group) * width)
        logits = self._forward(ids, mask, pos, cache)
        return logits, [(k.contiguous(), v.contiguous()) for k, v in cache_layers(cache)], mask
