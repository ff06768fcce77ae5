"""When greedy `generate`, with lm-eval's stopping criteria, ends a sequence at batch size 1.

A sequence ends on one of the model's EOS ids, at `max_gen_toks` tokens, or when one of the
stop strings appears in the decoded last `len(encode(stop)) + 2` generated tokens (lm-eval's
`MultiTokenEOSCriteria` look-back). Batched generation asks this after every token of every
row, so a row ends exactly where lm-eval's batch-1 loop ends it. No import from openvsclosed.
"""

from __future__ import annotations

from typing import Any


def eos_ids(lm: Any) -> set[int]:
    """The token ids `generate` stops a sequence on (the generation config's, else the config's)."""
    ids = getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None)
    if ids is None:
        ids = getattr(lm.model.config, "eos_token_id", None)
    if ids is None:
        return set()
    return {int(i) for i in (ids if isinstance(ids, list | tuple) else [ids])}


class StopCheck:
    """`generate`'s verdict after each token: EOS, length, or a stop string in the look-back."""

    def __init__(self, tokenizer: Any, until: list[str], eos: set[int],
                 max_gen_toks: int) -> None:
        """Stop strings with their look-back in tokens, grouped so each tail decodes once."""
        self.tok, self.eos, self.max_gen_toks = tokenizer, eos, max_gen_toks
        lookbacks: dict[int, list[str]] = {}
        for stop in until:
            n = len(tokenizer.encode(stop, add_special_tokens=False)) + 2
            lookbacks.setdefault(n, []).append(stop)
        self.lookbacks = sorted(lookbacks.items())

    def stopped(self, out: list[int]) -> bool:
        """Whether a sequence that generated `out` (its last token just now) ends here."""
        if out[-1] in self.eos or len(out) >= self.max_gen_toks:
            return True
        for n, stops in self.lookbacks:
            tail = self.tok.decode(out[-n:])
            if any(s in tail for s in stops):
                return True
        return False
