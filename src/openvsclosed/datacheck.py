"""Before any model loads: can every pending task's dataset be read from here?

An air-gapped machine without a mirror used to load the model, then spend ~23 s per job
retrying the hub. This reads each pending task's dataset ids from the (cached) task index and
checks them in one pass: in the mirror, the dataset's config folder must exist (the layout of
tasks.mirror_config); without one, the hub must answer one short probe, or the dataset must
already be in the local Hugging Face cache. A split missing from a mirrored dataset stays a
failure of that job alone (tasks.mirror_config names the file), as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_BUILDERS = frozenset({"json", "csv", "parquet", "arrow", "text", "pandas", "imagefolder"})
"""dataset_path values that name a file format (data_files on disk), not a hub dataset."""
PROBE_TIMEOUT_S = 3.0
FIX = ("Fix: point --data-dir, OVC_DATA_DIR or the config's data_dir at a mirror holding them "
       "(layout <mirror>/<hub id with / as __>/<config or default>/<split>.parquet; build one on "
       "a connected machine: datasets.load_dataset(id, config) and each split's .to_parquet(), "
       "as ../shared/benchmarks/README.md describes), or run where the Hugging Face hub is "
       "reachable (HF_ENDPOINT for a hub mirror).")


@dataclass(frozen=True)
class DataNeed:
    """One hub dataset (and config) a task reads."""

    task: str
    dataset: str
    config: str | None
    cfg: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)
    """The leaf task's config (splits), for naming a split the mirror lacks."""


def data_needs(index: dict[str, Any], name: str, depth: int = 0) -> list[DataNeed]:
    """The hub datasets a task, group or tag reads, from its index entries (nothing loaded)."""
    entry = index.get(name)
    if entry is None or depth > 8:
        return []
    kind = getattr(entry.kind, "name", str(entry.kind))
    cfg = entry.cfg if isinstance(entry.cfg, dict) else {}
    if kind == "TAG":
        return [n for leaf in sorted(entry.tags) for n in data_needs(index, leaf, depth + 1)]
    if kind == "GROUP":
        return _members(index, cfg.get("task") or [], depth)
    return _need(name, cfg)


def _members(index: dict[str, Any], members: Any, depth: int) -> list[DataNeed]:
    """A group's members: names, inline sub-groups, and tasks listed with overrides."""
    out: list[DataNeed] = []
    for item in members if isinstance(members, list) else [members]:
        if isinstance(item, str):
            out += data_needs(index, item, depth + 1)
        elif isinstance(item, dict) and "group" in item:
            out += _members(index, item.get("task") or [], depth + 1)
        elif isinstance(item, dict) and isinstance(item.get("task"), str):
            known = index.get(item["task"])
            base = known.cfg if known is not None and isinstance(known.cfg, dict) else {}
            out += _need(item["task"], {**base, **item})
    return out


