"""Successful API responses on disk, so a re-run sends nothing it already paid for.

One SQLite file per model, keyed by request hash; no key is ever stored, nor a private reply.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from pathlib import Path


class ResponseCache:
    """Successful responses by request hash, in one SQLite file per model (no keys stored)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite creates its file 0644 whatever the umask; made here first, the file follows
        # the umask (664 under 002), and SQLite gives its -wal/-shm files the same mode, so a
        # colleague sharing the results folder can write the cache too
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, body TEXT)")
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        """The stored response, or None."""
        with self._lock:
            row = self._db.execute("SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, body: dict) -> None:
        """Store a response (atomic per row)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)",
                             (key, json.dumps(body)))
