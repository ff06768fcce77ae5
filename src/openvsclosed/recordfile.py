"""One record file -> a validated record: whole, without its samples, or with its doc scores.

The store's reading half (store.py keeps the folder: paths, writes, the lock, the logs). A file
that is not a record raises StoreError naming it and why, so a caller can skip it and say so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from openvsclosed.recordframe import samples_doc_scores
from openvsclosed.schema import SCHEMA_VERSION, ResultRecord

MAX_RECORD_BYTES = 512 * 1024 * 1024
"""Larger files are not records (a full MMLU run with samples is a few tens of MB)."""
HEAD_BYTES = 64 * 1024
"""What `has` reads from a record's start: everything but the samples, in any usual record."""
SAMPLES_KEY = b'\n "samples": '
"""Where a stored record's samples start: their key on its own line at indent 1 (a newline
inside a JSON string is always escaped, so this occurs nowhere else in the file)."""


class StoreError(Exception):
    """A stored file that cannot be read as a record (corrupt, or from a newer version)."""


def read_record(path: Path, samples: bool = True) -> ResultRecord:
    """The record in a file, validated.

    `samples=False` validates everything but the per-document samples (the bulk of a
    record).
    """
    data = _parsed(path, read_bytes(path))
    if not samples:
        data = {**data, "samples": []}
    return _validated(path, data)


def read_head(path: Path) -> ResultRecord:
    """The record without its samples, reading and parsing only what precedes them.

    Deciding "finished" needs the key and a valid record, not the samples (nearly all of
    a record's bytes and of its parsing time). A record as `put` writes it keeps samples
    last, one key per line at indent 1: the text before `"samples"` plus an empty list and
    a closing brace is the rest of the record. Read: the file's first `HEAD_BYTES` and its
    last bytes, which must close the samples' list and the record (a truncated copy does
    not, and is not finished). A file in any other layout (older writers, hand-edited), or
    whose head does not read as a record, is parsed whole, so its error is the file's own.
    Not seen here: bytes damaged inside the samples of a complete file (writes are atomic,
    so only the disk does that); the report's reader names such a file and skips it.
    """
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(HEAD_BYTES)
            fh.seek(max(size - 16, 0))
            tail = fh.read()
    except OSError:
        return read_record(path, samples=False)
    cut = head.find(SAMPLES_KEY)
    if (
        size > MAX_RECORD_BYTES
        or cut <= 0
        or head[cut - 1 : cut] != b","
        or not tail.rstrip().endswith(b"]\n}")
    ):
        return read_record(path, samples=False)
    try:
        return _validated(path, _parsed(path, head[:cut] + b'\n "samples": []\n}'))
    except StoreError:
        return read_record(path, samples=False)


def read_bytes(path: Path) -> bytes:
    """A file's bytes, refusing what is too large to be a record."""
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise StoreError(f"{path}: larger than {MAX_RECORD_BYTES} bytes, not a record")
        return path.read_bytes()
    except OSError as exc:
        raise StoreError(f"{path}: not a readable result file ({str(exc)[:200]})") from None


def read_scored(path: Path) -> tuple[ResultRecord, dict[str, float]]:
    """The record without its samples, and its primary metric per document (`doc_scores`)."""
    data = _parsed(path, read_bytes(path))
    record = _validated(path, {**data, "samples": []})
    return record, _raw_doc_scores(path, record, data.get("samples", []))


def _parsed(path: Path, raw: bytes) -> dict:
    """A record file's JSON, at a schema version this reader knows (else StoreError)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise StoreError(f"{path}: not a readable result file ({reason})") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema_version {version!r} is not one this version reads "
            f"(up to {SCHEMA_VERSION}); upgrade openvsclosed"
        )
    return data


def _validated(path: Path, data: dict) -> ResultRecord:
    """The parsed JSON as a record (StoreError naming the file when it is not one)."""
    try:
        return ResultRecord.model_validate(data)
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[:3]
        raise StoreError(f"{path}: not a valid result record ({'; '.join(first)})") from None


def _raw_doc_scores(path: Path, record: ResultRecord, samples: object) -> dict[str, float]:
    """`doc_scores` from a record file's parsed samples (StoreError naming what is missing)."""
    try:
        return samples_doc_scores(samples, record.primary_metric)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise StoreError(
            f"{path}: not a valid result record (a sample without "
            f"{exc if isinstance(exc, KeyError) else 'the expected fields'})"
        ) from None
