"""Task specs -> one lm-eval TaskManager per run, reading datasets from a local mirror if given.

The mirror layout is `<hub id with '/' as '__'>/<config or 'default'>/<split>.parquet`
(shared/benchmarks/README.md). Every task config lm-eval builds passes through
`MirrorTaskFactory`, the single place where a hub dataset is swapped for its mirror files
(read into memory with pyarrow: the features stored in each file are restored as datasets'
parquet builder restores them, without its per-config cache build, which cost MMLU's 57
one-question subjects ~0.1-0.15 s each).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openvsclosed.config import ConfigError, RunConfig, suggest
from openvsclosed.schema import split_metric
from openvsclosed.taskhash import definition_folders
from openvsclosed.taskindex import (
    LOGLIKELIHOOD_TYPES,
    PACKAGE_TASKS,
    hub_dataset,
    leaf_configs,
    needs_loglikelihood,
    output_types,
    task_files,
)

if TYPE_CHECKING:
    from lm_eval.tasks import TaskManager

__all__ = [  # the index's answers are re-exported here for older callers
    "LOGLIKELIHOOD_TYPES", "PACKAGE_TASKS", "build_task_manager", "chat_variant",
    "check_metrics", "check_task_names", "include_paths", "leaf_configs", "mirror_config",
    "needs_loglikelihood", "output_types", "task_files",
    "unscorable_jobs",
]

OPTIONAL_SPLITS = ("training_split", "validation_split")
"""Splits a task can run without: lm-eval then draws few-shot examples from the next split."""
"""Our chat-protocol variants (ovc_*_chat), always on the TaskManager's include path."""
CHAT_VARIANTS = {
    "arc_easy": "ovc_arc_easy_chat", "arc_challenge": "ovc_arc_challenge_chat",
    "arc_challenge_chat": "ovc_arc_challenge_chat", "mmlu": "ovc_mmlu_chat",
    "mmlu_generative": "ovc_mmlu_chat", "hellaswag": "ovc_hellaswag_chat",
    "winogrande": "ovc_winogrande_chat", "gsm8k": "gsm8k",
}
"""Task -> its generative variant for `protocol: chat` (gsm8k is generative already)."""


def chat_variant(task: str) -> str:
    """The task a chat-protocol run evaluates for `task` (itself when none is known)."""
    return CHAT_VARIANTS.get(task, task)


class MirrorSplitMissing(Exception):
    """The split a task evaluates on is not in the mirror: the job fails, naming the file."""


def mirror_folder(data_dir: Path, dataset_path: str) -> Path:
    """The mirror folder of a hub dataset id."""
    return Path(data_dir) / dataset_path.replace("/", "__")


