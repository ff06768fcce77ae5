"""A GGUF model de-quantized once into a plain transformers folder, and loaded from there after.

Every `gguf_file=` load parses the file's metadata (SmolLM2: a 49k-token vocabulary and its
merges, ~150k fields) and de-quantizes every tensor to float32: ~6 s of a 2-core machine per
`openvsclosed run`, though the result only changes with the file or the libraries. So the first
load saves what it built (the weights as safetensors, the config, the generation config, the
tokenizer) in the cache folder, keyed by the GGUF file (resolved path, size, modification time),
the dtype asked for, and the transformers, torch and gguf versions; later loads read that folder
in a fraction of a second. The weights are the same bits and the tokenizer encodes the same;
the config differs only by the GGUF `quantization_config` note, dropped because the saved
weights are plain (tests/test_gguf_cache.py checks all of it against a fresh GGUF load).

Only a plain local load is cached (no revision, subfolder, PEFT or delta weights, separate
tokenizer, remote code), and only up to `MAX_BYTES` of weights: a large GGUF de-quantized to
float32 is many times its size. A copy is written to a temporary folder and renamed into place,
so a reader never sees half of one; a cache that cannot be written or read is skipped and the
GGUF loaded as before. This module imports nothing from openvsclosed (bench scripts load the
fast paths by file path).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = 1
"""Bumped when what a cached folder holds changes, so older folders are never read."""
MAX_BYTES = 4 << 30
"""Weights larger than this (float32 after de-quantizing) are not copied: disk over speed."""
KEEP = 3
"""Cached models kept; older ones are removed when a new one is written."""
MARK = "ovc-gguf-source.json"
"""Written last into a cached folder: what it was made from (a folder without it is not read)."""
_PLAIN_LOAD = {"revision": (None, "main"), "subfolder": (None, ""), "tokenizer": (None,),
               "peft": (None,), "delta": (None,), "autogptq": (None, False),
               "gptqmodel": (None, False), "trust_remote_code": (None, False)}
"""Load arguments a cached copy reproduces only at these values."""


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def cached_folder(root: str | Path, kwargs: dict[str, Any]) -> Path | None:
    """Where this load's converted copy lives under `root`, or None when it is not cacheable."""
    pretrained, gguf_file = kwargs.get("pretrained"), kwargs.get("gguf_file")
    if not isinstance(pretrained, str) or not isinstance(gguf_file, str):
        return None
    if any(kwargs.get(k) not in allowed for k, allowed in _PLAIN_LOAD.items()):
        return None
    source = Path(pretrained) / gguf_file
    try:
        stat = source.resolve(strict=True).stat()
    except OSError:  # a hub repository id, or a missing file: transformers says what is wrong
        return None
    parts = [f"format={FORMAT}", f"file={source.resolve()}", f"size={stat.st_size}",
             f"mtime={stat.st_mtime_ns}", f"dtype={kwargs.get('dtype', 'auto')}",
             f"transformers={_version('transformers')}", f"torch={_version('torch')}",
             f"gguf={_version('gguf')}"]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
    return Path(root) / f"{source.stem}-{key}"


def is_complete(folder: Path) -> bool:
    """Whether `folder` holds a whole converted copy (its mark is written last)."""
    return (folder / MARK).is_file() and (folder / "config.json").is_file()


def plain_load_args(folder: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with the GGUF file swapped for the converted folder."""
    args = {k: v for k, v in kwargs.items() if k != "gguf_file"}
    args["pretrained"] = str(folder)
    return args


def discard(folder: Path) -> None:
    """Remove a copy that failed to load; the next load converts again."""
    shutil.rmtree(folder, ignore_errors=True)


def save(model: Any, tokenizer: Any, folder: Path, source: str) -> bool:
    """Write the loaded model and tokenizer as a plain folder at `folder`; False if skipped."""
    size = sum(p.numel() * p.element_size() for p in model.state_dict().values())
    if size > MAX_BYTES:
        log.info("GGUF not cached: %.1f GB of weights is over the %.1f GB limit", size / 1e9,
                 MAX_BYTES / 1e9)
        return False
    tmp: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(folder.parent).free < 2 * size:
            return False
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        _save_plain(model, tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / MARK).write_text(json.dumps({"gguf": source, "format": FORMAT}))
        if folder.exists() and not is_complete(folder):  # a half-removed copy: never read
            discard(folder)
        try:
            os.rename(tmp, folder)  # atomic; fails if another run got there first
        except OSError:
            if not is_complete(folder):
                raise
        else:
            tmp = None
            with contextlib.suppress(OSError):  # another run pruning at the same time
                _prune(folder.parent)
        return True
    except Exception as exc:  # a cache must never fail the load it follows
        log.warning("GGUF not cached (%s): the next run converts it again", exc)
        return False
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _save_plain(model: Any, folder: Path) -> None:
    """`save_pretrained` without the GGUF quantizer: the weights are already de-quantized.

    transformers refuses to save a model loaded through its GGUF quantizer; its modules are
    plain float layers, so the quantizer and the config's note of it are set aside meanwhile.
    """
    config = model.config
    quantizer = getattr(model, "hf_quantizer", None)
    note = getattr(config, "quantization_config", None)
    architectures = getattr(config, "architectures", None)  # `save_pretrained` fills it in
    model.hf_quantizer = None
    if note is not None:
        del config.quantization_config
    try:
        model.save_pretrained(folder)
    finally:
        model.hf_quantizer = quantizer
        config.architectures = architectures
        if note is not None:
            config.quantization_config = note
    if architectures is None:  # the copy's config as the GGUF gave it
        saved = json.loads((folder / "config.json").read_text())
        saved.pop("architectures", None)
        (folder / "config.json").write_text(json.dumps(saved, indent=2, sort_keys=True))


def _prune(root: Path) -> None:
    """Keep the `KEEP` most recently written copies; drop temporary folders a killed run left."""
    import time

    for stale in root.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
    copies = sorted((p for p in root.iterdir() if p.is_dir() and is_complete(p)),
                    key=lambda p: (p / MARK).stat().st_mtime)
    for old in copies[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
