"""Task specs -> one lm-eval TaskManager per run, reading datasets from a local mirror if given.

The mirror layout is `<hub id with '/' as '__'>/<config or 'default'>/<split>.parquet`
(shared/benchmarks/README.md). Every task config lm-eval builds passes through
`MirrorTaskFactory`, the single place where a hub dataset is swapped for its mirror files
(read into memory with pyarrow: the features stored in each file are restored as datasets'
parquet builder restores them, without its per-config cache build, which cost MMLU's 57
one-question subjects ~0.1-0.15 s each).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

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
    """One TaskManager for the whole run (indexing ~14k tasks costs seconds)."""
    if data_dir is not None:
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from lm_eval.tasks._factory import TaskFactory

    from openvsclosed.lmeval_once import setup_once
    from openvsclosed.taskindex import cached_task_manager  # the index, cached on disk

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



def leaf_configs(manager: TaskManager, name: str, depth: int = 0) -> list[dict[str, Any]]:
    """The YAML configs of the leaf tasks under a task, group or tag, read before any run."""
    from lm_eval.tasks._index import Kind
    from lm_eval.tasks._yaml_loader import load_yaml

    entry = manager.task_index.get(name)
    if entry is None or depth > 8:
        return []
    if entry.kind == Kind.TAG:
        return [c for leaf in entry.tags for c in leaf_configs(manager, leaf, depth + 1)]
    cfg = entry.cfg or {}
    if entry.yaml_path and "metric_list" not in cfg:  # an index entry may keep only a summary
        with contextlib.suppress(OSError, ValueError):
            cfg = load_yaml(entry.yaml_path, resolve_func=False)
    if entry.kind != Kind.GROUP:
        return [cfg]
    return [c for member in _members(cfg.get("task") or [])
            for c in leaf_configs(manager, member, depth + 1)]


def output_types(manager: TaskManager, name: str) -> set[str]:
    """The request types a task, group or tag needs."""
    return {cfg["output_type"] for cfg in leaf_configs(manager, name) if cfg.get("output_type")}


def check_metrics(jobs: list, manager: TaskManager, source: Path) -> None:
    """Refuse a task's `metric:` its lm-eval task does not compute, before anything runs."""
    checked: set[tuple[str, str]] = set()
    for job in jobs:
        wanted = job.metric
        if not wanted or (job.lm_eval_task, wanted) in checked:
            continue
        checked.add((job.lm_eval_task, wanted))
        known: set[str] = set()
        for cfg in leaf_configs(manager, job.lm_eval_task):
            for item in cfg.get("metric_list") or []:
                if isinstance(item, dict) and isinstance(item.get("metric"), str):
                    known.add(item["metric"])
        name = wanted.partition(",")[0]
        if known and name not in known:
            raise ConfigError(
                f"{source}: tasks: {job.task.name!r} metric {wanted!r}: task "
                f"{job.lm_eval_task!r} computes {', '.join(sorted(known))}; allowed: one of "
                "those, optionally as name,filter.")


def _members(items: list) -> list[str]:
    """Names listed in a group's `task:`, inline sub-groups flattened."""
    names = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and "group" in item and "task" in item:
            names.extend(_members(item["task"] if isinstance(item["task"], list)
                                  else [item["task"]]))
        elif isinstance(item, dict) and isinstance(item.get("task"), str):
            names.append(item["task"])
    return names


def unscorable_jobs(jobs: list, manager: TaskManager) -> list[tuple[Any, str]]:
    """Jobs pairing a chat API (or the chat protocol) with a log-likelihood task, with reasons.

    A local model's chat job on a task with no chat variant would score log-likelihoods under
    a chat template and be labelled `chat`: skipped, since a chat record means generation.
    Routing already gives chat APIs the generative variant of every task that has one; what
    remains has none, so those jobs are skipped (with the fix named), never scored as wrong.
    """
    needs_loglikelihood: dict[str, bool] = {}
    out = []
    for job in jobs:
        if not (job.model.is_api or job.protocol == "chat"):
            continue
        task = job.lm_eval_task
        if task not in needs_loglikelihood:
            needs_loglikelihood[task] = bool(output_types(manager, task) & LOGLIKELIHOOD_TYPES)
        if not needs_loglikelihood[task]:
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


class _AnyTagLoader(yaml.SafeLoader):
    """Reads task YAMLs without resolving `!function` (the tag's module is noted instead)."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> str:
    value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
    return f"!{suffix} {value}"


_AnyTagLoader.add_multi_constructor("!", _tagged)


def _read_task_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text("utf-8"), Loader=_AnyTagLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def task_files(include_paths: list[Path]) -> dict[str, list[Path]]:
    """Task, group and tag names defined under our include paths -> the YAMLs defining them."""
    found: dict[str, list[Path]] = {}
    for root in include_paths:
        for path in sorted(Path(root).rglob("*.yaml")) if Path(root).is_dir() else []:
            cfg = _read_task_yaml(path)
            names = [cfg.get("task") if isinstance(cfg.get("task"), str) else None,
                     cfg.get("group") if isinstance(cfg.get("group"), str) else None]
            tags = cfg.get("tag") or []
            names += [tags] if isinstance(tags, str) else [t for t in tags if isinstance(t, str)]
            for name in filter(None, names):
                found.setdefault(name, []).append(path)
    return found


def task_definition_hash(name: str, defined: dict[str, list[Path]]) -> str | None:
    """A hash of every file defining `name`: its YAMLs, their includes, the Python they call.

    None when no include path defines it (lm-eval's own tasks are pinned by its version).
    Editing any of those files changes the hash, and so the job key.
    """
    files: dict[Path, bytes] = {}
    pending = [name]
    seen_names: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen_names:
            continue
        seen_names.add(current)
        for path in defined.get(current, []):
            _collect(path, files, pending, depth=0)
    if not files:
        return None
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: (p.name, str(p))):
        digest.update(path.name.encode() + b"\0" + files[path] + b"\0")
    return digest.hexdigest()[:16]


def _collect(path: Path, files: dict[Path, bytes], names: list[str], depth: int) -> None:
    """Add a YAML, its includes and its `!function` modules; queue group members."""
    path = path.resolve()
    if path in files or depth > 16 or not path.is_file():
        return
    files[path] = path.read_bytes()
    cfg = _read_task_yaml(path)
    include = cfg.get("include")
    if isinstance(include, str):
        _collect(path.parent / include, files, names, depth + 1)
    for value in _strings(cfg):
        if value.startswith("!function "):
            module = value.split(" ", 1)[1].rsplit(".", 1)[0]
            py = path.parent / f"{module.replace('.', '/')}.py"
            if py.is_file():
                files.setdefault(py.resolve(), py.read_bytes())
    members = cfg.get("task") if "group" in cfg else None
    if isinstance(members, list):
        names.extend(_members(members))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
