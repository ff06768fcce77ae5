"""Fast log-likelihood scoring for local `hf` models: lm-eval's `hf` answers, less recomputation.

`FastHFLM` is lm-eval's `HFLM` with `_loglikelihood_tokens` replaced; tokenization, truncation
and everything else stay lm-eval's. Each request's tokens are cut exactly as `HFLM` cuts them
(the last `max_length + 1` tokens of context + continuation, the last one not fed), then:

1. requests with the same (truncated) context share one packed row: the context once, then
   every continuation's tokens, each attending to the context and to itself only (a custom 4D
   attention mask) with position ids restarted where the context ends;
2. contexts that share a long token prefix (MMLU's few-shot block of a subject) are clustered;
   the prefix runs once and its KV cache is expanded under every row of the cluster;
3. the output head is applied only at the positions that predict continuation tokens, and the
   log-softmax is taken there alone;
4. rows are sorted by length and batched by a token budget, so padding is small.

Results come back in request order with lm-eval's `(log-likelihood, is_greedy)` and go to the
cache hook like `HFLM`'s. The first call checks a few requests against `HFLM`'s own path; on a
mismatch (an attention implementation that ignores custom masks, say) it warns and falls back
to plain scoring for the rest of the model's life. This module imports nothing from
openvsclosed, so a bench script can load it by file path alone.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils import _add_special_kwargs, has_bos_prefix
from tqdm import tqdm

log = logging.getLogger(__name__)

FAST_SCORER = "ovc-fast-loglikelihood"
PLAIN_SCORER = "lm-eval-hf"
FAST_GENERATOR = "ovc-fast-generation"
PLAIN_GENERATOR = "lm-eval-hf"


def _fast_gen() -> Any:
    """`fast_gen`, also when this file was loaded by path (a bench on a bare GPU machine)."""
    try:
        from openvsclosed.models import fast_gen
    except ImportError:
        import importlib.util
        import sys
        from pathlib import Path

        if "ovc_fast_gen" not in sys.modules:
            spec = importlib.util.spec_from_file_location(
                "ovc_fast_gen", Path(__file__).with_name("fast_gen.py"))
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules["ovc_fast_gen"] = module
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        fast_gen = sys.modules["ovc_fast_gen"]
    return fast_gen


def _gguf_parsed_once() -> Any:
    """Parse a GGUF file once while loading (`models/gguf_once.py`); a no-op if unavailable."""
    try:
        from openvsclosed.models.gguf_once import gguf_parsed_once
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return gguf_parsed_once()

Request = tuple[Any, list[int], list[int]]


@dataclass
class _Cont:
    """One distinct continuation of one context, and the requests that asked for it."""

    targets: list[int]
    requests: list[int]
    positions: list[int] = field(default_factory=list)  # row positions whose logits score it


@dataclass
class _Row:
    """One context (minus its cluster prefix) followed by the inputs of its continuations."""

    tokens: list[int]
    positions: list[int]
    segments: list[int]  # 0: context suffix, j > 0: continuation j's tail
    conts: list[_Cont]


def _lcp(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class FastHFLM(HFLM):
    """lm-eval's `hf` model with a prefix-sharing log-likelihood scorer (same answers, faster)."""

    scorer = FAST_SCORER

    def __init__(self, *args: Any, fast_batch_tokens: int | None = None,
                 fast_min_saved_tokens: int = 256, fast_self_check: bool = True,
                 fast_scoring: bool = True, fast_generation: bool = True,
                 fast_gen_batch: int | None = None, **kwargs: Any) -> None:
        """`fast_batch_tokens`: new tokens per forward (+1/8 per prefix token); None: by memory.

        `fast_scoring` / `fast_generation` False: lm-eval's own log-likelihood / generation
        path; `fast_gen_batch`: prompts generated at once (None: 32 on CPU, by memory on GPU).
        """
        with _gguf_parsed_once():
            super().__init__(*args, **kwargs)
        self.fast_batch_tokens = fast_batch_tokens
        self.fast_min_saved_tokens = fast_min_saved_tokens
        self.fast_self_check = fast_self_check
        self.fast_disabled: str | None = None if fast_scoring else "fast_scoring: false"
        if not fast_scoring:
            self.scorer = PLAIN_SCORER
        self.fast_generation = fast_generation
        self.fast_gen_batch = fast_gen_batch
        self.generator = FAST_GENERATOR if fast_generation else PLAIN_GENERATOR
        self.fast_stats: dict[str, int] = defaultdict(int)

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """`HFLM.generate_until`'s completions, greedy ones batched (`models/fast_gen.py`)."""
        if not self.fast_generation or not requests:
            return super().generate_until(requests, disable_tqdm)
        return _fast_gen().fast_generate_until(self, requests, disable_tqdm,
                                               super().generate_until, self.fast_stats)

    # ---- tokenization: lm-eval's, with the strings encoded in batches first ----------------
    def loglikelihood(self, requests: list[Any],
                      disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """`TemplateLM.loglikelihood`, its strings pre-encoded in batches (the tokenizer's threads).

        Tokenizing (each request's context + continuation, and its context) costs more than
        the fast scoring itself on a GPU; the tokens are those `tok_encode` gives one by one.
        """
        if self.enable_thinking or self.backend != "causal" or not self.tokenizer.is_fast:
            return super().loglikelihood(requests, disable_tqdm)
        encoded: list[Request] = []
        for start in range(0, len(requests), 2048):
            pairs = [r.args for r in requests[start:start + 2048]]
            self._tok_memo = self._encode_batch(pairs)
            try:
                for context, continuation in pairs:
                    if context == "":  # TemplateLM.loglikelihood's empty-context rule
                        cont = self.tok_encode(continuation, add_special_tokens=False)
                        ctx, cont = (([self.prefix_token_id], cont)
                                     if self.prefix_token_id != cont[0] else (cont[:1], cont[1:]))
                    else:
                        ctx, cont = self._encode_pair(context, continuation)
                    encoded.append(((context, continuation), ctx, cont))
            finally:
                self._tok_memo = None
        return self._loglikelihood_tokens(encoded, disable_tqdm=disable_tqdm)

    def tok_encode(self, string: str, add_special_tokens: bool | None = None,
                   left_truncate_len: int | None = None, **kwargs: Any) -> list[int]:
        """`HFLM.tok_encode`, answered from the batch-encoded strings when it has them."""
        memo = getattr(self, "_tok_memo", None)
        if memo and add_special_tokens is None and not left_truncate_len and not kwargs:
            hit = memo.get(string)
            if hit is not None:
                return list(hit)
        return super().tok_encode(string, add_special_tokens, left_truncate_len, **kwargs)

    def _encode_batch(self, pairs: list[tuple[str, str]]) -> dict[str, list[int]]:
        """The strings `_encode_pair` will ask for, with `tok_encode`'s special-token rule."""
        strings: dict[str, None] = {}
        for context, continuation in pairs:
            if context:
                strings[context + continuation] = None  # `_encode_pair` moves trailing spaces
                strings[context.rstrip()] = None  # into the continuation
        bos = self.tokenizer.decode(self.prefix_token_id)
        groups: dict[bool | None, list[str]] = defaultdict(list)
        default = _add_special_kwargs(None, self.add_bos_token).get("add_special_tokens")
        for text in strings:
            groups[False if has_bos_prefix(text, bos) else default].append(text)
        memo: dict[str, list[int]] = {}
        for special, texts in groups.items():
            kwargs = {} if special is None else {"add_special_tokens": special}
            ids = self.tokenizer(texts, **kwargs)["input_ids"]
            if list(ids[0]) != super().tok_encode(texts[0]):  # a tokenizer that differs: skip
                return {}
            memo.update(zip(texts, ids, strict=True))
        return memo

    # ---- lm-eval entry point -------------------------------------------------------------
    def _loglikelihood_tokens(self, requests: list[Request], disable_tqdm: bool = False,
                              override_bs: int | None = None) -> list[tuple[float, bool]]:
        """Score (context, continuation) token pairs; falls back to `HFLM` where it must."""
        if not requests:
            return []
        reason = self.fast_disabled or self._unsupported_reason() or self._too_long(requests)
        if reason:
            return super()._loglikelihood_tokens(requests, disable_tqdm, override_bs)
        if self.fast_self_check:
            self.fast_self_check = False
            mismatch = self._self_check(requests)
            if mismatch:
                self.fast_disabled, self.scorer = mismatch, PLAIN_SCORER
                log.warning("fast scoring disabled, plain lm-eval scoring used: %s", mismatch)
                return super()._loglikelihood_tokens(requests, disable_tqdm, override_bs)
        return self._fast_scores(requests, disable_tqdm)

    def _unsupported_reason(self) -> str | None:
        if self.backend != "causal":
            return "not a causal LM"
        impl = str(getattr(self.model.config, "_attn_implementation", "") or "")
        if impl.startswith("flash") or impl == "flex_attention":
            return f"attention implementation {impl!r} takes no custom 4D mask"
        if self.model.get_output_embeddings() is None:
            return "no output head to apply at the scored positions only"
        return None

    def _too_long(self, requests: list[Request]) -> str | None:
        """A sliding window shorter than a request: our full causal mask would see too far."""
        window = getattr(self.model.config, "sliding_window", None)
        if isinstance(window, int) and window > 0 and any(
                min(len(c) + len(t), self.max_length + 1) - 1 > window for _, c, t in requests):
            return f"a request is longer than the sliding window ({window})"
        return None

    def _self_check(self, requests: list[Request]) -> str | None:
        """Compare a few requests (shared prefix, multi-token continuations) with `HFLM`'s."""
        by_ctx: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, (_, ctx, cont) in enumerate(requests):
            by_ctx[tuple(self._window(ctx, cont)[0])].append(i)
        groups = sorted(by_ctx.values(), key=lambda g: -max(len(requests[i][2]) for i in g))
        picked = groups[0][:4] + [g[0] for g in groups[1:3]]
        sample = [requests[i] for i in picked]
        hook, self.cache_hook = self.cache_hook, type(self.cache_hook)(None)
        try:
            plain = super()._loglikelihood_tokens(sample, disable_tqdm=True)
            fast = self._fast_scores(sample, disable_tqdm=True, count=False)
        finally:
            self.cache_hook = hook
        fp32 = self.model.dtype == torch.float32 and self.mixed_precision_dtype is None
        for (a, _), (b, _) in zip(fast, plain, strict=True):
            tol = (1e-3 if fp32 else 0.25) + (1e-4 if fp32 else 0.05) * abs(b)
            if not abs(a - b) <= tol:
                return f"self-check log-likelihood {a:.6f} vs lm-eval's {b:.6f}"
        return None

    # ---- planning --------------------------------------------------------------------------
    def _window(self, ctx: list[int], cont: list[int]) -> tuple[list[int], list[int]]:
        """`HFLM`'s truncation: context part and continuation of the last max_length+1 tokens."""
        assert len(ctx) > 0 and 0 < len(cont) <= self.max_length
        window = (ctx + cont)[-(self.max_length + 1):]
        return window[: len(window) - len(cont)], cont

    def _plan(self, requests: list[Request],
              budget: int) -> list[tuple[list[int], list[_Row]]]:
        """Clusters of (shared prefix, rows); the cluster with an empty prefix holds the rest."""
        contexts: dict[tuple[int, ...], dict[tuple[int, ...], _Cont]] = {}
        truncated = 0
        for i, (_, ctx, cont) in enumerate(requests):
            c, t = self._window(ctx, cont)
            truncated += len(ctx) + len(cont) > self.max_length + 1
            conts = contexts.setdefault(tuple(c), {})
            conts.setdefault(tuple(t), _Cont(list(t), [])).requests.append(i)
        if truncated:
            log.warning("%d requests longer than max_length %d were truncated from the left, "
                        "as lm-eval's hf does", truncated, self.max_length)
        ordered = sorted(contexts)
        clusters: list[list[tuple[int, ...]]] = []
        shared: list[int] = []
        for c in ordered:
            if clusters:
                lcp = _lcp(clusters[-1][-1], c)
                new = min(shared[-1], lcp) if len(clusters[-1]) > 1 else lcp
                if new >= 16 and (len(clusters[-1]) == 1 or 2 * new >= shared[-1]):
                    clusters[-1].append(c)
                    shared[-1] = new
                    continue
            clusters.append([c])
            shared.append(0)
        plan: list[tuple[list[int], list[_Row]]] = []
        loose: list[_Row] = []
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

    def _rows(self, ctx: tuple[int, ...], p: int, conts: dict[Any, _Cont],
              budget: int) -> list[_Row]:
        """Packed rows for one context; continuations spill into more rows past the budget."""
        suffix = list(ctx[p:])
        rows: list[_Row] = []
        row: _Row | None = None
        for cont in conts.values():
            tail = cont.targets[:-1]
            if row is None or (len(row.tokens) - len(suffix) + len(tail) > budget // 2
                               and row.conts):  # only many long choices spill the context
                row = _Row(list(suffix), list(range(p, len(ctx))), [0] * len(suffix), [])
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

    def _next_batch(self, rows: list[_Row], start: int, budget: int, prefix: int) -> list[_Row]:
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
        cache = next(out[k] for k in ("cache", "past_key_values") if k in out)
        if hasattr(cache, "layers"):  # transformers >= 4.56
            return [(layer.keys, layer.values) for layer in cache.layers]
        return list(zip(cache.key_cache, cache.value_cache, strict=True))

    @staticmethod
    def _expanded(prefix_kv: list[tuple[torch.Tensor, torch.Tensor]], n: int) -> Any:
        """A fresh cache holding the prefix's keys and values for `n` rows (no deepcopy)."""
        from transformers import DynamicCache

        cache = DynamicCache()
        for i, (k, v) in enumerate(prefix_kv):
            cache.update(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1), i)
        return cache

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

    def _score_batch(self, batch: list[_Row], prefix: list[int], cache: Any,
                     count: bool) -> list[tuple[_Cont, tuple[float, bool]]]:
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
            kwargs[self._cache_arg()] = self._expanded(cache, len(batch))
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
