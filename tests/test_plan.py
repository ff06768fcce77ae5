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


def test_a_refused_plan_still_names_the_damaged_records_it_found(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from openvsclosed.cli import app
    from openvsclosed.config import RunConfig

    monkeypatch.setenv("OVC_TEST_KEY", "k")
    data = {"name": "unit", "results_dir": str(tmp_path / "results"),
            "defaults": {"num_fewshot": 0, "limit": 4},
            "models": [{"id": "open-a", "backend": "fake"},
                       {"id": "closed-c", "backend": "openai", "api_model": "gpt-x",
                        "api_key_env": "OVC_TEST_KEY"}],  # no price
            "tasks": [{"name": "ovc_toy_mc"}]}
    cfg = RunConfig.model_validate(data)
    job = plan_jobs(cfg, ResultStore(tmp_path / "results"), env={}).pending[0]
    path = ResultStore(tmp_path / "results").path_for(job.model.id, job.task.name, job.key)
    path.parent.mkdir(parents=True)
    path.write_text('{"schema_version": 3, "key": "' + job.key + '", "model"')  # cut short
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["run", str(config), "--max-cost", "1"],
                                catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "has no price" in text
    assert "warning:" in text and str(path.name) in text and "runs again" in text
