"""lm-eval's task index cached on disk, so `validate`, `--dry-run` and `run` start in seconds.

Building lm-eval's TaskManager parses ~15k YAML files (7-30 s on a small machine) and gives
the same answer until lm-eval or a task folder changes. Each folder's part of the index is
stored on its own: lm-eval's folder keyed by lm-eval's version and location (its files change
only with it; `make setup` builds it, `python -m openvsclosed.indexcache`), every other
include path by its location and the name, modification time and size of each file under it
(editing, adding or removing a task YAML or its Python re-indexes that folder alone). A run's
index is the folders' parts merged in order, as lm-eval's own build merges them.

Only what is read before a task is built is kept in each entry (name, kind, YAML path, tags,
and the few config keys below): lm-eval re-reads the YAML itself when it builds a task, so the
cached index stays small (about 1 MB) and loads in a fraction of a second.

Location: OVC_CACHE_DIR, else $XDG_CACHE_HOME/openvsclosed, else ~/.cache/openvsclosed.
A cache that cannot be read or written is ignored (the index is then built as before).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lm_eval.tasks import TaskManager

CACHE_FORMAT = 2
"""Bumped when what an entry keeps changes, so older cache files are never read."""
KEPT_KEYS = ("task", "group", "tag", "output_type", "dataset_path", "dataset_name",
             "dataset_kwargs", "test_split", "validation_split", "training_split",
             "fewshot_split")
"""Config keys read before a task is built: names, request type, where its data lives."""
KEEP_FILES = 24
"""Cache files kept (one per task folder: lm-eval's, ours, each config's own tasks); the least
recently used are removed."""


def cache_dir() -> Path:
    """Where the index is cached (OVC_CACHE_DIR, XDG_CACHE_HOME/openvsclosed, ~/.cache/...)."""
    if os.environ.get("OVC_CACHE_DIR"):
        return Path(os.environ["OVC_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openvsclosed"


def _files(root: Path) -> list[str]:
    """`relative path:mtime_ns:size` of every file under an include path, sorted."""
    root = Path(root)
    if not root.is_dir():
        return [f"{root}:missing"]
    out = []
    for path in root.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            stat = path.stat()
            out.append(f"{path.relative_to(root).as_posix()}:{stat.st_mtime_ns}:{stat.st_size}")
    return sorted(out)


def unique_paths(include_path: list[str | Path]) -> list[str]:
    """Include paths as strings, each folder once (first place kept), however callers spell them.

    Every entry point (the data check, the run's manager, a Ray worker) then keys the same
    folders to the same cache file, whether or not it listed our package folder itself.
    """
    seen: dict[Path, str] = {}
    for root in include_path:
        seen.setdefault(Path(root).resolve(), str(root))
    return list(seen.values())


def _root_key(root: str | Path | None) -> str:
    """A hash of what decides one folder's part of the index; None is lm-eval's own folder.

    lm-eval's folder (~15k YAML files) is keyed by lm-eval's version and location alone: its
    files change only with it, and listing them would cost more than reading the cache.
    """
    import lm_eval

    parts = [f"format={CACHE_FORMAT}", f"python={sys.version_info[:2]}",
             f"lm_eval={version('lm_eval')}@{Path(lm_eval.__file__).parent}"]
    if root is not None:
        parts.append(f"path={Path(root).resolve()}")
        parts += _files(Path(root))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def index_key(include_path: list[str | Path], include_defaults: bool = True) -> str:
    """One key for a whole list of folders (each folder's own key, in order)."""
    roots: list[str | Path | None] = [None] if include_defaults else []
    keys = [_root_key(root) for root in [*roots, *unique_paths(include_path)]]
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]


def _rows(index: dict[str, Any]) -> list[tuple]:
    """Entries as plain tuples (fast to pickle and load), configs cut to KEPT_KEYS.

    lm-eval re-reads the YAML itself when it builds a task, so the rest is not needed.
    """
    rows = []
    for name, entry in index.items():
        cfg = entry.cfg
        if entry.yaml_path is not None and isinstance(cfg, dict):
            cfg = {k: cfg[k] for k in KEPT_KEYS if k in cfg}
        path = None if entry.yaml_path is None else str(entry.yaml_path)
        rows.append((name, entry.kind.name, path, cfg, sorted(entry.tags)))
    return rows


_ENTRY_CLASS: list[type] = []


def _entry_class() -> type:
    """lm-eval's Entry with a lazily parsed `yaml_path` (built once; lm-eval imported late)."""
    if not _ENTRY_CLASS:
        from lm_eval.tasks._index import Entry, Kind

        class CachedEntry(Entry):
            """An index entry whose `yaml_path` becomes a Path on first read (15k Paths: 0.5 s)."""

            def __init__(self, name: str, kind: Kind, path: str | None, cfg: Any,
                         tags: set[str]) -> None:
                self.name, self.kind, self._path, self.cfg, self.tags = (name, kind, path, cfg,
                                                                         tags)

            @property
            def yaml_path(self) -> Path | None:  # type: ignore[override]
                return None if self._path is None else Path(self._path)

        CachedEntry.__module__, CachedEntry.__qualname__ = __name__, "CachedEntry"
        _ENTRY_CLASS.append(CachedEntry)
    return _ENTRY_CLASS[0]


def __getattr__(name: str) -> Any:
    """`CachedEntry` on demand, so pickled entries load in another process (Ray workers)."""
    if name == "CachedEntry":
        return _entry_class()
    raise AttributeError(name)


def _entries(rows: list[tuple]) -> dict[str, Any]:
    """The index back from its rows; each YAML path is parsed only when lm-eval reads it."""
    from lm_eval.tasks._index import Kind

    cls = _entry_class()
    return {name: cls(name, Kind[kind], path, cfg, set(tags))
            for name, kind, path, cfg, tags in rows}


_LOADED: dict[tuple[str, int, int], dict[str, Any]] = {}
"""Indexes already read by this process (run reads it for the data check, then the manager)."""


def load_index(key: str) -> dict[str, Any] | None:
    """The cached index for `key`, or None (absent, unreadable, or from another format)."""
    path = cache_dir() / f"task-index-{key}.pickle"
    try:
        stat = path.stat()
        memo = (str(path), stat.st_mtime_ns, stat.st_size)  # the file as it is now
        if memo in _LOADED:
            return dict(_LOADED[memo])
        with path.open("rb") as handle:
            rows = pickle.load(handle)
        _LOADED[memo] = _entries(rows)
        with contextlib.suppress(OSError):  # recently used: the last to be pruned
            os.utime(path)
            _LOADED[(str(path), path.stat().st_mtime_ns, stat.st_size)] = _LOADED[memo]
        return dict(_LOADED[memo])
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
            TypeError, ValueError, KeyError):
        return None


