"""The CLI's quick exit: exit handlers and output kept, the status kept, pending threads waited.

Each case runs in a child interpreter that imported torch (the quick exit applies only then).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PRELUDE = """
import atexit, sys, threading, time
import torch
from openvsclosed.cli import _exit_now
atexit.register(lambda: print("handler ran", flush=True))
sys.stdout.write("unflushed output ")
"""


def child(body: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE + body], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(("code", "status"), [(0, 0), (3, 3), (None, 0)])
def test_quick_exit_keeps_output_handlers_and_status(code, status):
    done = child(f"_exit_now({code!r})\nprint('not reached')")
    assert done.returncode == status
    assert done.stdout == "unflushed output handler ran\n"


def test_a_message_exit_prints_it_and_fails_as_python_does():
    done = child("_exit_now('error: made-up problem')")
    assert done.returncode == 1 and "error: made-up problem" in done.stderr
    assert "handler ran" in done.stdout


def test_a_live_worker_thread_gets_the_normal_exit():
    done = child("""
finished = []
worker = threading.Thread(target=lambda: (time.sleep(0.5), finished.append(1),
                                          print("worker done", flush=True)))
worker.start()
_exit_now(0)
print("normal exit", flush=True)
""")
    assert done.returncode == 0
    assert "normal exit" in done.stdout and "worker done" in done.stdout
    assert done.stdout.rstrip().endswith("handler ran")
