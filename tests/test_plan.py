"""The frozen Plan: one object every command consumes, changed only by making a new one."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from rich.console import Console

from openvsclosed.executors.local import run_jobs
from openvsclosed.plan import plan_jobs
from openvsclosed.store import ResultStore
from tests.helpers import run_config
from tests.test_runner import Recorder

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115


def test_jobs_another_run_finished_leave_the_plan_but_not_under_force(tmp_path):
    store = ResultStore(tmp_path)
    plan = plan_jobs(run_config(), store, env={})
    forced = plan_jobs(run_config(), store, env={}, force=True)
    assert len(plan.pending) == len(forced.pending) == 4
    run_jobs(plan, store, evaluate=Recorder().evaluate, load_model=Recorder().load_model,
             console=QUIET, env={})  # "another run" finishes every job meanwhile
    later = plan.still_pending(store)
    assert later.pending == () and len(later.finished) == 4 and plan.pending  # a new plan
    assert forced.still_pending(store) is forced  # --force redoes them all the same


def test_skip_returns_a_new_plan_and_the_old_one_is_untouched(tmp_path):
    plan = plan_jobs(run_config(), ResultStore(tmp_path), env={})
    first = plan.pending[0]
    fewer = plan.skip([(first, "a reason")])
    assert first not in fewer.pending and (first, "a reason") in fewer.skipped
    assert first in plan.pending
    with pytest.raises(FrozenInstanceError):
        plan.skipped = ()
