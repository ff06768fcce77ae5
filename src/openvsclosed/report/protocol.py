"""Comparability as structure: when two numbers are like with like, and how strong a pair is.

A number's protocol is a record of fields (`FIELDS`): benchmark, version or window, shots,
prompting, reasoning (off or on), tools, scaffold, metric, and who ran it (maker, another maker
in its own table, an independent evaluator). Two numbers are like with like when every field is
equal. Decisions, and why:

- Reasoning on and off never compare: a thinking model against a non-thinking one measures the
  setting, not the model. The effort or budget (`on:high`, `on:32k`) is the model's
  configuration, like its size: it is shown beside the score but does not split a series, so a
  maker's best shipped setting meets the other side's best shipped setting.
- An unstated field (null) is unknown, and unknown never equals anything, itself included,
  across tables: two tables that both omit the shots may have used different ones. Within one
  row of one table the settings are one by construction (the table ran its columns the same
  way unless a cell says otherwise), so a same-table pair compares even with unstated fields.
- Strength, strongest first (`TIERS`): an independent evaluator's one protocol (Epoch AI's
  hub), then a pair from one source table with equal settings, then any other like-with-like
  pair (two makers' own tables under equal stated settings).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

FIELDS = ("benchmark", "version", "shots", "prompting", "reasoning", "tools", "scaffold",
          "metric", "ran_by")
TIERS = {"independent": 0, "same table": 1, "like with like": 2}
"""Strength of a comparison, strongest first (lower is stronger)."""
UNKNOWN = "?"


@dataclass(frozen=True)
class Protocol:
    """The fields that must match for two numbers to compare (None: not stated)."""

    benchmark: str
    version: str | None = ""
    shots: int | None = None
    prompting: str | None = None
    reasoning: str | None = None
    tools: str | None = None
    scaffold: str | None = None
    metric: str | None = None
    ran_by: str | None = None

    @classmethod
    def of(cls, row: pd.Series | dict) -> Protocol:
        """The protocol of one cell (a row of the long frame); the effort is dropped."""
        get = row.get
        shots = get("shots")
        return cls(benchmark=str(get("benchmark")), version=_text(get("version"), empty=""),
                   shots=None if _missing(shots) else int(shots),
                   prompting=_text(get("prompting")), reasoning=reasoning_mode(get("reasoning")),
                   tools=_text(get("tools")), scaffold=_text(get("scaffold")),
                   metric=_text(get("metric")), ran_by=_text(get("ran_by")))

    def stated(self) -> bool:
        """Every field stated (a number with an unstated field compares only in its own row)."""
        return all(getattr(self, f) is not None for f in FIELDS)

    def text(self) -> str:
        """The series key as people read it: `gpqa_diamond · 0-shot · cot · reasoning on · ...`."""
        version = f" {self.version}" if self.version else ""
        shots = UNKNOWN if self.shots is None else str(self.shots)
        parts = [f"{self.benchmark}{version}", f"{shots}-shot", self.prompting or "prompt ?",
                 f"reasoning {self.reasoning or UNKNOWN}",
                 "no tools" if self.tools == "none" else f"tools {self.tools or UNKNOWN}",
                 *([] if self.scaffold == "none" else [f"scaffold {self.scaffold or UNKNOWN}"]),
                 self.metric or "metric ?", f"run by {self.ran_by or UNKNOWN}"]
        return " · ".join(parts)


def reasoning_mode(value: object) -> str | None:
    """'on' or 'off' ('on:high' -> 'on'); None when not stated."""
    if _missing(value):
        return None
    text = str(value).strip().lower()
    return "on" if text.startswith("on") else "off" if text == "off" else text


def comparable(a: pd.Series | dict, b: pd.Series | dict) -> bool:
    """Like with like: every field equal and stated, or one row of one table (module doc)."""
    pa, pb = Protocol.of(a), Protocol.of(b)
    if pa.reasoning is not None and pb.reasoning is not None and pa.reasoning != pb.reasoning:
        return False
    if same_row(a, b):
        return pa == pb
    return pa == pb and pa.stated()


def same_row(a: pd.Series | dict, b: pd.Series | dict) -> bool:
    """Both cells from one row of one source table."""
    ta, tb = a.get("table"), b.get("table")
    return (not _missing(ta) and ta == tb and a.get("row_label") == b.get("row_label"))


def strength(a: pd.Series | dict, b: pd.Series | dict) -> str | None:
    """The pair's tier (`TIERS`), or None when the two are not like with like."""
    if not comparable(a, b):
        return None
    if a.get("ran_by") == "independent" and b.get("ran_by") == "independent" and \
            a.get("source") == "independent":
        return "independent"
    return "same table" if same_row(a, b) else "like with like"


def series_key(row: pd.Series | dict) -> str:
    """The series a number belongs to: its protocol text, plus its table when a field is unknown.

    Numbers in one series are like with like with each other (the lag estimators run within
    one); a cell with an unstated field forms a series with its own table row only.
    """
    proto = Protocol.of(row)
    text = proto.text()
    if not proto.stated() and not _missing(row.get("table")):
        text += f" · table {row.get('table')}"
    return text


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _text(value: object, empty: str | None = None) -> str | None:
    if _missing(value):
        return empty
    text = str(value).strip()
    return text if text or empty is not None else None


__all__ = ["FIELDS", "TIERS", "Protocol", "comparable", "reasoning_mode", "same_row",
           "series_key", "strength"]


FAMILIES = [("ARC", ("arc_",)), ("MMLU-Pro", ("mmlu_pro",)), ("MMLU", ("mmlu",)),
            ("GPQA", ("gpqa",)), ("HLE", ("hle",)), ("AIME", ("aime", "otis_mock_aime")),
            ("HMMT", ("hmmt",)),
            ("MATH", ("math", "hendrycks_math", "minerva_math")), ("GSM8K", ("gsm8k",)),
            ("HumanEval", ("humaneval",)), ("SWE-bench", ("swe_bench",)),
            ("Terminal-Bench", ("terminal_bench",)), ("LiveCodeBench", ("livecodebench",)),
            ("HellaSwag", ("hellaswag",)), ("WinoGrande", ("winogrande",)),
            ("TruthfulQA", ("truthfulqa",)), ("FrontierMath", ("frontiermath",))]
"""Task-name prefixes per family (first match wins, so MMLU-Pro is not MMLU): the headline
counts one lead per family."""


def family_of(task: str) -> str:
    """The family a task belongs to by name (the task itself when none is known)."""
    for name, prefixes in FAMILIES:
        if str(task).startswith(prefixes):
            return name
    return str(task)
