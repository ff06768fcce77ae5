"""The persisted vocabulary: what a result file and a failure line hold.

Everything the store writes and the report reads is defined here, so a reader of old results
needs only this module (and pydantic) to understand them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 3
"""Bumped when a stored field changes meaning; readers refuse newer files.

3: the primary metric is stored as two fields, `primary_name` and `primary_filter` (version 2
wrote one `primary_metric: "acc,none"`, which still reads)."""

Access = Literal["open", "closed"]
Protocol = Literal["native", "chat"]
"""How a job was scored: `native` (the task as lm-eval defines it, log-likelihoods where it
uses them, no chat template) or `chat` (chat template, generative variant, answer extracted)."""


def split_metric(label: str) -> tuple[str, str | None]:
    """lm-eval's `name,filter` label -> (name, filter); a bare name gives None (any filter).

    The joined form is lm-eval's (its results keys, schema-2 records) and a task spec's
    `metric:`; records keep the two parts apart. Split here and nowhere else.
    """
    name, _, filt = label.partition(",")
    return name, filt or None


def metric_label(name: str, filt: str) -> str:
    """(name, filter) -> lm-eval's `name,filter` label, for display and lm-eval's own keys."""
    return f"{name},{filt}"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricRecord(_Record):
    """One aggregated metric of one job, split the way lm-eval's `"acc,none"` keys encode it."""

    name: str
    filter: str
    value: float | None
    stderr: float | None = None
    """None where lm-eval reports "N/A" (e.g. a single sample) or no stderr at all."""
    higher_is_better: bool | None = None


class SampleRecord(_Record):
    """One document's outcome: enough to pair two models on the same documents and re-score."""

    task: str
    """The leaf task (a group's subtask for groups such as mmlu)."""
    doc_id: int
    doc_hash: str | None = None
    prompt_hash: str | None = None
    target: Any = None
    filter: str = "none"
    resps: Any = None
    filtered_resps: Any = None
    scores: dict[str, float | None] = Field(default_factory=dict)


class ModelIdentity(_Record):
    """What a model *is* for this result, without secrets or machine-specific paths."""

    id: str
    label: str
    access: Access
    organization: str | None = None
    backend: str
    args: dict[str, Any] = Field(default_factory=dict)
    """The declared args that change outputs (placeholders unresolved, transport knobs dropped)."""
    released: str | None = None
    params_b: float | None = None
    provider: str | None = None
    """The hosted provider that served the model, when reached through one (openness stays)."""


class JobKeyFields(_Record):
    """Everything that goes into a job's key; the key is recomputed from these after a run."""

    key_scheme: int
    model: dict[str, Any]
    task: str
    num_fewshot: int | None
    limit: float | None
    seed: list[int]
    protocol: Protocol
    lm_eval_version: str
    lm_eval_task: str | None = None
    """The task lm-eval ran (the chat variant under protocol chat)."""
    chat_template: bool = False
    """Whether prompts went through a chat template (every chat API does)."""
    task_hash: str | None = None
    """Hash of the task's definition files when they are ours or the user's (task_paths);
    lm-eval's own tasks are pinned by `lm_eval_version`."""

    def key(self) -> str:
        """A stable hash of these fields: computed the same way before a run and after it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class ResultRecord(_Record):
    """A finished job: one model on one task, as stored in one JSON file."""

    schema_version: int = SCHEMA_VERSION
    key: str
    key_fields: JobKeyFields
    model: ModelIdentity
    task: str
    primary_name: str
    """Name of the metric the leaderboard shows for this task (`acc`, `exact_match`)."""
    primary_filter: str
    """lm-eval filter of that metric (`none`, `get-answer`, `strict-match`)."""
    metrics: list[MetricRecord]
    n: int
    """Documents evaluated (summed over subtasks for groups)."""
    num_fewshot: int | None
    task_versions: dict[str, Any] = Field(default_factory=dict)
    lm_eval_version: str
    seed: list[int]
    data_source: dict[str, Any] = Field(default_factory=dict)
    """Where the documents came from: hub ids or the local mirror folder, and splits it lacked."""
    started_at: datetime
    finished_at: datetime
    duration_s: float
    cost_usd: float | None = None
    """List-price dollars of the job's API responses (cached ones too); None for local."""
    usage: dict[str, float] = Field(default_factory=dict)
    """API requests sent, served from cache and retried, tokens in/out, dollars spent now."""
    lm_eval_task: str | None = None
    """The lm-eval task actually run when it differs (the chat variant under protocol chat)."""
    no_answer: int = 0
    """Replies with no extractable answer (scored wrong, counted apart)."""
    truncated: int = 0
    """API replies cut by the output-token limit (reasoning can use it all)."""
    refused: int = 0
    """API replies withheld by the provider (content filter, refusal): no content came back."""
    own_task: dict[str, Any] | None = None
    """For a task read from the user's file: its name, content hash, kind, rows, privacy."""
    scorer: str | None = None
    """What produced the log-likelihoods or generations (`lm-eval-hf`, `ovc-fast-loglikelihood`)."""
    environment: dict[str, Any] = Field(default_factory=dict)
    samples: list[SampleRecord] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _split_joined_primary(cls, data: Any) -> Any:
        """Records of schema 2 (and callers of the old field) wrote `primary_metric: "acc,none"`."""
        if isinstance(data, dict) and "primary_metric" in data:
            data = dict(data)
            joined = data.pop("primary_metric")
            if isinstance(joined, str) and "primary_name" not in data:
                name, filt = split_metric(joined)
                data["primary_name"] = name
                data.setdefault("primary_filter", filt or "none")
        return data

    @property
    def primary_metric(self) -> str:
        """The primary metric as lm-eval labels it (`acc,none`): for display and older callers."""
        return metric_label(self.primary_name, self.primary_filter)

    def metric(self, name: str | None = None,
               filter_name: str | None = None) -> MetricRecord | None:
        """The metric `name` under `filter_name` (the primary one by default), or None.

        `name` may also be lm-eval's `name,filter` label; a name alone matches any filter.
        """
        if name is None:
            name, filter_name = self.primary_name, self.primary_filter
        elif filter_name is None:
            name, filter_name = split_metric(name)
        for m in self.metrics:
            if m.name == name and (filter_name is None or m.filter == filter_name):
                return m
        return None


class FailureRecord(_Record):
    """A job that did not finish: appended to the store's failure log, never scored."""

    schema_version: int = SCHEMA_VERSION
    key: str
    model_id: str
    task: str
    error_type: str
    message: str
    at: datetime
