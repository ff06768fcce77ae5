"""Packed log-likelihood scoring: lm-eval `hf`'s numbers from fewer, fuller forwards.

The planning and execution half of `FastHFLM` (`models/fast_hf.py`), as a mixin over lm-eval's
`HFLM`. Each request's tokens are cut exactly as `HFLM` cuts them (the last `max_length + 1`
tokens of context + continuation, the last one not fed), then:

1. requests with the same (truncated) context share one packed row: the context once, then
   every continuation's tokens, each attending to the context and to itself only (a custom 4D
   attention mask) with position ids restarted where the context ends;
2. contexts that share a long token prefix (MMLU's few-shot block of a subject) are clustered;
   the prefix runs once and its KV cache is expanded under every row of the cluster;
3. the output head is applied only at the positions that predict continuation tokens, and the
   log-softmax is taken there alone;
4. rows are sorted by length and batched by a token budget, so padding is small.
"""

from __future__ import annotations

import copy
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from openvsclosed.models.kv_cache import cache_layers, expanded_cache

log = logging.getLogger(__name__)

Request = tuple[Any, list[int], list[int]]


@dataclass
class Cont:
    """One distinct continuation of one context, and the requests that asked for it."""

    targets: list[int]
    requests: list[int]
    positions: list[int] = field(default_factory=list)  # row positions whose logits score it


@dataclass
class Row:
    """One context (minus its cluster prefix) followed by the inputs of its continuations."""

    tokens: list[int]
    positions: list[int]
    segments: list[int]  # 0: context suffix, j > 0: continuation j's tail
    conts: list[Cont]


def common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i