def save_index(key: str, index: dict[str, Any]) -> None:
    """Store the index atomically; failures are ignored (the cache is only a speed-up)."""
    folder, tmp = cache_dir(), None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False,
                                         suffix=".tmp") as handle:
            tmp = Path(handle.name)
            pickle.dump(_rows(index), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / f"task-index-{key}.pickle")
        old = sorted(folder.glob("task-index-*.pickle"), key=lambda p: p.stat().st_mtime)
        for stale in old[:-KEEP_FILES]:
            stale.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        if tmp is not None:
            tmp.unlink(missing_ok=True)


@contextmanager
def _prebuilt(index: dict[str, Any]) -> Iterator[None]:
    """TaskManager's index build answered from `index` while a manager is constructed."""
    from lm_eval.tasks import manager as manager_module

    original = manager_module.TaskIndex

    class CachedTaskIndex(original):  # type: ignore[misc, valid-type]
        """lm-eval's TaskIndex whose `build` returns the cached index."""

        @staticmethod
        def build(paths: Any, *, resolve_includes: bool = True) -> dict[str, Any]:
            return dict(index)

    manager_module.TaskIndex = CachedTaskIndex
    try:
        yield
    finally:
        manager_module.TaskIndex = original


def _folder_index(root: str | None) -> dict[str, Any]:
    """One folder's entries (None: lm-eval's own), from the cache or built and cached."""
    from lm_eval.tasks import manager as manager_module

    key = _root_key(root)
    index = load_index(key)
    if index is None:
        path = Path(manager_module.__file__).parent if root is None else Path(root)
        index = manager_module.TaskIndex.build([path])
        save_index(key, index)
    return index


def merged_index(include_path: list[str], include_defaults: bool = True) -> dict[str, Any]:
    """lm-eval's index over its own tasks and `include_path`, each folder cached on its own.

    `TaskIndex.build` indexes folder by folder and lets a later folder's name replace an
    earlier one's, so merging the folders' cached parts in the same order gives its answer.
    Editing an own task then re-indexes that folder alone, never lm-eval's ~15k files.
    """
    import logging

    roots: list[str | None] = [None] if include_defaults else []
    index: dict[str, Any] = {}
    for root in [*roots, *unique_paths(include_path)]:
        for name, entry in _folder_index(root).items():
            if name in index:  # lm-eval's warning, as its own build gives it
                logging.getLogger("lm_eval.tasks._index").warning(
                    "Task '%s' from %s overrides existing task from %s", name,
                    entry.yaml_path, index[name].yaml_path)
            index[name] = entry
    return index


def cached_task_manager(include_path: list[str], include_defaults: bool = True) -> TaskManager:
    """lm-eval's TaskManager over `include_path`, its index read from the cache when warm."""
    from lm_eval.tasks import TaskManager

    include_path = unique_paths(include_path)
    with _prebuilt(merged_index(include_path, include_defaults)):
        return TaskManager(include_path=include_path, include_defaults=include_defaults)


def task_index(include_path: list[str], include_defaults: bool = True) -> dict[str, Any]:
    """The index alone (name -> entry), cached like the manager's: for checks before a run."""
    return merged_index(include_path, include_defaults)


def warm() -> None:
    """Build lm-eval's own part of the index now (`make setup` does), not in a first run."""
    _folder_index(None)


if __name__ == "__main__":
    warm()
