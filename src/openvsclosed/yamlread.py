"""Config YAML read with bounds: size, alias expansion and duplicate keys checked first.

A config is small; a huge file, a FIFO, an alias bomb or a key given twice (YAML keeps the last
silently) is refused before anything expands or formats it.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1_000_000
MAX_NODES = 100_000
"""A config expands to far fewer values; more is an alias bomb (exponential expansion)."""


class ConfigTooLarge(yaml.YAMLError):
    """Input bounded before anything expands or formats it."""


def parse_bounded(text: str) -> Any:
    """safe_load, refusing documents whose aliases would expand past MAX_NODES values."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_NODES:
            raise ConfigTooLarge(f"its YAML aliases (*name) expand to over {MAX_NODES:,} values")
        _refuse_duplicate_keys(node, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


class DuplicateKey(yaml.MarkedYAMLError):
    """A mapping names one key twice: YAML keeps the last silently, so one setting would vanish."""


def _refuse_duplicate_keys(node: yaml.Node, seen: set[int]) -> None:
    """Raise DuplicateKey at the second occurrence of a key in any mapping (merges excepted)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, yaml.Node] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in keys:
                    first = keys[key.value].start_mark
                    raise DuplicateKey(
                        problem=f"the key {key.value!r} appears twice in one mapping (first at "
                                f"line {first.line + 1}); allowed: each key once",
                        problem_mark=key.start_mark)
                keys[key.value] = key
            _refuse_duplicate_keys(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _refuse_duplicate_keys(child, seen)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values a node stands for once aliases are expanded (shared nodes counted each time)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a cycle counts once, and recursion stops
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes)
                        for k, v in node.value)
    else:
        total = 1
    sizes[id(node)] = min(total, MAX_NODES + 1)
    return sizes[id(node)]


def read_bounded(path: Path) -> str:
    """The file's text; a FIFO, a device or a huge file is refused before it is read."""
    if path.exists() and not path.is_file():
        raise OSError(0, "not a regular file")
    if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
        raise OSError(0, f"larger than {MAX_CONFIG_BYTES:,} bytes")
    return path.read_text("utf-8")


def brief(value: Any, limit: int = 120) -> str:
    """A value's repr cut short: an error message never formats a huge input in full."""
    text = reprlib.Repr()
    text.maxstring, text.maxother, text.maxlist, text.maxdict, text.maxlevel = (
        limit, limit, 6, 6, 3)
    out = text.repr(value)
    return out if len(out) <= limit else out[:limit] + "…"