class PackedScorer:
    """`HFLM` methods for packed scoring; `FastHFLM` mixes it in before `HFLM`."""

    # ---- planning --------------------------------------------------------------------------
    def _window(self, ctx: list[int], cont: list[int]) -> tuple[list[int], list[int]]:
        """`HFLM`'s truncation: context part and continuation of the last max_length+1 tokens."""
        assert len(ctx) > 0 and 0 < len(cont) <= self.max_length
        window = (ctx + cont)[-(self.max_length + 1):]
        return window[: len(window) - len(cont)], cont

    def _plan(self, requests: list[Request],
              budget: int) -> list[tuple[list[int], list[Row]]]:
        """Clusters of (shared prefix, rows); the cluster with an empty prefix holds the rest."""
        contexts: dict[tuple[int, ...], dict[tuple[int, ...], Cont]] = {}
        truncated = 0
        for i, (_, ctx, cont) in enumerate(requests):
            c, t = self._window(ctx, cont)
            truncated += len(ctx) + len(cont) > self.max_length + 1
            conts = contexts.setdefault(tuple(c), {})
            conts.setdefault(tuple(t), Cont(list(t), [])).requests.append(i)
        if truncated:
            log.warning("%d requests longer than max_length %d were truncated from the left, "
                        "as lm-eval's hf does", truncated, self.max_length)
        ordered = sorted(contexts)
        clusters: list[list[tuple[int, ...]]] = []
        shared: list[int] = []
        for c in ordered:
            if clusters:
                lcp = common_prefix(clusters[-1][-1], c)
                new = min(shared[-1], lcp) if len(clusters[-1]) > 1 else lcp
                if new >= 16 and (len(clusters[-1]) == 1 or 2 * new >= shared[-1]):
                    clusters[-1].append(c)
                    shared[-1] = new
                    continue
            clusters.append([c])
            shared.append(0)
        plan: list[tuple[list[int], list[Row]]] = []
        loose: list[Row] = []
        for members, lcp in zip(clusters, shared, strict=True):
            p = min([lcp] + [len(c) - 1 for c in members])
            if (len(members) - 1) * p < self.fast_min_saved_tokens:
                p = 0
            rows = [r for c in members for r in self._rows(c, p, contexts[c], budget)]
            if p:
                plan.append((list(members[0][:p]), rows))
            else:
                loose.extend(rows)
        if loose:
            plan.append(([], loose))
        return plan

    def _rows(self, ctx: tuple[int, ...], p: int, conts: dict[Any, Cont],
              budget: int) -> list[Row]:
        """Packed rows for one context; continuations spill into more rows past the budget."""
        suffix = list(ctx[p:])
        rows: list[Row] = []
        row: Row | None = None
        for cont in conts.values():
            tail = cont.targets[:-1]
            if row is None or (len(row.tokens) - len(suffix) + len(tail) > budget // 2
                               and row.conts):  # only many long choices spill the context
                row = Row(list(suffix), list(range(p, len(ctx))), [0] * len(suffix), [])
                rows.append(row)
            start, seg = len(row.tokens), len(row.conts) + 1
            row.tokens += tail
            row.positions += range(len(ctx), len(ctx) + len(tail))
            row.segments += [seg] * len(tail)
            cont.positions = [len(suffix) - 1, *range(start, start + len(tail))]
            row.conts.append(copy.copy(cont))
        return rows

    def _budget(self) -> int:
        """Tokens per forward: given, else 2048 on CPU, else what a third of free memory holds."""
        if self.fast_batch_tokens:
            return int(self.fast_batch_tokens)
        if self.device.type != "cuda":
            return 2048
        cfg = self.model.config
        hidden = int(getattr(cfg, "hidden_size", 4096))
        layers = int(getattr(cfg, "num_hidden_layers", 32))
        inter = int(getattr(cfg, "intermediate_size", 4 * hidden))
        heads = int(getattr(cfg, "num_attention_heads", 32))
        kv = int(getattr(cfg, "num_key_value_heads", heads)) * (hidden // heads)
        size = torch.finfo(self.model.dtype).bits // 8
        per_token = size * (2 * layers * kv + 6 * hidden + 2 * inter) + 12 * cfg.vocab_size
        free, _ = torch.cuda.mem_get_info(self.device)
        return int(max(1024, min(262144, free // 3 // per_token)))

    # ---- execution ----------------------------------------------------------------------
    def _fast_scores(self, requests: list[Request], disable_tqdm: bool,
                     count: bool = True) -> list[tuple[float, bool]]:
        results: list[tuple[float, bool] | None] = [None] * len(requests)
        budget = self._budget()
        plan = self._plan(requests, budget)
        pbar = tqdm(total=len(requests), disable=disable_tqdm or self.rank != 0,
                    desc="Running loglikelihood requests (ovc fast scoring)")
        for prefix, rows in plan:
            cache = self._prefix_cache(prefix, count) if prefix else None
            rows.sort(key=lambda r: -len(r.tokens))
            start = 0
            while start < len(rows):
                batch = self._next_batch(rows, start, budget, len(prefix))
                start += len(batch)
                for cont, answer in self._score_batch(batch, prefix, cache, count):
                    for i in cont.requests:
                        results[i] = answer
                        if requests[i][0] is not None:
                            self.cache_hook.add_partial("loglikelihood", requests[i][0], answer)
                    pbar.update(len(cont.requests))
        pbar.close()
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _next_batch(self, rows: list[Row], start: int, budget: int, prefix: int) -> list[Row]:
        """Rows (longest first) while they fit the budget and padding stays small.

        CPUs pay for every padded token (a fifth at most); GPUs pay more for each extra forward
        than for padding (up to 3x the real tokens).
        """
        slack = 1.2 if self.device.type == "cpu" else 3.0
        width, real, end = len(rows[start].tokens), 0, start
        while end < len(rows):
            n, real_next = end - start + 1, real + len(rows[end].tokens)
            if end > start and (n * (width + prefix // 8) > budget
                                or n * width > slack * real_next):
                break
            real, end = real_next, end + 1
        return rows[start:end]

    def _autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=self.mixed_precision_dtype,
                              enabled=self.mixed_precision_dtype is not None)

    def _prefix_cache(self, prefix: list[int], count: bool) -> Any:
        ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
        with torch.no_grad(), self._autocast(), self._head_on([0], [len(prefix) - 1]):
            out = self.model(input_ids=ids, use_cache=True)
        if count:
            self.fast_stats["prefix_tokens"] += len(prefix)
            self.fast_stats["forward_calls"] += 1
        return cache_layers(next(out[k] for k in ("cache", "past_key_values") if k in out))

    def _cache_arg(self) -> str:
        """The KV cache argument: `cache` in transformers 5.2x, `past_key_values` before."""
        params = inspect.signature(self.model.forward).parameters
        return "cache" if "cache" in params else "past_key_values"

    def _head_on(self, rows: list[int], cols: list[int]) -> Any:
        """Run the output head only on hidden states at (rows, cols): logits come back (1, N, V)."""
        head = self.model.get_output_embeddings()
        index = (torch.tensor(rows, device=self.device), torch.tensor(cols, device=self.device))

        def gather(_module: Any, args: tuple) -> tuple:
            return (args[0][index].unsqueeze(0), *args[1:])

        class _Hook:
            def __enter__(self) -> None:
                self.handle = head.register_forward_pre_hook(gather)

            def __exit__(self, *exc: Any) -> None:
                self.handle.remove()

        return _Hook()

    def _score_batch(self, batch: list[Row], prefix: list[int], cache: Any,
                     count: bool) -> list[tuple[Cont, tuple[float, bool]]]:
        width, p, dev = max(len(r.tokens) for r in batch), len(prefix), self.device
        ids = torch.full((len(batch), width), self.tokenizer.pad_token_id or 0, dtype=torch.long)
        pos = torch.zeros((len(batch), width), dtype=torch.long)
        seg = torch.full((len(batch), width), -1, dtype=torch.long)
        rows, cols, targets = [], [], []
        for b, row in enumerate(batch):
            n = len(row.tokens)
            ids[b, :n] = torch.tensor(row.tokens)
            pos[b, :n] = torch.tensor(row.positions)
            seg[b, :n] = torch.tensor(row.segments)
            for cont in row.conts:
                rows += [b] * len(cont.positions)
                cols += cont.positions
                targets += cont.targets
        q, seg = torch.arange(width, device=dev), seg.to(dev)
        allowed = (q[None, None, :] <= q[None, :, None]) & (
            (seg[:, None, :] == 0) | (seg[:, None, :] == seg[:, :, None]))
        dtype = self.mixed_precision_dtype or self.model.dtype
        mask = torch.zeros((len(batch), 1, width, p + width), dtype=dtype, device=dev)
        mask[:, 0, :, p:].masked_fill_(~allowed, torch.finfo(dtype).min)  # prefix: all visible
        kwargs: dict[str, Any] = {"input_ids": ids.to(dev), "position_ids": pos.to(dev),
                                  "attention_mask": mask, "use_cache": cache is not None}
        if cache is not None:
            kwargs[self._cache_arg()] = expanded_cache(cache, len(batch))
        with torch.no_grad(), self._autocast(), self._head_on(rows, cols):
            logits = self.model(**kwargs).logits[0]
        logprobs = F.log_softmax(logits, dim=-1, dtype=self.softmax_dtype)
        target = torch.tensor(targets, device=dev)
        picked = logprobs.gather(1, target[:, None])[:, 0].cpu()  # summed in lm-eval's dtype
        greedy = (logprobs.argmax(-1) == target).tolist()
        if count:
            self.fast_stats["row_tokens"] += sum(len(r.tokens) for r in batch)
            self.fast_stats["padded_tokens"] += len(batch) * width
            self.fast_stats["forward_calls"] += 1
        out, k = [], 0
        for row in batch:
            for cont in row.conts:
                m = len(cont.positions)
                out.append((cont, (float(picked[k:k + m].sum()), all(greedy[k:k + m]))))
                k += m
        return out
