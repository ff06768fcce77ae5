"""Task specs -> one lm-eval TaskManager per run, reading datasets from a local mirror if given.

The mirror layout is `<hub id with '/' as '__'>/<config or 'default'>/<split>.parquet`
(shared/benchmarks/README.md). Every task config lm-eval builds passes through
`MirrorTaskFactory`, the single place where a hub dataset is swapped for its mirror files
(read with datasets' parquet builder, which restores the features stored in each file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openvsclosed.config import ConfigError, RunConfig, suggest

if TYPE_CHECKING:
    from lm_eval.tasks import TaskManager

OPTIONAL_SPLITS = ("training_split", "validation_split")
PACKAGE_TASKS = Path(__file__).parent / "data" / "tasks"
"""Our chat-protocol variants (ovc_*_chat), always on the TaskManager's include path."""
CHAT_VARIANTS = {
    "arc_easy": "ovc_arc_easy_chat", "arc_challenge": "ovc_arc_challenge_chat",
    "arc_challenge_chat": "ovc_arc_challenge_chat", "mmlu": "ovc_mmlu_chat",
    "mmlu_generative": "ovc_mmlu_chat", "hellaswag": "ovc_hellaswag_chat",
    "winogrande": "ovc_winogrande_chat", "gsm8k": "gsm8k",
}
"""Task -> its generative variant for `protocol: chat` (gsm8k is generative already)."""
LOGLIKELIHOOD_TYPES = frozenset({"loglikelihood", "multiple_choice", "loglikelihood_rolling"})


def chat_variant(task: str) -> str:
    """The task a chat-protocol run evaluates for `task` (itself when none is known)."""
    return CHAT_VARIANTS.get(task, task)
"""Splits a task can run without: lm-eval then draws few-shot examples from the next split."""


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
    hub_path, hub_name = cfg.get("dataset_path"), cfg.get("dataset_name")
    if not hub_path or hub_path in ("json", "csv", "parquet", "arrow", "text"):
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
    meta = dict(cfg.get("metadata") or {})
    meta["ovc_data_source"] = {
        "hub_dataset": hub_path, "config": hub_name, "mirror": str(config_dir),
        "missing_splits": missing,
    }
    cfg["metadata"] = meta
    return cfg


def build_task_manager(
    data_dir: Path | None = None,
    include_path: list[Path] | None = None,
    include_defaults: bool = True,
) -> TaskManager:
    """One TaskManager for the whole run (indexing ~14k tasks costs seconds)."""
    if data_dir is not None:
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._factory import TaskFactory

    class MirrorTaskFactory(TaskFactory):
        """lm-eval's factory, with every loaded config pointed at the mirror."""

        def _load_full_config(self, entry: Any, overrides: dict[str, Any] | None = None) -> dict:
            cfg = super()._load_full_config(entry, overrides)
            return mirror_config(cfg, data_dir) if data_dir is not None else cfg

    paths = [str(PACKAGE_TASKS), *(str(p) for p in include_path or [])]
    manager = TaskManager(include_path=paths, include_defaults=include_defaults)
    if data_dir is not None:
        manager._factory = MirrorTaskFactory(meta=manager._factory._meta)
    return manager


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



def task_output_type(manager: TaskManager, name: str) -> str | None:
    """A single task's output type, read from its YAML before anything runs (None for groups)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    entry = manager.task_index.get(name)
    if entry is None:
        return None
    cfg = entry.cfg or (load_yaml(entry.yaml_path, resolve_func=False) if entry.yaml_path else {})
    return cfg.get("output_type") if "group" not in cfg else None


def check_protocol(jobs: list, manager: TaskManager, source: Path) -> None:
    """Reject chat-only API models on log-likelihood tasks, naming the generative variant."""
    from openvsclosed.config import ApiModelSpec

    for job in jobs:
        if not isinstance(job.model, ApiModelSpec):
            continue
        task = job.lm_eval_task
        kind = task_output_type(manager, task)
        if task in CHAT_VARIANTS and CHAT_VARIANTS[task] != task or kind in LOGLIKELIHOOD_TYPES:
            variant = CHAT_VARIANTS.get(task)
            hint = (f"set `protocol: chat` (it runs {variant!r}) or list {variant!r} instead"
                    if variant else "use a generative (generate_until) task")
            raise ConfigError(
                f"{source}: model {job.model.id!r} is a chat API, which gives no "
                f"log-likelihoods, but task {task!r} scores them; {hint}."
            )