def _need(task: str, cfg: dict[str, Any]) -> list[DataNeed]:
    path = cfg.get("dataset_path")
    if not isinstance(path, str) or path in LOCAL_BUILDERS or Path(path).exists():
        return []
    name = cfg.get("dataset_name")
    return [DataNeed(task, path, name if isinstance(name, str) else None, cfg)]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def hub_answers(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One short request to the hub (HF_ENDPOINT or huggingface.co): is it there?"""
    import requests

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        reply = requests.head(f"{endpoint}/api/datasets", timeout=timeout, allow_redirects=True)
    except requests.RequestException:
        return False
    return reply.ok  # a proxy's or firewall's error page is not the hub


def in_hf_cache(dataset: str) -> bool:
    """Whether the local Hugging Face caches already hold a copy of `dataset`."""
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    datasets_cache = Path(os.environ.get("HF_DATASETS_CACHE") or home / "datasets")
    hub_cache = Path(os.environ.get("HF_HUB_CACHE") or home / "hub")
    owner_name = dataset.replace("/", "___")
    candidates = [datasets_cache / owner_name, datasets_cache / owner_name.lower(),
                  hub_cache / f"datasets--{dataset.replace('/', '--')}"]
    return any(c.is_dir() for c in candidates)


REASONS = {
    "mirror": "The data mirror {mirror} has no folder for",
    "offline": ("Offline mode is on (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE) and the local "
                "Hugging Face cache holds none of"),
    "hub": (f"The Hugging Face hub did not answer within {PROBE_TIMEOUT_S:g} s and the local "
            "cache holds none of"),
}
SHORT = {"mirror": "not in the data mirror", "offline": "offline and not cached",
         "hub": "hub unreachable and not cached"}


def unreachable(needs: list[DataNeed], mirror: Path | None,
                probe: Any = hub_answers) -> list[tuple[DataNeed, str]]:
    """Each need that cannot be read from here, with why (a REASONS key); one hub probe at most."""
    out: list[tuple[DataNeed, str]] = []
    hub: bool | None = None
    for need in dict.fromkeys(needs):
        if mirror is not None:
            folder = Path(mirror) / need.dataset.replace("/", "__") / (need.config or "default")
            if not folder.is_dir():
                out.append((need, "mirror"))
            continue
        if in_hf_cache(need.dataset):
            continue
        if _truthy("HF_DATASETS_OFFLINE") or _truthy("HF_HUB_OFFLINE"):
            out.append((need, "offline"))
            continue
        if hub is None:
            hub = bool(probe())
        if not hub:
            out.append((need, "hub"))
    return out


def reachability_message(problems: list[tuple[DataNeed, str]], mirror: Path | None = None,
                         limit: int = 8) -> str:
    """One paragraph: which datasets cannot be read, for which tasks, why, and the fix."""
    tasks = sorted({need.task for need, _ in problems})
    parts = []
    for reason in dict.fromkeys(r for _, r in problems):
        by_dataset: dict[str, tuple[list[str], list[str]]] = {}
        for need, why in problems:
            if why == reason:
                configs, users = by_dataset.setdefault(need.dataset, ([], []))
                configs.append(need.config or "default")
                users.append(need.task)
        listed = []
        for dataset, (configs, users) in list(by_dataset.items())[:limit]:
            configs = list(dict.fromkeys(configs))
            names = ", ".join(configs) if len(configs) <= 3 else f"{len(configs)} configs"
            folder = dataset.replace("/", "__") if reason == "mirror" else dataset
            listed.append(f"{folder} ({names}; for {', '.join(dict.fromkeys(users))})")
        more = f", and {len(by_dataset) - limit} more" if len(by_dataset) > limit else ""
        parts.append(REASONS[reason].format(mirror=mirror) + ": " + ", ".join(listed) + more)
    return (f"the data of {len(tasks)} pending task(s) cannot be read from this machine, so "
            f"nothing ran and no model was loaded. {'. '.join(parts)}. {FIX}")


def check_data(task_names: list[str], index: dict[str, Any], mirror: Path | None,
               probe: Any = hub_answers) -> list[tuple[DataNeed, str]]:
    """Every dataset of these tasks that cannot be read from here, with why (empty: all fine)."""
    needs = [DataNeed(name, n.dataset, n.config)  # named by the task the config lists
             for name in dict.fromkeys(task_names) for n in data_needs(index, name)]
    return unreachable(needs, mirror, probe)


def missing_splits(task_names: list[str], index: dict[str, Any],
                   mirror: Path) -> dict[str, str]:
    """Task -> the first evaluation split its mirrored dataset lacks (the file expected).

    A run fails only those jobs (naming the file); a dry run shows them as skipped instead of
    failing while it estimates their requests.
    """
    from openvsclosed.tasks import MirrorSplitMissing, mirror_config

    out: dict[str, str] = {}
    for name in dict.fromkeys(task_names):
        for need in data_needs(index, name):
            try:
                mirror_config({**(need.cfg or {}), "task": need.task}, mirror)
            except MirrorSplitMissing as exc:
                out.setdefault(name, str(exc))
    return out
