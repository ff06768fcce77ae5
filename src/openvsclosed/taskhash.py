"""What defines a task, hashed: the files behind a job key's `task_hash`.

Editing a task's YAML, anything it includes or the Python its `!function`s call changes the hash
and so re-runs its jobs; lm-eval's own tasks are pinned by its version instead.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from openvsclosed.config import ConfigError, RunConfig
from openvsclosed.taskindex import PACKAGE_TASKS, group_members, read_task_yaml


def definition_folders(config: RunConfig, source: str = "the config") -> list[Path]:
    """Our task variants plus the user's task folders: the definitions hashed into job keys.

    Own tasks are not among them: their jobs are keyed by their data's digest instead.
    """
    for i, folder in enumerate(config.task_paths):
        if not Path(folder).is_dir():
            raise ConfigError(f"{source}: task_paths[{i}]: {folder} is not a folder (relative "
                              f"to {Path.cwd()}); allowed: folders of lm-eval task YAMLs.")
    return [PACKAGE_TASKS, *config.task_paths]


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
    cfg = read_task_yaml(path, includes=False)
    include = cfg.get("include")
    for each in [include] if isinstance(include, str) else include or []:
        if isinstance(each, str):  # lm-eval takes one file or a list of them
            _collect(path.parent / each, files, names, depth + 1)
    for value in _strings(cfg):
        if value.startswith("!function "):
            module = value.split(" ", 1)[1].rsplit(".", 1)[0]
            py = path.parent / f"{module.replace('.', '/')}.py"
            if py.is_file():
                files.setdefault(py.resolve(), py.read_bytes())
    members = cfg.get("task") if "group" in cfg else None
    if isinstance(members, list):
        names.extend(name for name, _ in group_members(members))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
