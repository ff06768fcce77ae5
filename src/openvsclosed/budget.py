"""The API spending cap: reservations before each request, spend after, one ledger per results dir.

A cap that lives in one process's memory holds only for that process: two runs on the same
results directory, or the workers of one distributed run, would each spend up to it. The ledger
is a small JSON file in the results directory, read and rewritten under an exclusive file lock
for every reservation and settlement, so every process on the machine (and every Ray actor that
reaches the driver's budget) shares one cap, and every dollar paid stays recorded across runs.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LEDGER = "budget.json"
LOCK = "budget.lock"


class BudgetExceeded(Exception):
    """The next request would take spending past the cap: nothing more is sent."""


def holder() -> str:
    """This process as the ledger names a reservation's owner (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(owner: str) -> bool:
    """Whether a reservation's process still runs (same host; other hosts are trusted)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Budget:
    """Thread-safe reservations against `max_usd`; with `root`, shared through the ledger file.

    Without a root (unit use) the ledger is this object's memory. `spent_usd` is what has been
    paid against this ledger in total (all runs), `spent_here_usd` what this process paid.
    """

    max_usd: float | None = None
    root: Path | None = None
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    spent_here_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, usd: float) -> None:
        """Hold `usd` for a request about to be sent, or refuse if it would pass the cap."""
        with self._ledger() as ledger:
            reserved = sum(ledger["reserved"].values())
            if self.max_usd is not None and \
                    ledger["spent_usd"] + reserved + usd > self.max_usd + 1e-12:
                raise BudgetExceeded(
                    f"the next request (about ${usd:.6f}) would take spending past the budget "
                    f"of ${self.max_usd:g} (spent ${ledger['spent_usd']:.6f}"
                    + (f" in {self.root}, all runs" if self.root else "") + ")")
            me = holder()
            ledger["reserved"][me] = ledger["reserved"].get(me, 0.0) + usd

    def settle(self, reserved: float, actual: float) -> None:
        """Replace a reservation by what the request really cost."""
        with self._ledger() as ledger:
            me = holder()
            left = ledger["reserved"].get(me, 0.0) - reserved
            if left > 1e-12:
                ledger["reserved"][me] = left
            else:
                ledger["reserved"].pop(me, None)
            ledger["spent_usd"] += actual
            self.spent_here_usd += actual

    @contextmanager
    def _ledger(self) -> Iterator[dict]:
        """The ledger, locked for this thread and (with a root) for every other process."""
        with self._lock:
            if self.root is None:
                ledger = {"spent_usd": self.spent_usd,
                          "reserved": {holder(): self.reserved_usd} if self.reserved_usd else {}}
                yield ledger
                self.spent_usd = ledger["spent_usd"]
                self.reserved_usd = sum(ledger["reserved"].values())
                return
            self.root.mkdir(parents=True, exist_ok=True)
            with (self.root / LOCK).open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    ledger = read_ledger(self.root)
                    dead = {h: v for h, v in ledger["reserved"].items() if not alive(h)}
                    # a process killed mid-request may have been billed: count it as paid
                    ledger["spent_usd"] += sum(dead.values())
                    ledger["reserved"] = {h: v for h, v in ledger["reserved"].items()
                                          if h not in dead}
                    yield ledger
                    _write(self.root / LEDGER, ledger)
                    self.spent_usd = ledger["spent_usd"]
                    self.reserved_usd = sum(ledger["reserved"].values())
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)


class LedgerError(Exception):
    """The ledger exists but cannot be trusted: spending stops rather than restart at $0."""


def read_ledger(root: Path) -> dict:
    """The ledger as stored; a missing one starts at zero.

    Fails closed: a ledger that exists but is unreadable, truncated, or holds a value that is
    not a finite amount of at least $0 (NaN, Infinity, negative) raises LedgerError. Reading
    it as $0 would silently forget what was paid and let a capped run spend the cap again.
    """
    path = Path(root) / LEDGER
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {"spent_usd": 0.0, "reserved": {}}
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(_ledger_problem(path, f"it cannot be read ({exc})")) from None
    try:
        data = json.loads(text)
        spent = float(data["spent_usd"])
        reserved = {str(k): float(v) for k, v in (data.get("reserved") or {}).items()}
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
        raise LedgerError(_ledger_problem(path, "it is not a complete ledger (truncated or "
                                          "edited)")) from None
    for what, value in [("spent_usd", spent), *((f"reserved[{k}]", v)
                                                 for k, v in reserved.items())]:
        if not math.isfinite(value) or value < 0:
            raise LedgerError(_ledger_problem(path, f"{what} is {value!r}, not a finite amount "
                                              "of at least $0"))
    return {"spent_usd": spent, "reserved": reserved}


def _ledger_problem(path: Path, why: str) -> str:
    return (f"budget ledger {path}: {why}. It records every dollar paid against this results "
            "directory, and the API cap is checked against it, so no API request is sent "
            "while it cannot be trusted. Restore it, or delete it to start counting from $0 "
            f"again (rm '{path}'); --max-cost then counts from $0.")


def check_ledger(root: Path) -> None:
    """Raise LedgerError before any request if the results directory's ledger is untrustworthy."""
    read_ledger(root)


def _write(path: Path, ledger: dict) -> None:
    from openvsclosed.store import write_atomic

    write_atomic(path, json.dumps(ledger, indent=1, sort_keys=True))
