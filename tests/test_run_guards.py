"""What must hold when runs collide or the results folder is hostile: found before any work."""

import json
import multiprocessing
import os
import time

from typer.testing import CliRunner

from openvsclosed.budget import Budget, BudgetExceeded, read_ledger
from openvsclosed.cli import app
from openvsclosed.store import ResultStore, StoreError


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_a_second_run_on_a_held_results_directory_is_refused_naming_the_holder(tmp_path):
    store = ResultStore(tmp_path / "r")
    with store.lock():
        other = ResultStore(tmp_path / "r")
        try:
            with other.lock():
                raise AssertionError("two holders")
        except StoreError as exc:
            assert f"pid {os.getpid()}" in str(exc) and "another --results-dir" in str(exc)
    with ResultStore(tmp_path / "r").lock():  # released when the holder ends
        pass


def test_lock_removes_orphan_temp_files_of_killed_writes(tmp_path):
    store = ResultStore(tmp_path)
    orphan = tmp_path / "records" / "m" / "t" / ".abc.json.x1.tmp"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("{half")
    with store.lock():
        assert not orphan.exists()


def _spend(root: str, cap: float, out) -> None:
    budget = Budget(max_usd=cap, root=__import__("pathlib").Path(root))
    spent = 0.0
    for _ in range(40):
        try:
            budget.reserve(0.01)
        except BudgetExceeded:
            break
        time.sleep(0.001)
        budget.settle(0.01, 0.01)
        spent += 0.01
    out.put(spent)


def test_the_cap_holds_across_processes_and_runs(tmp_path):
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_spend, args=(str(tmp_path), 0.15, out)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    together = out.get(timeout=10) + out.get(timeout=10)
    assert together <= 0.15 + 1e-9 and together >= 0.14  # two processes, one cap
    assert abs(read_ledger(tmp_path)["spent_usd"] - together) < 1e-9
    later = Budget(max_usd=0.15, root=tmp_path)  # a later run sees what was paid
    try:
        later.reserve(0.02)
        raise AssertionError("the later run passed the cap")
    except BudgetExceeded as exc:
        assert "all runs" in str(exc)


def test_unwritable_results_directory_exits_2_before_any_model_loads(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"name": "c", "models": [{"id": "f", "backend": "fake"}],
                                  "tasks": ["ovc_toy"], "results_dir": str(blocker / "sub")}))
    result = invoke("run", config)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "is a file, not a folder" in text, text
