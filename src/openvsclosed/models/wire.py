"""What each API model family accepts and returns on the wire, applied in one place.

The rules are data (catalog `wire:` -> data/wire_profiles.yaml, with per-model overrides); this
module turns them into a request body and reads replies back: the visible answer without
reasoning, and whether the reply was cut by the token limit, empty, or withheld by the provider.
Reasoning models are why: they refuse `temperature` and `stop`, spend output tokens thinking,
and come back empty when a task's small cap (lm-eval's 256) runs out before the answer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from openvsclosed.backends import backend
from openvsclosed.catalog import wire_profile

ANSWER_TOKENS = 1024
"""Tokens kept for the visible answer on top of a thinking budget (Anthropic needs
max_tokens above budget_tokens; the task's own cap is often far smaller than a budget)."""
Status = Literal["ok", "truncated", "empty", "refused"]
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class WireSettings:
    """A model's effective wire rules: its profile with the spec's overrides applied."""

    style: Literal["openai", "anthropic"]
    profile: str
    token_limit: str
    temperature: float | None
    stop: bool
    reasoning_effort: str | None
    thinking_budget: int | None
    max_output_tokens: int | None
    google_thinking: bool
    """Gemini's compatible endpoint takes a thinking budget under extra_body.google."""

    def identity(self) -> dict[str, Any]:
        """What of these changes outputs (for job keys): everything but the style."""
        return {k: v for k, v in asdict(self).items() if k not in ("style",)}


def wire_settings(spec: Any) -> WireSettings:
    """The rules an API model spec follows (profile from the spec, else its backend's)."""
    profile_name = spec.wire
    profile = wire_profile(spec.backend, profile_name)
    return WireSettings(
        style=backend(spec.backend).style or "openai",
        profile=profile_name or "default",
        token_limit=profile.token_limit,
        temperature=profile.temperature,
        stop=profile.stop,
        reasoning_effort=spec.reasoning_effort or profile.reasoning_effort,
        thinking_budget=(spec.thinking_budget if spec.thinking_budget is not None
                         else profile.thinking_budget),
        max_output_tokens=spec.max_output_tokens or profile.max_output_tokens,
        google_thinking=backend(spec.backend).google_thinking,
    )


def shape_payload(payload: dict[str, Any], wire: WireSettings) -> dict[str, Any]:
    """lm-eval's request body, made acceptable to the model family and given room to reason."""
    body = dict(payload)
    task_cap = body.pop("max_tokens", None) or body.pop("max_completion_tokens", None)
    cap = max(filter(None, (wire.max_output_tokens, task_cap))) if (
        wire.max_output_tokens or task_cap) else None
    thinking = bool(wire.thinking_budget)
    if wire.style == "anthropic":
        if thinking:
            budget = int(wire.thinking_budget or 0)
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            cap = max(cap or 0, budget + max(int(task_cap or 0), ANSWER_TOKENS))
            body.pop("top_k", None)
            messages = list(body.get("messages") or [])
            if messages and messages[-1].get("role") == "assistant":
                body["messages"] = messages[:-1]  # no assistant prefill while thinking
        stop_key = "stop_sequences"
    else:
        if wire.reasoning_effort:
            body["reasoning_effort"] = wire.reasoning_effort
        if wire.google_thinking and wire.thinking_budget is not None:
            body.pop("reasoning_effort", None)  # Gemini takes one of the two, not both
            body["extra_body"] = {"google": {"thinking_config": {
                "thinking_budget": int(wire.thinking_budget)}}}
        stop_key = "stop"
    if cap is not None:
        body[wire.token_limit] = int(cap)
    if wire.temperature is None or (thinking and wire.style == "anthropic"):
        body.pop("temperature", None)
    else:
        body["temperature"] = wire.temperature
    if not wire.stop:
        body.pop(stop_key, None)
        body.pop("stop", None)
    return body


@dataclass(frozen=True)
class Reply:
    """One generated answer as read off the wire."""

    text: str
    status: Status


def strip_reasoning(text: str) -> str:
    """The answer without `<think>…</think>`; an unclosed `<think>` means no answer yet."""
    text = _THINK.sub("", text)
    lowered = text.lower()
    if "<think>" in lowered:
        return text[:lowered.index("<think>")]
    if "</think>" in lowered:  # some templates open the block in the prompt
        return text[lowered.rindex("</think>") + len("</think>"):]
    return text


def read_replies(body: Any, style: str) -> list[Reply]:
    """Every answer in a response body, each with its status."""
    if not isinstance(body, dict):
        return [Reply("", "empty")]
    if style == "anthropic":
        blocks = body.get("content") if isinstance(body.get("content"), list) else []
        text = "".join(b.get("text") or "" for b in blocks
                       if isinstance(b, dict) and b.get("type", "text") == "text")
        return [_classify(text, body.get("stop_reason"), refused=body.get("stop_reason")
                          == "refusal")]
    choices = body.get("choices") if isinstance(body.get("choices"), list) else []
    replies: list[Reply | None] = [None] * len(choices)
    for position, choice in enumerate(choices):
        choice = choice if isinstance(choice, dict) else {}
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = message.get("content")
        finish = choice.get("finish_reason")
        refused = finish == "content_filter" or (not content and bool(message.get("refusal")))
        index = choice.get("index", position)
        slot = index if isinstance(index, int) and 0 <= index < len(choices) else position
        replies[slot] = _classify(content if isinstance(content, str) else "", finish, refused)
    return [r or Reply("", "empty") for r in replies] or [Reply("", "empty")]


def _classify(raw: str, finish: Any, refused: bool) -> Reply:
    if refused:
        return Reply("", "refused")
    text = strip_reasoning(raw)
    if finish in ("length", "max_tokens"):
        return Reply(text, "truncated")
    return Reply(text, "ok" if text.strip() else "empty")


def token_usage(body: Any) -> tuple[int | None, int | None, int]:
    """(input, output, reasoning) tokens from a reply's usage; reasoning is priced as output.

    Where a server leaves thinking out of `completion_tokens` but counts it in `total_tokens`
    (Gemini's compatible endpoint), output is total minus input.
    """
    usage = body.get("usage") if isinstance(body, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    tokens_in = usage.get("prompt_tokens", usage.get("input_tokens"))
    tokens_out = usage.get("completion_tokens", usage.get("output_tokens"))
    details = usage.get("completion_tokens_details") or {}
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    total = usage.get("total_tokens")
    if isinstance(total, int) and isinstance(tokens_in, int) and isinstance(tokens_out, int):
        tokens_out = max(tokens_out, total - tokens_in)
    return (tokens_in if isinstance(tokens_in, int) else None,
            tokens_out if isinstance(tokens_out, int) else None,
            reasoning if isinstance(reasoning, int) else 0)
