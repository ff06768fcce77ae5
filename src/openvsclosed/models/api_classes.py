"""Our chat classes: lm-eval's, with `ResilientAPI` first in the bases (imported when used)."""

from __future__ import annotations

from typing import Any

from openvsclosed.models.api import ResilientAPI


def chat_classes() -> dict[str, type]:
    """Our registered classes, built on lm-eval's (imported only when an API model loads)."""
    from lm_eval.models.anthropic_llms import AnthropicChat
    from lm_eval.models.openai_completions import LocalChatCompletion, OpenAIChatCompletion

    class OvcOpenAIChat(ResilientAPI, OpenAIChatCompletion):
        """OpenAI chat completions; the wire profile, not the model's name, shapes requests."""

        def _create_payload(self, *args: Any, **kwargs: Any) -> dict:
            # lm-eval's OpenAI class guesses reasoning models from the name ("5" in it drops
            # `stop` for gpt-4o-2024-05-13); the plain chat body plus our profile is exact.
            return LocalChatCompletion._create_payload(self, *args, **kwargs)

    class OvcLocalChat(ResilientAPI, LocalChatCompletion):
        """Any OpenAI-compatible server (Gemini's compatible endpoint, vLLM, llama.cpp...)."""

    class OvcAnthropicChat(ResilientAPI, AnthropicChat):
        """Anthropic messages API."""

    return {"ovc-openai-chat": OvcOpenAIChat, "ovc-local-chat": OvcLocalChat,
            "ovc-anthropic-chat": OvcAnthropicChat}
