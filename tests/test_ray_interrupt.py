"""Ctrl-C during a Ray run: finished jobs stay, nothing half-written, no Ray process left behind.

The run is a real `openvsclosed run --executor ray` child that starts its own local Ray (its
temp folder inside pytest's, so its processes can be told apart from any other Ray here).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openvsclosed.store import ResultStore
from tests.conftest import REPO, TOY_TASKS, require_module

require_module("ray")
pytestmark = pytest.mark.slow
EXE = Path(sys.executable).with_name("openvsclosed")


def _left_in_session(sid: int) -> list[str]:
    """Processes of the run's session: Ray's daemons and workers started by the driver."""
    ps = subprocess.run(["ps", "-eo", "sid=,pid=,args="], capture_output=True,
                        text=True).stdout
    return [line for line in ps.splitlines() if line.split() and line.split()[0] == str(sid)]


@pytest.mark.parametrize("to_group", [True, False], ids=["terminal-ctrl-c", "kill-INT-pid"])
def test_ctrl_c_under_ray_keeps_finished_jobs_and_leaves_no_ray_behind(toy_mirror, tmp_path,
                                                                         tmp_path_factory,
                                                                         to_group):
    results = tmp_path / "results"
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({
        "name": "interrupted", "results_dir": str(results), "data_dir": str(toy_mirror),
        "task_paths": [str(TOY_TASKS)], "defaults": {"num_fewshot": 0},
        "models": [{"id": f"fake-{i}", "backend": "fake", "model_args": {"seed": i}}
                   for i in range(6)],
        "tasks": ["ovc_toy", "ovc_toy_gen", "ovc_toy_mc"]}))
    ray_temp = tmp_path_factory.mktemp("ray")  # short: Ray's socket paths must fit 107 bytes
    (ray_temp / "ray").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("OVC_DATA_DIR", "RAY_ADDRESS")}
    env.update(RAY_AUTH_MODE="disabled", RAY_TMPDIR=str(ray_temp))
    with (tmp_path / "run.log").open("w") as log:
        proc = subprocess.Popen([str(EXE), "run", str(config), "--executor", "ray"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not list((results / "records").glob("*/*/*.json")):
            assert proc.poll() is None, (tmp_path / "run.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "no job finished in 240 s"
            time.sleep(0.1)
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
        else:
            proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    output = (tmp_path / "run.log").read_text()
    assert code == 130, output[-2000:]
    assert "Interrupted. Every finished job is stored" in output and "Traceback" not in output

    deadline = time.monotonic() + 20  # the driver stopped Ray; its daemons exit within seconds
    while _left_in_session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _left_in_session(proc.pid)

    store = ResultStore(results)
    kept = list(store.records())
    assert kept and not store.problems and not list(results.rglob("*.tmp"))
    resumed = subprocess.run([str(EXE), "run", str(config)], env=env, capture_output=True,
                             text=True, timeout=300, cwd=REPO)
    summary = " ".join((resumed.stdout + resumed.stderr).split())
    assert resumed.returncode == 0, summary[-2000:]
    assert f"{18 - len(kept)} finished, 0 failed, {len(kept)} already done" in summary


def test_a_ray_that_cannot_start_is_one_paragraph_not_a_traceback(toy_mirror, tmp_path):
    too_long = tmp_path / ("t" * 90)  # Ray's unix sockets under it cannot fit 107 bytes
    (too_long / "ray").mkdir(parents=True)
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({
        "name": "nostart", "results_dir": str(tmp_path / "results"),
        "data_dir": str(toy_mirror), "task_paths": [str(TOY_TASKS)],
        "models": [{"id": "fake-0", "backend": "fake"}], "tasks": ["ovc_toy"]}))
    env = {k: v for k, v in os.environ.items() if k not in ("OVC_DATA_DIR", "RAY_ADDRESS")}
    env.update(RAY_AUTH_MODE="disabled", RAY_TMPDIR=str(too_long))
    proc = subprocess.run([str(EXE), "run", str(config), "--executor", "ray"], env=env,
                          capture_output=True, text=True, timeout=300, start_new_session=True)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2, text[-2000:]
    assert "cannot start a local Ray" in text and "Traceback" not in text
