"""The one error an executor raises when it cannot run here (a leaf: every executor imports it)."""

from __future__ import annotations


class ExecutorUnavailable(Exception):
    """The chosen executor cannot run here (Ray not installed, its cluster unreachable).

    The message is one paragraph for the user; the CLI exits 2 with it.
    """
