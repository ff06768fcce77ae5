"""A batch is never paid twice: kill -9 while polling, a create never journaled, the journal.

The killed run is a real subprocess; the batch server (in this process) counts creations.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openvsclosed.budget import Budget, read_ledger
from openvsclosed.models.batch import open_batches
from openvsclosed.models.batch.journal import BatchEntry, Journal, JournalError
from openvsclosed.models.batchwait import BatchPending
from tests.batch_server import batch_server
from tests.test_batch_protocols import make_lm, requests

REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setenv("OVC_BATCH_POLL_S", "0.05")
    monkeypatch.setenv("OVC_BATCH_KEY", "sk-batch-test-key")


def journals(tmp_path):
    return sorted((tmp_path / "results" / "batches").glob("*/*.json"))


def test_kill_9_while_polling_resumes_the_same_batch_without_a_second_submission(tmp_path):
    with batch_server(polls_to_finish=10**9) as server:
        env = {**os.environ, "OVC_BATCH_POLL_S": "0.05", "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-m", "tests.test_batch_resume", server.base,
                                 str(tmp_path)], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while not (server.batches and next(iter(server.batches.values())).polls >= 2):
                assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the run never started polling"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)  # mid-poll: the batch exists, nothing collected
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert server.submissions == 1
        entry = json.loads(journals(tmp_path)[0].read_text())["entries"][0]
        assert entry["state"] == "submitted" and entry["batch_id"] == "batch_1"
        assert entry["holder"].endswith(f":{proc.pid}")
        assert any("batch_1" in line for line in open_batches(tmp_path / "results"))

        server.polls_to_finish = 0  # the provider finishes while nobody is polling
        budget = Budget(max_usd=5.0, root=tmp_path / "results")
        lm = make_lm(tmp_path, server, "openai", budget=budget)
        answers = lm.generate_until(requests())
        assert answers == [f"#### {2 * i + 1}" for i in range(5)]
        assert server.submissions == 1  # polled and downloaded, never submitted again
        ledger = read_ledger(tmp_path / "results")
        # the dead run's reservation was counted as paid, then corrected to the bill
        assert ledger["reserved"] == {}
        assert ledger["spent_usd"] == pytest.approx(lm.meter.spent_usd)
        assert lm.meter.spent_usd > 0
    assert open_batches(tmp_path / "results") == []


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_a_create_the_journal_never_recorded_is_found_not_sent_again(tmp_path, backend):
    with batch_server() as server:
        lm = make_lm(tmp_path, server, backend, wait=False)
        with pytest.raises(BatchPending):
            lm.generate_until(requests())
        path = journals(tmp_path)[0]
        data = json.loads(path.read_text())
        data["entries"][0].update(state="submitting", batch_id=None)  # killed inside create
        path.write_text(json.dumps(data))

        later = make_lm(tmp_path, server, backend)
        assert later.generate_until(requests()) == [f"#### {2 * i + 1}" for i in range(5)]
        assert server.submissions == 1


def test_a_journal_write_interrupted_midway_leaves_the_previous_one_whole(tmp_path,
                                                                          monkeypatch):
    journal = Journal(tmp_path / "j.json", "openai", "m", "http://x/v1/chat/completions")
    journal.entries.append(BatchEntry(["a", "b"], state="submitted", batch_id="batch_1"))
    journal.save()
    before = journal.path.read_text()
    journal.entries.append(BatchEntry(["c"], batch_id="batch_2"))

    def crash(*_args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        journal.save()
    monkeypatch.undo()
    assert journal.path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["j.json"]  # no temp file left behind
    again = Journal.load_or_new(journal.path, provider="openai", model="m", endpoint="x")
    assert [e.batch_id for e in again.entries] == ["batch_1"] and again.covered() == {"a", "b"}


def test_an_unreadable_journal_stops_the_job_before_anything_is_sent(tmp_path):
    with batch_server() as server:
        lm = make_lm(tmp_path, server, "openai", wait=False)
        with pytest.raises(BatchPending):
            lm.generate_until(requests())
        path = journals(tmp_path)[0]
        path.write_text(path.read_text()[:40])  # truncated
        with pytest.raises(JournalError, match="cannot be read"):
            make_lm(tmp_path, server, "openai").generate_until(requests())
        assert server.submissions == 1
        assert any("cannot be read" in line for line in open_batches(tmp_path / "results"))


def test_open_batches_names_each_waiting_batch_and_nothing_once_collected(tmp_path):
    assert open_batches(tmp_path / "nothing-here") == []
    with batch_server() as server:
        for backend in ("openai", "anthropic"):
            with pytest.raises(BatchPending):
                make_lm(tmp_path, server, backend, wait=False).generate_until(requests(2))
        lines = open_batches(tmp_path / "results")
        assert len(lines) == 2 and all(line.startswith("m: ") for line in lines)
        assert {line.split()[1] for line in lines} == {"openai", "anthropic"}
        assert all("0/2 done" in line for line in lines)
        make_lm(tmp_path, server, "openai").generate_until(requests(2))
        assert [line.split()[1] for line in open_batches(tmp_path / "results")] == ["anthropic"]


def _killed_run(base: str, root: str) -> None:
    """The subprocess of the kill -9 test: a batched job with a budget ledger, waiting."""
    from tests.batch_server import BatchServer

    server = BatchServer()
    server.base = base
    budget = Budget(max_usd=5.0, root=Path(root) / "results")
    lm = make_lm(Path(root), server, "openai", budget=budget)
    print(lm.generate_until(requests()), flush=True)


if __name__ == "__main__":
    _killed_run(sys.argv[1], sys.argv[2])
