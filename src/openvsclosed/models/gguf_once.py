"""Load a GGUF model with its file parsed once, not four times (SmolLM2: ~20 s -> ~5 s on CPU).

transformers 5.x loading `gguf_file=` reads the whole file's metadata (49k-token vocabulary and
merges, field by field) for the config twice, for the tokenizer once and for the weights once,
and rebuilds gguf's tensor-name table once per tensor. While this context is open, one
`GGUFReader` per path serves every read, the metadata-only result is computed once (each caller
gets its own deep copy, so a caller's edits stay its own), and the name table is built once per
architecture; the reader parses from the file read into RAM, not from a memmap. Outputs are
those of the uncached calls; the patches are undone on exit.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import sys
from collections.abc import Iterator
from typing import Any


class _InMemory:
    """numpy, but `memmap(path)` reads the file into RAM (the same bytes).

    gguf's reader slices its metadata part by part (~3M slices for a 49k-token vocabulary), and
    a memmap slice costs several times an array's.
    """

    def __init__(self, numpy: Any) -> None:
        self._numpy = numpy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._numpy, name)

    def memmap(self, path: Any, mode: str = "r", **_: Any) -> Any:
        return self._numpy.fromfile(path, dtype=self._numpy.uint8)


@contextlib.contextmanager
def gguf_parsed_once() -> Iterator[None]:
    """Patch gguf/transformers' GGUF readers with per-load caches for the `with` block."""
    try:
        import gguf
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    reader_cls, name_map, load = gguf.GGUFReader, gguf.get_tensor_name_map, (
        gguf_utils.load_gguf_checkpoint)
    readers: dict[tuple[str, str], Any] = {}
    metadata: dict[str, Any] = {}

    def reader(path: Any, mode: str = "r") -> Any:
        key = (str(path), mode)
        if key not in readers:
            module = sys.modules.get(reader_cls.__module__)
            numpy = getattr(module, "np", None)
            if mode == "r" and numpy is not None:  # read-only: parse from RAM, not a memmap
                module.np = _InMemory(numpy)  # type: ignore[union-attr]
            try:
                readers[key] = reader_cls(path, mode)
            finally:
                if numpy is not None:
                    module.np = numpy  # type: ignore[union-attr]
        return readers[key]

    def load_checkpoint(path: Any, return_tensors: bool = False, *args: Any,
                        **kwargs: Any) -> Any:
        if return_tensors or args or any(v is not None for v in kwargs.values()):
            return load(path, return_tensors, *args, **kwargs)
        if str(path) not in metadata:
            metadata[str(path)] = load(path, False)
        return copy.deepcopy(metadata[str(path)])

    gguf.GGUFReader = reader
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(name_map)
    gguf_utils.load_gguf_checkpoint = load_checkpoint
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader_cls, name_map
        gguf_utils.load_gguf_checkpoint = load
