"""`FastHFLM`: lm-eval's `hf` model, same answers, faster log-likelihoods and greedy generation.

Tokenization, truncation and everything else stay lm-eval's `HFLM`'s; two paths are replaced:

- `_loglikelihood_tokens`: packed rows, shared prefixes run once, the output head only where a
  continuation is scored (`models/packed_scoring.py`). Results come back in request order with
  lm-eval's `(log-likelihood, is_greedy)` and go to the cache hook like `HFLM`'s. The first call
  checks a few requests against `HFLM`'s own path; on a mismatch (an attention implementation
  that ignores custom masks, say) it warns and scores plainly for the rest of the model's life.
- `generate_until`: greedy requests batched (`models/fast_gen.py`), lm-eval's batch-1
  completions token for token; anything else goes to lm-eval's loop.

`fast_scoring` / `fast_generation` false give lm-eval's own paths. These modules import only one
another from openvsclosed, so a bench script can load this file by path (`sibling`).
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils import _add_special_kwargs, has_bos_prefix

log = logging.getLogger(__name__)

FAST_SCORER = "ovc-fast-loglikelihood"
PLAIN_SCORER = "lm-eval-hf"
FAST_GENERATOR = "ovc-fast-generation"
PLAIN_GENERATOR = "lm-eval-hf"


def sibling(name: str) -> Any:
    """`openvsclosed.models.<name>`, also where only this folder's files are at hand.

    A bench on a bare GPU machine loads this file by path, without the package's own
    dependencies (pydantic, typer): then `openvsclosed` and `openvsclosed.models` are stood up
    as bare packages over this folder, so the fast paths' modules import one another as usual.
    """
    try:
        return importlib.import_module(f"openvsclosed.models.{name}")
    except ImportError:
        if "openvsclosed.models" in sys.modules and getattr(
                sys.modules["openvsclosed.models"], "__file__", None):
            raise  # the real package is there: its error is the one to see
    folder = Path(__file__).resolve().parent
    for package, path in (("openvsclosed", folder.parent), ("openvsclosed.models", folder)):
        if package not in sys.modules:
            module = types.ModuleType(package)
            module.__path__ = [str(path)]
            sys.modules[package] = module
    return importlib.import_module(f"openvsclosed.models.{name}")


def _gguf_parsed_once() -> Any:
    """Parse a GGUF file once while loading (`models/gguf_once.py`); a no-op if unavailable."""
    try:
        return sibling("gguf_once").gguf_parsed_once()
    except ImportError:
        import contextlib

        return contextlib.nullcontext()


PackedScorer = sibling("packed_scoring").PackedScorer
Request = tuple[Any, list[int], list[int]]


class FastHFLM(PackedScorer, HFLM):
    """lm-eval's `hf` model: packed log-likelihoods, batched greedy generation, same answers."""

    scorer = FAST_SCORER

    def __init__(self, *args: Any, fast_batch_tokens: int | None = None,
                 fast_min_saved_tokens: int = 256, fast_self_check: bool = True,
                 fast_scoring: bool = True, fast_generation: bool = True,
                 fast_gen_batch: int | None = None, gguf_cache: str | None = None,
                 **kwargs: Any) -> None:
        """`fast_batch_tokens`: new tokens per forward (+1/8 per prefix token); None: by memory.

        `fast_scoring` / `fast_generation` False: lm-eval's own log-likelihood / generation
        path; `fast_gen_batch`: prompts generated at once (None: 64 on CPU, by memory on GPU);
        `gguf_cache`: a folder where a GGUF model is kept de-quantized (`models/gguf_cache.py`).
        """
        self.gguf_copy = self._init_model(args, kwargs, gguf_cache)
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

    def _init_model(self, args: tuple, kwargs: dict[str, Any], root: str | None) -> str | None:
        """`HFLM.__init__`, from the de-quantized copy of a GGUF when there is one; its origin.

        Returns "read", "written" or None (not cached). A copy that fails to load is removed
        and the GGUF loaded as before.
        """
        cache = sibling("gguf_cache") if root and not args else None
        folder = cache.cached_folder(root, kwargs) if cache else None
        if folder is not None and cache.is_complete(folder):
            try:
                super().__init__(**cache.plain_load_args(folder, kwargs))
                return "read"
            except Exception as exc:  # any failure: the caller goes on as without this step
                log.warning("cached copy of %s unreadable (%s): loading the GGUF", folder, exc)
                cache.discard(folder)
        with _gguf_parsed_once():
            super().__init__(*args, **kwargs)
        if folder is not None and cache.save(self.model, self.tokenizer, folder,
                                             f"{kwargs['pretrained']}/{kwargs['gguf_file']}"):
            return "written"
        return None

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """`HFLM.generate_until`'s completions, greedy ones batched (`models/fast_gen.py`)."""
        if not self.fast_generation or not requests:
            return super().generate_until(requests, disable_tqdm)
        return sibling("fast_gen").fast_generate_until(self, requests, disable_tqdm,
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
