"""A deterministic stand-in LM, shipped so tests and demos exercise real lm-eval end to end.

Scores are hashes of (seed, request), so two runs agree to the last digit and two seeds differ,
which is exactly what resume and fidelity tests need.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lm_eval.api.model import LM


class FakeLM(LM):
    """Registered as `ovc-fake` (config `backend: fake`); needs no weights and no network."""

    def __init__(self, seed: int | str = 0, **_: Any) -> None:
        super().__init__()
        self.seed = int(seed)

    def _unit(self, *parts: Any) -> float:
        digest = hashlib.sha256(json.dumps([self.seed, *parts]).encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple]:
        """Pseudo log-probabilities in (-10, 0]; never greedy."""
        return [(-10.0 * self._unit("ll", *r.args), False) for r in requests]

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list:
        """Pseudo rolling log-likelihoods."""
        return [-100.0 * self._unit("rolling", *r.args[:1]) for r in requests]

    @property
    def tokenizer_name(self) -> str:
        """Names the (absent) tokenizer in lm-eval's few-shot cache keys."""
        return "ovc-fake"

    def chat_template(self, chat_template: bool | str = False) -> str:
        """The plain role-prefixed template below, so protocol chat runs on the fake model too."""
        return "role: content"

    def apply_chat_template(self, chat_history: list[dict[str, str]],
                            add_generation_prompt: bool = True) -> str:
        """Role-prefixed turns, ending with the assistant's turn."""
        text = "\n".join(f"{m['role']}: {m['content']}" for m in chat_history)
        return text + ("\nassistant:" if add_generation_prompt else "")

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """A short answer chosen by hash: a letter and a number, so both MC and math parse."""
        out = []
        for r in requests:
            u = self._unit("gen", r.args[0])
            out.append(f"The answer is {'ABCD'[int(u * 4)]}. #### {int(u * 100)}")
        return out
