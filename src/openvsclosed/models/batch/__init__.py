"""Provider batch APIs: a job's requests at half price, journaled so no batch is paid twice.

`collect.BatchCollector` turns one job's request bodies into replies through the protocol its
backend names in the backend table (`backends.Backend.batch`): `openai`, `anthropic` or
`gemini` (OpenAI's protocol on Google's compatible endpoint). `journal.open_batches` lists the
batches a results directory still waits on.
"""

from __future__ import annotations

from typing import Any

from openvsclosed.models.batch.journal import open_batches


def protocol_for(name: str, endpoint: str, model: str, headers: dict[str, str],
                 **http: Any) -> Any:
    """The batch protocol `name` speaks, reached from the model's chat endpoint."""
    if name == "anthropic":
        from openvsclosed.models.batch.anthropic import AnthropicBatches

        return AnthropicBatches(endpoint, model, headers, **http)
    if name == "gemini":
        from openvsclosed.models.batch.gemini import GeminiBatches

        return GeminiBatches(endpoint, model, headers, **http)
    if name == "openai":
        from openvsclosed.models.batch.openai import OpenAIBatches

        return OpenAIBatches(endpoint, model, headers, **http)
    raise ValueError(f"no batch protocol named {name!r}; allowed: openai, anthropic, gemini")


__all__ = ["open_batches", "protocol_for"]
