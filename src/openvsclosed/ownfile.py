"""An own task's data file, read the way lm-eval's `datasets` loader will read it, streamed.

Kept apart from the task logic (owntask) because reading is its own job: three formats, bounded
memory whatever the file's size, and every unreadable input named with its file and row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openvsclosed.config import ConfigError

MAX_FILE_BYTES = 512 * 1024 * 1024
FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
"""File suffix -> the `datasets` builder the generated task names as its dataset_path."""


def read_rows(path: Path, where: str) -> list[dict[str, Any]]:
    """The file's rows as dicts (small files only: tests, examples)."""
    return [row for _, row in iter_rows(path, where)]


CSV_CHUNK_ROWS = 10_000


def iter_rows(path: Path, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) by the file's suffix, streamed; unreadable input names the file."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"{where}: {path}: unknown format {suffix or '(none)'}; allowed: "
                          ".jsonl, .csv, .parquet.")
    if not path.is_file():
        raise ConfigError(f"{where}: {path} is not a file (relative to the current folder).")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{where}: {path} is larger than {MAX_FILE_BYTES:,} bytes.")
    if suffix in (".jsonl", ".json"):
        yield from _jsonl_rows(path, where)
        return
    number = 0
    try:
        for chunk in _table_chunks(path, suffix):
            for row in chunk:
                number += 1
                yield number, _plain(row)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{where}: {path}: not a readable {suffix[1:]} file "
                          f"({type(exc).__name__}: {str(exc)[:160]}).") from None


def _table_chunks(path: Path, suffix: str) -> Iterator[list[dict[str, Any]]]:
    """CSV as `datasets` reads it, in chunks; Parquet by record batch.

    pandas' defaults are what `datasets` uses: NA/null/None cells are missing, columns typed.
    """
    if suffix == ".csv":
        import pandas as pd

        with pd.read_csv(path, chunksize=CSV_CHUNK_ROWS) as reader:
            for frame in reader:
                yield frame.to_dict(orient="records")
        return
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        for batch in parquet.iter_batches(batch_size=CSV_CHUNK_ROWS):
            yield batch.to_pylist()


def _jsonl_rows(path: Path, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise ConfigError(f"{where}: {path}: row {number} is not a JSON object "
                                  f"({type(exc).__name__}); allowed: one JSON object a line."
                                  ) from None
            if not isinstance(row, dict):
                raise ConfigError(f"{where}: {path}: row {number} is a {type(row).__name__}, "
                                  "not a JSON object.")
            yield number, row


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Numpy arrays and scalars from Parquet as lists and Python values."""
    out = {}
    for key, value in row.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        out[str(key)] = value
    return out
