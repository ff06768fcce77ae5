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

from openvsclosed.taskindex import (
    LOCAL_FORMATS,
    REFUSED_FORMATS,
    hub_dataset,
    leaf_configs,
    refused_format,
)

LOCAL_BUILDERS = LOCAL_FORMATS
"""The older name of `taskindex.LOCAL_FORMATS` (file formats, read where they are)."""
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


def data_needs(index: dict[str, Any], name: str) -> list[DataNeed]:
    """The datasets a task, group or tag reads, from its index entries (nothing loaded).

    Hub datasets, and files in a format `datasets` refuses (`dataset` is then the format).
    """
    out = []
    for leaf, cfg in leaf_configs(index, name):
        dataset = hub_dataset(cfg) or refused_format(cfg)
        if dataset is not None:
            config = cfg.get("dataset_name")
            out.append(DataNeed(leaf, dataset, config if isinstance(config, str) else None, cfg))
    return out


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
    "format": ("Tasks read their data in a file format that `datasets` (which lm-eval reads "
               "data with) refuses, so no run could read"),
    "mirror": "The data mirror {mirror} has no folder for",
    "offline": ("Offline mode is on (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE) and the local "
                "Hugging Face cache holds none of"),
    "hub": (f"The Hugging Face hub did not answer within {PROBE_TIMEOUT_S:g} s and the local "
            "cache holds none of"),
}
SHORT = {"format": "file format refused", "mirror": "not in the data mirror",
         "offline": "offline and not cached", "hub": "hub unreachable and not cached"}


def unreachable(needs: list[DataNeed], mirror: Path | None,
                probe: Any = hub_answers) -> list[tuple[DataNeed, str]]:
    """Each need that cannot be read from here, with why (a REASONS key); one hub probe at most."""
    out: list[tuple[DataNeed, str]] = []
    hub: bool | None = None
    for need in dict.fromkeys(needs):
        if need.dataset in REFUSED_FORMATS:  # unreadable anywhere: no mirror or hub helps
            out.append((need, "format"))
            continue
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
            users_text = ", ".join(dict.fromkeys(users))
            listed.append(f"{folder} (for {users_text}: {REFUSED_FORMATS[dataset]})"
                          if reason == "format" else f"{folder} ({names}; for {users_text})")
        more = f", and {len(by_dataset) - limit} more" if len(by_dataset) > limit else ""
        parts.append(REASONS[reason].format(mirror=mirror) + ": " + ", ".join(listed) + more)
    fixes = [f"Allowed file formats for a task's dataset_path: {', '.join(sorted(LOCAL_FORMATS))}."
             ] if any(r == "format" for _, r in problems) else []
    if any(r != "format" for _, r in problems):
        fixes.append(FIX)
    return (f"the data of {len(tasks)} pending task(s) cannot be read from this machine, so "
            f"nothing ran and no model was loaded. {'. '.join(parts)}. {' '.join(fixes)}")


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
