"""lm-eval's results dict -> our records. The only module that knows lm-eval's output quirks.

Quirks handled here: metric keys are `"acc,none"` / `"acc_stderr,none"`; a stderr may be the
string "N/A"; values may be numpy scalars; groups keep their aggregate under the group name while
samples and counts live under the leaf tasks.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from openvsclosed.schema import (
    JobKeyFields,
    MetricRecord,
    ModelIdentity,
    ResultRecord,
    SampleRecord,
    split_metric,
)

PRIMARY_METRICS = ("acc_norm", "acc", "exact_match", "f1", "mcc", "bleu_max", "word_perplexity")
"""Which metric a leaderboard shows when a task spec names none, best first.

acc_norm first because the Open LLM Leaderboard reports it for ARC and HellaSwag.
"""
PRIMARY_FILTERS = ("none", "strict-match", "flexible-extract", "get-answer", "remove_whitespace")
NOT_METRICS = frozenset({"alias", "name", "sample_len", "sample_count", "samples", " "})
"""Keys of a results entry that are not metrics (0.4 writes them bare, beside "acc,none")."""
_NOT_METRICS = NOT_METRICS  # the older private name
CHAT_TASK_UTILS = Path(__file__).parent / "data" / "tasks" / "utils.py"
"""Our chat tasks' answer extraction, loaded by lm-eval from beside their YAMLs."""


@lru_cache(maxsize=1)
def chat_answer_filters() -> ModuleType:
    """The chat tasks' answer-extraction module, loaded by path as lm-eval loads it.

    It stays free of imports from this package: its bytes are part of every chat task's
    definition hash (so of each chat job's key), and lm-eval loads it as a plain file.
    """
    import importlib.util

    found = importlib.util.spec_from_file_location("ovc_chat_utils", CHAT_TASK_UTILS)
    assert found is not None and found.loader is not None, CHAT_TASK_UTILS
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


NO_ANSWER: str = chat_answer_filters().NO_ANSWER
"""What our answer filters write for a reply that states no answer (defined once, in
data/tasks/utils.py, which the filters run from); counted here apart from wrong answers."""


class HarvestError(Exception):
    """lm-eval returned no result for the task we asked for."""


def to_float(value: Any) -> float | None:
    """A plain float from numpy scalars and strings; None for "N/A", NaN and non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def harvest_metrics(entry: dict[str, Any],
                    higher: dict[str, Any] | None = None) -> list[MetricRecord]:
    """Split one task's results entry into metric records, pairing each value with its stderr."""
    higher = higher or {}
    metrics = []
    for key, value in entry.items():
        name, sep, filt = key.partition(",")
        if not sep or name in NOT_METRICS or name.endswith("_stderr"):
            continue
        hib = higher.get(name)
        metrics.append(MetricRecord(
            name=name, filter=filt, value=to_float(value),
            stderr=to_float(entry.get(f"{name}_stderr,{filt}")),
            higher_is_better=bool(hib) if hib is not None else None,
        ))
    return metrics


def choose_primary(metrics: list[MetricRecord],
                   requested: str | None = None) -> tuple[str, str]:
    """(name, filter) of the metric to show: the requested one, else by PRIMARY_* preference.

    `requested` is a task spec's `metric:`, a name or lm-eval's `name,filter`.
    """
    present = {(m.name, m.filter) for m in metrics}
    if requested:
        name, filt = split_metric(requested)
        matches = sorted(f for n, f in present if n == name and filt in (None, f))
        if not matches:
            have = ", ".join(sorted(f"{n},{f}" for n, f in present))
            raise HarvestError(f"metric {requested!r} is not among this task's metrics: {have}")
        return name, _preferred_filter(matches)
    for name in PRIMARY_METRICS:
        filters = [f for n, f in present if n == name]
        if filters:
            return name, _preferred_filter(filters)
    if not present:
        raise HarvestError("the task produced no metric")
    return sorted(present)[0]


