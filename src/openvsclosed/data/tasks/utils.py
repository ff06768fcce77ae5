"""Helpers for the chat-protocol task variants: robust answer extraction and doc formatting.

A chat model rarely replies with the bare letter: OpenAI-style servers ignore assistant prefill,
so the reply repeats "The best answer is A." and exact match on the raw text scores it 0.
`extract_choice` takes the letter wherever the reply states it, and marks replies that state
none with NO_ANSWER so they are counted apart from wrong answers.
"""

from __future__ import annotations

import re

NO_ANSWER = "[no answer]"
_STATED = re.compile(r"answer\s*(?:is|:)\s*:?\s*[\(\[\*]*\s*([A-E])\b", re.IGNORECASE)
_LEADING = re.compile(r"^\s*[\(\[\*]*([A-E])[\)\]\*]*(?:[.:)\]]|\s*$)")
_OPTION = re.compile(r"\b(?:option|choice)\s*[\(\[]?([A-E])\b", re.IGNORECASE)
_STANDALONE = re.compile(r"(?<![\w'])([A-E])(?![\w'])")
_LISTED = re.compile(r"^\s*([A-E])[.)]", re.MULTILINE)


def choice_letter(text: str) -> str:
    """The option letter a reply commits to, or NO_ANSWER."""
    if not isinstance(text, str):
        return NO_ANSWER
    stated = _STATED.findall(text)
    if stated:
        return stated[-1].upper()
    if len(set(_LISTED.findall(text))) >= 2:  # the options recited back: no commitment
        return NO_ANSWER
    for pattern in (_LEADING, _OPTION):
        found = pattern.findall(text)
        if found:
            return found[-1].upper()
    letters = {m for m in _STANDALONE.findall(text) if m != "A" or text.strip() == "A"}
    return letters.pop() if len(letters) == 1 else NO_ANSWER


def extract_choice(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval `custom` filter: each response reduced to its stated letter."""
    return [[choice_letter(r) for r in rs] for rs in resps]


def winogrande_text(doc: dict) -> str:
    """The sentence with its blank and the two options as letters."""
    return (f"{doc['sentence']}\n\nWhich option correctly fills the blank (_)?\n"
            f"A. {doc['option1']}\nB. {doc['option2']}\nYour response should end with "
            '"The best answer is [the_answer_letter]" where [the_answer_letter] is A or B.')


def winogrande_target(doc: dict) -> str:
    """WinoGrande's answer "1"/"2" as a letter."""
    return "A" if str(doc["answer"]) == "1" else "B"


def _clean(text: str) -> str:
    """HellaSwag's WikiHow markup removed, as lm-eval's own hellaswag task does."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def hellaswag_text(doc: dict) -> str:
    """Context and four endings as lettered options."""
    ctx = _clean(f"{doc['activity_label']}: {doc['ctx_a']} {doc['ctx_b'].capitalize()}")
    options = "\n".join(f"{'ABCD'[i]}. {_clean(e)}" for i, e in enumerate(doc["endings"]))
    return (f"Choose the most plausible continuation.\n{ctx}\n{options}\nYour response should "
            'end with "The best answer is [the_answer_letter]" where [the_answer_letter] is one '
            "of A, B, C or D.")


def hellaswag_target(doc: dict) -> str:
    """The label as a letter."""
    return "ABCD"[int(doc["label"])]
