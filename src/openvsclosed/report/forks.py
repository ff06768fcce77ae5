"""Independent parts of a report computed in forked child processes, beside the parent.

Matplotlib draws on one core, and a report's figures (the two small-multiples layouts, the gap
and size charts, one lag chart per source) are independent: each has its own data and its own
file. Drawn one after another they were most of a large report's time; here each is drawn in a
child forked from the report process (so it inherits the frames as they are, nothing is pickled
but the function's small return value) while the parent goes on with the tables. The same
holds for the claims' verdicts and the lag estimators' bootstrap. The output is the same: the
same code runs on the same data with the same state (the bootstrap's seeded generator too).

No fork where it is unsafe or useless: without `os.fork`, with other threads running (a forked
child would inherit their locks held), or with one core: there each part runs in place. A
child's exception comes back and is raised in the parent (an OSError stays an OSError).
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from typing import Any

MAX_CHILDREN = 4


class Forked:
    """One call: waiting for a child, running in one, or done (its result or exception)."""

    def __init__(self, forks: ForkPool, call: tuple | None = None, value: Any = None,
                 error: BaseException | None = None) -> None:
        self._pool, self._call = forks, call
        self._pid: int | None = None
        self._pipe: int | None = None
        self._value, self._error = value, error

    @property
    def running(self) -> bool:
        """Whether a child runs it (or ran it, and is still to be collected)."""
        return self._pid is not None

    def result(self) -> Any:
        """What the function returned; raises what it raised."""
        while self._call is not None:
            self._pool._collect_oldest()
        if self._pid is not None:
            self._collect()
        if self._error is not None:
            raise self._error
        return self._value

    def _start(self) -> None:
        function, args, kwargs = self._call
        self._call = None
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, answer through the pipe, leave without cleanup
            os.close(read)
            _answer(write, function, args, kwargs)
        os.close(write)
        self._pid, self._pipe = pid, read

    def _collect(self) -> None:
        chunks = []
        while chunk := os.read(self._pipe, 1 << 16):
            chunks.append(chunk)
        os.close(self._pipe)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        try:
            ok, payload = pickle.loads(b"".join(chunks))
        except Exception:  # the child died before it could answer
            ok, payload = False, RuntimeError(
                f"a report child process ended without a result (status {status})")
        self._value, self._error = (payload, None) if ok else (None, payload)
        self._pool._start_waiting()


def _answer(pipe: int, function: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    """In the child: run, send (ok, value or exception) through `pipe`, exit at once."""
    code = 0
    try:
        try:
            answer = pickle.dumps((True, function(*args, **kwargs)))
        except BaseException as exc:  # every failure goes back to the parent
            try:
                answer = pickle.dumps((False, exc))
            except Exception:
                answer = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        view = memoryview(answer)
        while view:
            view = view[os.write(pipe, view):]
    except BaseException:  # never back into the parent's code
        code = 1
    finally:
        os._exit(code)


class ForkPool:
    """Calls run at once, one child per core at most; `wait()` raises the first error."""

    def __init__(self, children: int | None = None) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        self.children = min(MAX_CHILDREN, cores) if children is None else children
        self.calls: list[Forked] = []

    def _can_fork(self) -> bool:
        return (self.children > 1 and hasattr(os, "fork")
                and threading.active_count() == 1)

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Forked:
        """Run `function(*args, **kwargs)` in a child (once one is free), else in place."""
        if not self._can_fork():
            try:
                call = Forked(self, value=function(*args, **kwargs))
            except Exception as exc:
                call = Forked(self, error=exc)
        else:
            call = Forked(self, (function, args, kwargs))
        self.calls.append(call)
        self._start_waiting()
        return call

    def _start_waiting(self) -> None:
        """Start waiting calls while fewer than `children` are running."""
        for call in self.calls:
            if sum(f.running for f in self.calls) >= self.children:
                return
            if call._call is not None:
                call._start()

    def _collect_oldest(self) -> None:
        """Wait for the oldest running child (which frees a place for a waiting call)."""
        running = [f for f in self.calls if f.running]
        if running:
            running[0]._collect()
        else:
            self._start_waiting()

    def __enter__(self) -> ForkPool:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        """Reap every child; their errors are raised unless another one is already."""
        if kind is None:
            self.wait()
            return
        for call in self.calls:
            call._call = None  # never started now
        for call in self.calls:
            if call.running:
                call._collect()

    def wait(self) -> None:
        """Collect every call; raise the first failure (after all children are reaped)."""
        errors = []
        for call in self.calls:
            try:
                call.result()
            except BaseException as exc:  # raised once all are reaped
                errors.append(exc)
        if errors:
            raise errors[0]