def _preferred_filter(filters: list[str]) -> str:
    for filt in PRIMARY_FILTERS:
        if filt in filters:
            return filt
    return sorted(filters)[0]


def leaf_tasks(results: dict[str, Any], task: str) -> list[str]:
    """The leaf tasks under `task` (itself when it is a leaf), depth first."""
    children = results.get("group_subtasks", {}).get(task)
    if not children:
        return [task]
    return [leaf for child in children for leaf in leaf_tasks(results, child)]


def harvest_samples(results: dict[str, Any], leaves: list[str]) -> list[SampleRecord]:
    """Per-document outcomes, without the prompt text (its hash is kept)."""
    out = []
    for leaf in leaves:
        for s in results.get("samples", {}).get(leaf, []):
            scores = {m: to_float(s.get(m)) for m in s.get("metrics", [])}
            out.append(SampleRecord(
                task=leaf, doc_id=int(s["doc_id"]), doc_hash=s.get("doc_hash"),
                prompt_hash=s.get("prompt_hash"), target=_plain(s.get("target")),
                filter=s.get("filter", "none"), resps=_plain(s.get("resps")),
                filtered_resps=_plain(s.get("filtered_resps")), scores=scores,
            ))
    return out


def _plain(value: Any) -> Any:
    """JSON-ready copies of lm-eval's tuples and numpy values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    number = to_float(value)
    return number if number is not None else str(value)


def harvest_record(
    results: dict[str, Any],
    *,
    task: str,
    key: str,
    key_fields: JobKeyFields,
    model: ModelIdentity,
    metric: str | None,
    started_at: datetime,
    finished_at: datetime,
    stored_task: str | None = None,
    **extra: Any,
) -> ResultRecord:
    """One job's record from `simple_evaluate`'s return value.

    `stored_task` is the configured task when lm-eval ran a variant of it (the chat variant);
    `extra` carries what the runner measured around the evaluation (cost, usage, counts).
    """
    entry = results.get("results", {}).get(task) or results.get("groups", {}).get(task)
    if entry is None:
        raise HarvestError(f"lm-eval returned no results for task {task!r}")
    metrics = harvest_metrics(entry, results.get("higher_is_better", {}).get(task))
    leaves = leaf_tasks(results, task)
    n_samples = results.get("n-samples", {})
    n = sum(int(n_samples.get(leaf, {}).get("effective", 0)) for leaf in leaves)
    configs = results.get("configs", {})
    sources = {
        leaf: (configs.get(leaf, {}).get("metadata") or {}).get("ovc_data_source")
        or {"hub_dataset": configs.get(leaf, {}).get("dataset_path"),
            "config": configs.get(leaf, {}).get("dataset_name")}
        for leaf in leaves
    }
    shots = results.get("n-shot", {})
    primary_name, primary_filter = choose_primary(metrics, metric)
    return ResultRecord(
        key=key, key_fields=key_fields, model=model, task=stored_task or task,
        lm_eval_task=task if stored_task and stored_task != task else None, **extra,
        primary_name=primary_name, primary_filter=primary_filter, metrics=metrics, n=n,
        num_fewshot=_plain(shots.get(task, shots.get(leaves[0]))),
        task_versions={leaf: _plain(results.get("versions", {}).get(leaf)) for leaf in leaves},
        lm_eval_version=str(results.get("lm_eval_version") or key_fields.lm_eval_version),
        seed=key_fields.seed, data_source=sources,
        started_at=started_at, finished_at=finished_at,
        duration_s=round((finished_at - started_at).total_seconds(), 3),
        environment={k: _plain(results.get(k)) for k in ("transformers_version", "max_length")
                     if results.get(k) is not None},
        samples=(samples := harvest_samples(results, leaves)),
        no_answer=sum(1 for x in samples if NO_ANSWER in _flat(x.filtered_resps)),
    )


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _flat(item)]
    return [value]
