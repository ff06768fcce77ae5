"""A report folder written whole or not at all: built in a temporary folder, then moved in.

A report that dies halfway (a plot that fails, a full disk) must not leave a folder where
index.html is new and the tables are last week's. Everything is rendered into a hidden
temporary folder beside `--out`; only when every file exists are they moved in, each by an
atomic rename. A new `--out` is the temporary folder renamed in one step.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class ReportError(Exception):
    """Input the report cannot use (an --out that is a file, a bad claims file): exit 2."""


def check_out_dir(out_dir: Path, flag: str = "--out") -> Path:
    """`out_dir` made absolute, after checking it can hold a report (raises ReportError).

    `flag` names the option the folder came from in the error (`--out` or `--site`).
    """
    out_dir = Path(out_dir).absolute()
    shown = str(out_dir) if len(str(out_dir)) <= 200 else str(out_dir)[:200] + "…"
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise ReportError(f"{flag}: {shown} is a file; allowed: a folder (created when "
                              "missing; report files in it are replaced).")
        if len(out_dir.name) > 200:
            raise ReportError(f"{flag}: {shown}: a folder name of {len(out_dir.name)} "
                              "characters; allowed: up to 200.")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{flag}: cannot use {shown} ({exc.strerror or exc}); allowed: a "
                          "folder you can write to.") from None
    parent = out_dir.parent
    if not os.access(parent, os.W_OK | os.X_OK) or (out_dir.is_dir()
                                                     and not os.access(out_dir, os.W_OK)):
        raise ReportError(f"--out: {shown} is not writable; allowed: a folder you can "
                          "write to.")
    return out_dir


def write_all(out_dir: Path, tables, title: str) -> list[Path]:
    """Render every file into a temporary folder, then move them into `out_dir`."""
    from openvsclosed.report.forks import ForkPool
    from openvsclosed.report.publish import write_report

    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        with ForkPool() as forks:  # every figure drawn beside the tables, all awaited
            written = write_report(staging, tables, title, forks)
        relative = [p.relative_to(staging) for p in written]
        if not out_dir.exists():
            staging.rename(out_dir)
        else:
            for rel in relative:
                (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / rel, out_dir / rel)
    except OSError as exc:
        raise ReportError(f"--out: writing the report into {out_dir} failed ({exc}); nothing "
                          "there was changed.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / rel for rel in relative]
