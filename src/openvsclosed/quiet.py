"""Libraries' logs and progress bars go to a log file; the terminal keeps our lines and the answer.

A run of `configs/small.yaml` used to print ~120 dataset "Generating split" bars, 57 "Overwriting
default num_fewshot" warnings and lm-eval's request bars before its report. While
`library_output` is open, the loggers of lm-eval, datasets, transformers and friends, Python
warnings and every tqdm bar write to one log file in the results directory (bars one line per
refresh, at most every few seconds); with `verbose` they also keep writing to the terminal as
before. Our own loggers (`openvsclosed.*`) and the run's progress bar are left alone.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

LIBRARY_LOGGERS = ("lm_eval", "lm-eval", "datasets", "transformers", "huggingface_hub",
                   "accelerate", "torch", "urllib3", "filelock", "fsspec", "httpx", "ray",
                   "vllm", "py.warnings")
"""Loggers whose records go to the log file (and, unless verbose, nowhere else)."""
BAR_INTERVAL_S = 5.0
"""A bar in the log file refreshes at most this often (its last state is always written)."""


class _BarLines:
    """A file for tqdm: each refresh becomes one line of the log, carriage returns dropped."""

    def __init__(self, stream: TextIO, lock: threading.Lock) -> None:
        self.stream, self.lock = stream, lock

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            with self.lock:
                self.stream.write(f"{line}\n")
                self.stream.flush()
        return len(text)

    def flush(self) -> None:
        """Lines are flushed as they are written."""


@contextlib.contextmanager
def library_output(log_path: Path, verbose: bool = False) -> Iterator[Path]:
    """Route libraries' logs, warnings and tqdm bars to `log_path` for the `with` block.

    `verbose`: they also reach the terminal (as without this context). The file is appended
    to, one header line per run; everything is restored on exit.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stream = log_path.open("a", encoding="utf-8")
    lock = threading.Lock()
    stream.write(f"==== run started {datetime.now(timezone.utc).isoformat(timespec='seconds')}"
                 " ====\n")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved: list[tuple[logging.Logger, int, bool, list[logging.Handler]]] = []
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate, list(logger.handlers)))
        if not verbose:
            for h in list(logger.handlers):
                logger.removeHandler(h)
            logger.propagate = False
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO or logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    logging.captureWarnings(True)
    restore_bars = _bars_to(_BarLines(stream, lock), also_terminal=verbose)
    try:
        yield log_path
    finally:
        restore_bars()
        logging.captureWarnings(False)
        for logger, level, propagate, handlers in saved:
            logger.removeHandler(handler)
            for h in handlers:
                if h not in logger.handlers:
                    logger.addHandler(h)
            logger.setLevel(level)
            logger.propagate = propagate
        with lock:
            stream.close()


def _bars_to(target: _BarLines, also_terminal: bool) -> Any:
    """Send every tqdm bar (lm-eval's, datasets', transformers') to `target`; returns the undo.

    With `also_terminal` the bars stay on the terminal as before and the log gets nothing
    from them (a bar drawn twice would need two bars).
    """
    try:
        from tqdm import std
    except ImportError:
        return lambda: None
    if also_terminal:
        return lambda: None
    original = std.tqdm.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["file"] = target
        kwargs["mininterval"] = max(float(kwargs.get("mininterval") or 0), BAR_INTERVAL_S)
        kwargs["ascii"] = True
        kwargs["dynamic_ncols"] = False
        kwargs.setdefault("ncols", 100)
        original(self, *args, **kwargs)

    std.tqdm.__init__ = __init__

    def undo() -> None:
        std.tqdm.__init__ = original

    return undo


class _CurrentStderr(logging.Handler):
    """Writes to whatever sys.stderr is at the time, so lines land above a live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        import sys

        try:
            sys.stderr.write(self.format(record) + "\n")
        except (OSError, ValueError):  # a closed stream must not end the run
            self.handleError(record)


@contextlib.contextmanager
def batch_progress_lines() -> Iterator[None]:
    """Provider batches' progress (submitted, n/m done, collected) on the terminal while waiting.

    A batch can take hours; the one sign of life a user gets are these lines.
    """
    logger = logging.getLogger("openvsclosed.batch")
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("batch: %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
