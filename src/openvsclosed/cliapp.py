"""The typer app and what every command shares: consoles, the usage error, the data folder.

Commands live in `cli` (run, validate, models) and `cli_report` (report, import-epoch,
epoch-lag); both register on this app, so neither imports the other's heavy modules.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from openvsclosed.console import say

app = typer.Typer(
    no_args_is_help=True, add_completion=False,
    help="Measure whether open-weight LLMs have caught up with closed API models.",
)


def _console(stderr: bool = False, markup: bool = False) -> Console:
    """A console for this call's streams; wide when piped, so logs keep whole lines.

    Markup and highlighting are off: what it prints carries paths, task names and servers'
    words, and "[/x]" in those must print as it is, not raise (our own styles go through
    `console.say`).
    """
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160, markup=markup,
                   highlight=False)


def _out() -> Console:
    return _console()


def _err() -> Console:
    return _console(stderr=True)


EXIT_USAGE = 2


def _usage_error(message: str) -> typer.Exit:
    say(_err(), ("error:", "bold red"), f" {message}")
    return typer.Exit(EXIT_USAGE)


def _data_dir(flag: Path | None, config_value: Path | None) -> Path | None:
    """--data-dir, then OVC_DATA_DIR, then the config's `data_dir`; it must exist."""
    for value, origin in ((flag, "--data-dir"), (os.environ.get("OVC_DATA_DIR"), "OVC_DATA_DIR"),
                          (config_value, "data_dir in the config")):
        if value:
            path = Path(value)
            if not path.is_dir():
                raise _usage_error(f"{origin}: {path} is not a directory; allowed: a local "
                                   "dataset mirror in the layout of shared/benchmarks/README.md.")
            if config_value and origin != "data_dir in the config" and \
                    Path(config_value).resolve() != path.resolve():
                # a shell's OVC_DATA_DIR silently winning over a config is a puzzle otherwise
                _err().print(f"note: {origin} ({path}) overrides the config's data_dir "
                             f"({config_value})", highlight=False, soft_wrap=True)
            return path
    return None