def mirror_config(cfg: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """A task config rewritten to read its dataset from the mirror, never from the hub.

    Splits the mirror lacks are dropped where lm-eval can do without them (train, validation)
    and recorded in the task's metadata; a missing evaluation split raises with its exact path.
    """
    hub_path, hub_name = hub_dataset(cfg), cfg.get("dataset_name")
    if hub_path is None:  # a file format or a local folder: read where it is
        return cfg
    folder = mirror_folder(data_dir, hub_path)
    config_dir = folder / (hub_name or "default")
    task = cfg.get("task", "?")
    if not config_dir.is_dir():
        raise MirrorSplitMissing(
            f"task {task!r} reads hub dataset {hub_path!r} (config {hub_name or 'default'!r}), "
            f"which the data mirror does not hold: expected the folder {config_dir}"
        )
    cfg = dict(cfg)
    missing = []
    for key in OPTIONAL_SPLITS:
        split = cfg.get(key)
        if split and not (config_dir / f"{split}.parquet").exists():
            missing.append(split)
            cfg[key] = None
    eval_split = cfg.get("test_split") or cfg.get("validation_split")
    for split in filter(None, (eval_split, cfg.get("fewshot_split"))):
        expected = config_dir / f"{split}.parquet"
        if not expected.exists():
            raise MirrorSplitMissing(
                f"task {task!r} needs split {split!r} of {hub_path!r}, missing from the data "
                f"mirror: expected the file {expected}"
            )
    cfg["dataset_path"], cfg["dataset_name"] = "parquet", None
    cfg["dataset_kwargs"] = {
        "data_files": {f.stem: str(f) for f in sorted(config_dir.glob("*.parquet"))}
    }
    cfg["custom_dataset"] = read_mirror
    meta = dict(cfg.get("metadata") or {})
    meta["ovc_data_source"] = {
        "hub_dataset": hub_path, "config": hub_name, "mirror": str(config_dir),
        "missing_splits": missing,
    }
    cfg["metadata"] = meta
    return cfg


def read_mirror(data_files: dict[str, str], **_: Any) -> Any:
    """lm-eval `custom_dataset`: a mirror config's splits as an in-memory DatasetDict.

    Same rows and features as `load_dataset("parquet", data_files=...)` (the features ride in
    each file's schema metadata), without building an Arrow cache per config.
    """
    import datasets
    import pyarrow.parquet as pq

    def fingerprint(path: str) -> str:  # the file's identity; hashing the rows costs more
        stat = os.stat(path)
        return hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()

    return datasets.DatasetDict({
        split: datasets.Dataset(pq.read_table(path, use_threads=False),
                                fingerprint=fingerprint(path)[:32])
        for split, path in data_files.items()})


def build_task_manager(
    data_dir: Path | None = None,
    include_path: list[Path] | None = None,
    include_defaults: bool = True,
) -> TaskManager:
    """One TaskManager for the whole run (indexing ~14k tasks costs seconds).

    Our package folder is always first; listing it in `include_path` too (as `include_paths`
    does) changes nothing, so every caller reaches the same cached index.
    """
    if data_dir is not None:
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from lm_eval.tasks._factory import TaskFactory

    from openvsclosed.indexcache import cached_task_manager  # the index, cached on disk
    from openvsclosed.lmeval_once import setup_once

    setup_once()  # lm-eval's environment report and templates: once per process, not per job

    class MirrorTaskFactory(TaskFactory):
        """lm-eval's factory, with every loaded config pointed at the mirror."""

        def _load_full_config(self, entry: Any, overrides: dict[str, Any] | None = None) -> dict:
            cfg = super()._load_full_config(entry, overrides)
            return mirror_config(cfg, data_dir) if data_dir is not None else cfg

    paths = [str(PACKAGE_TASKS), *(str(p) for p in include_path or [])]
    manager = cached_task_manager(paths, include_defaults=include_defaults)
    if data_dir is not None:
        manager._factory = MirrorTaskFactory(meta=manager._factory._meta)
    return manager


def include_paths(config: RunConfig, source: str = "the config",
                  own_tasks_dir: Path | None = None) -> list[Path]:
    """A run's task folders, the one list every step indexes: ours, the user's, own tasks.

    The user's `task_paths` must exist; the config's own tasks (tasks read from a data file)
    are written as lm-eval tasks under `own_tasks_dir` (see `owntaskfiles.task_include_paths`
    for where, when it is None). Every entry point (data check, run, validate, Ray workers)
    calling this gets the same folders in the same order, so they share one cached index.
    """
    from openvsclosed.owntaskfiles import task_include_paths

    definition_folders(config, source)  # the user's folders must exist
    return [PACKAGE_TASKS, *task_include_paths(config, source, own_tasks_dir)]


def check_task_names(config: RunConfig, source: Path, manager: TaskManager,
                     names: set[str] | None = None) -> None:
    """Reject unknown task names before anything runs, naming the config key."""
    known = set(manager.all_tasks)
    for i, task in enumerate(config.tasks):
        if (names is None or task.name in names) and task.name not in known:
            raise ConfigError(
                f"{source}: tasks[{i}].name: unknown lm-eval task {task.name!r}."
                f"{suggest(task.name, known)} Allowed: any task, group or tag lm-eval lists "
                "(`lm_eval ls tasks`), or one under an include path."
            )



def check_metrics(jobs: list, manager: TaskManager, source: Path) -> None:
    """Refuse a task's `metric:` its lm-eval task does not compute, before anything runs."""
    checked: set[tuple[str, str]] = set()
    for job in jobs:
        wanted = job.metric
        if not wanted or (job.lm_eval_task, wanted) in checked:
            continue
        checked.add((job.lm_eval_task, wanted))
        known: set[str] = set()
        for _, cfg in leaf_configs(manager, job.lm_eval_task, full=True):
            for item in cfg.get("metric_list") or []:
                if isinstance(item, dict) and isinstance(item.get("metric"), str):
                    known.add(item["metric"])
        name = split_metric(wanted)[0]
        if known and name not in known:
            raise ConfigError(
                f"{source}: tasks: {job.task.name!r} metric {wanted!r}: task "
                f"{job.lm_eval_task!r} computes {', '.join(sorted(known))}; allowed: one of "
                "those, optionally as name,filter.")


def unscorable_jobs(jobs: list, manager: TaskManager) -> list[tuple[Any, str]]:
    """Jobs pairing a chat API (or the chat protocol) with a log-likelihood task, with reasons.

    A local model's chat job on a task with no chat variant would score log-likelihoods under
    a chat template and be labelled `chat`: skipped, since a chat record means generation.
    Routing already gives chat APIs the generative variant of every task that has one; what
    remains has none, so those jobs are skipped (with the fix named), never scored as wrong.
    """
    scored_by_loglikelihood: dict[str, bool] = {}
    out = []
    for job in jobs:
        if not (job.model.is_api or job.protocol == "chat"):
            continue
        task = job.lm_eval_task
        if task not in scored_by_loglikelihood:
            scored_by_loglikelihood[task] = needs_loglikelihood(manager, task)
        if not scored_by_loglikelihood[task]:
            continue
        if job.model.is_api:
            out.append((job, f"{task!r} scores log-likelihoods, which a chat API does not give, "
                             "and it has no chat variant here; list a generative "
                             "(generate_until) task instead"))
        else:  # a chat record means generation: never log-likelihoods under a chat template
            out.append((job, f"{task!r} has no chat variant here, and a chat record means the "
                             "model wrote its answer; its native (log-likelihood) job is the "
                             "one to run (protocol: native or both)"))
    return out
