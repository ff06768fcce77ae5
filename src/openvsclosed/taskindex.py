"""What lm-eval's task index says about a task, read before anything runs: the one place.

lm-eval names tasks, groups and tags in one index (`TaskManager.task_index`, or the cached
index of `indexcache`); a group lists members (names, inline sub-groups, tasks with overrides)
and a tag lists the tasks carrying it. Everything that asks "which leaf tasks are under this
name, what do they request, where do they read their data" walks it here, so the data check,
the chat/log-likelihood routing, the vLLM prefix-cache choice and the estimates agree.

Task YAML is read by one reader too (`read_task_yaml`): lm-eval's `!function` tags are kept as
text (nothing imported), and `include:` is merged the way lm-eval merges it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from openvsclosed.indexcache import cache_dir, cached_task_manager, task_index, unique_paths

PACKAGE_TASKS = Path(__file__).parent / "data" / "tasks"
"""Our task variants (the chat protocol's tasks), always first among a run's include paths."""

__all__ = [
    "LOCAL_FORMATS", "LOGLIKELIHOOD_TYPES", "PACKAGE_TASKS", "REFUSED_FORMATS", "cache_dir",
    "cached_task_manager", "group_members", "hub_dataset", "leaf_configs", "needs_loglikelihood",
    "output_types", "read_task_yaml", "refused_format", "task_files", "task_index", "unique_paths",
]

LOGLIKELIHOOD_TYPES = frozenset({"loglikelihood", "multiple_choice", "loglikelihood_rolling"})
"""lm-eval output types scored by log-likelihoods (a chat API cannot give them)."""
LOCAL_FORMATS = frozenset({"json", "csv", "parquet", "arrow", "text", "imagefolder",
                           "audiofolder"})
"""`dataset_path` values naming a file format: lm-eval hands them to `datasets.load_dataset`
with the task's `data_files`, so the data is on disk, never on the hub or in a mirror."""
REFUSED_FORMATS = {
    "pandas": ("datasets 4 and later refuse to read pandas pickles (a pickle can run code); "
               "save the data as parquet, CSV or JSON lines and use that format"),
}
"""File formats `datasets` names but will not read: refused by the data check, with the fix."""
MAX_DEPTH = 8
"""Nesting a walk follows (groups of groups); deeper is a cycle."""


def _index(source: Any) -> dict[str, Any]:
    """The index of a TaskManager, or the index itself (the cached one is a plain dict)."""
    return getattr(source, "task_index", source)


def _kind(entry: Any) -> str:
    """An entry's kind by name (TASK, PY_TASK, GROUP, TAG), without importing lm-eval."""
    return getattr(entry.kind, "name", str(entry.kind))


def group_members(items: Any) -> list[tuple[str, dict[str, Any]]]:
    """A group's `task:` as (member name, overrides): inline sub-groups flattened."""
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and "group" in item and "task" in item:
            out += group_members(item["task"])
        elif isinstance(item, dict) and isinstance(item.get("task"), str):
            out.append((item["task"], item))
    return out


def leaf_configs(source: Any, name: str, *, full: bool = False, _depth: int = 0,
                 _overrides: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(leaf task, its config) for every task under a task, group or tag; nothing is loaded.

    A group member listed with overrides gets them on top of its own config (a task defined
    inline in a group has only those). `full` re-reads a leaf's YAML when the index keeps only
    a summary (the cached index keeps the keys in `indexcache.KEPT_KEYS`, not `metric_list`).
    """
    index = _index(source)
    entry = index.get(name)
    if _depth > MAX_DEPTH:
        return []
    if entry is None:
        return [(name, dict(_overrides))] if _overrides else []
    cfg = entry.cfg if isinstance(entry.cfg, dict) else {}
    if _kind(entry) == "TAG":
        return [leaf for tagged in sorted(entry.tags)
                for leaf in leaf_configs(index, tagged, full=full, _depth=_depth + 1)]
    if _kind(entry) == "GROUP":
        return [leaf for member, overrides in group_members(cfg.get("task") or [])
                for leaf in leaf_configs(index, member, full=full, _depth=_depth + 1,
                                         _overrides=overrides)]
    if full and entry.yaml_path is not None and "metric_list" not in cfg:
        cfg = read_task_yaml(entry.yaml_path) or cfg
    return [(name, {**cfg, **(_overrides or {})})]


def output_types(source: Any, name: str) -> set[str]:
    """The request types a task, group or tag sends (lm-eval's `output_type` of its leaves)."""
    return {cfg["output_type"] for _, cfg in leaf_configs(source, name)
            if isinstance(cfg.get("output_type"), str)}


def needs_loglikelihood(source: Any, name: str) -> bool:
    """Whether a task, group or tag scores log-likelihoods (which chat APIs cannot give)."""
    return bool(output_types(source, name) & LOGLIKELIHOOD_TYPES)


def hub_dataset(cfg: dict[str, Any]) -> str | None:
    """The hub dataset id a task config reads; None for a file format or a local folder."""
    path = cfg.get("dataset_path")
    if not isinstance(path, str) or not path or path in LOCAL_FORMATS \
            or path in REFUSED_FORMATS or Path(path).exists():
        return None
    return path


def refused_format(cfg: dict[str, Any]) -> str | None:
    """The config's `dataset_path` when it names a format `datasets` will not read, else None."""
    path = cfg.get("dataset_path")
    return path if isinstance(path, str) and path in REFUSED_FORMATS else None


class _TaskYamlLoader(yaml.SafeLoader):
    """Task YAML as data: `!function mod.fn` (and any other tag) kept as its text."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> str:
    value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
    return f"!{suffix} {value}"


_TaskYamlLoader.add_multi_constructor("!", _tagged)


def read_task_yaml(path: str | Path, *, includes: bool = True,
                   _seen: frozenset[Path] = frozenset()) -> dict[str, Any]:
    """One task YAML as a dict ({} when unreadable), `include:` merged unless `includes=False`.

    Merged as lm-eval merges: each included file in order (its `task_list` dropped), then the
    file's own keys on top. A cycle or a missing include leaves that include out.
    """
    path = Path(path).expanduser().resolve()
    try:
        data = yaml.load(path.read_text("utf-8"), Loader=_TaskYamlLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    if not includes or "include" not in data:
        return data
    listed = data.pop("include")
    if path in _seen:  # an include cycle: lm-eval refuses it, the walk stops here
        return data
    merged: dict[str, Any] = {}
    for include in listed if isinstance(listed, list) else [listed]:
        if isinstance(include, str):
            found = read_task_yaml(path.parent / include, _seen=_seen | {path})
            found.pop("task_list", None)
            merged.update(found)
    merged.update(data)
    return merged


def task_files(include_paths: list[Path]) -> dict[str, list[Path]]:
    """Task, group and tag names defined under our include paths -> the YAMLs defining them."""
    found: dict[str, list[Path]] = {}
    for root in include_paths:
        for path in sorted(Path(root).rglob("*.yaml")) if Path(root).is_dir() else []:
            cfg = read_task_yaml(path, includes=False)
            names = [cfg.get("task") if isinstance(cfg.get("task"), str) else None,
                     cfg.get("group") if isinstance(cfg.get("group"), str) else None]
            tags = cfg.get("tag") or []
            names += [tags] if isinstance(tags, str) else [t for t in tags if isinstance(t, str)]
            for name in filter(None, names):
                found.setdefault(name, []).append(path)
    return found


def __getattr__(name: str) -> Any:
    """The cache's other names (and `CachedEntry` for pickled entries) under their old home."""
    if name in ("CachedEntry", "CACHE_FORMAT", "KEPT_KEYS", "index_key", "load_index",
                "save_index"):
        from openvsclosed import indexcache

        return getattr(indexcache, name)
    raise AttributeError(name)
