"""`run` with a batched model, from the command line: --no-wait submits, a later run collects.

The local batch server (echo lines) stands in for the provider; made-up toy task only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.store import ResultStore
from tests.batch_server import batch_server
from tests.conftest import TOY_TASKS


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setenv("OVC_BATCH_POLL_S", "0.05")
    monkeypatch.setenv("OVC_BATCH_KEY", "sk-batch-cli-key")


def config(tmp_path: Path, mirror: Path, base: str) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(json.dumps({
        "name": "batchcli", "results_dir": str(tmp_path / "results"), "data_dir": str(mirror),
        "task_paths": [str(TOY_TASKS)], "defaults": {"num_fewshot": 0, "limit": 4},
        "batch": True,
        "models": [{"id": "echo-closed", "backend": "openai", "api_model": "echo-1",
                    "api_key_env": "OVC_BATCH_KEY", "base_url": f"{base}/v1/chat/completions",
                    "input_per_m": 2.0, "output_per_m": 8.0, "batch_input_per_m": 1.0,
                    "batch_output_per_m": 4.0}],
        "tasks": ["ovc_toy_gen"],
    }))
    return path


def run(*args: str):
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False)


@pytest.mark.slow
def test_no_wait_submits_and_exits_then_the_same_command_collects(tmp_path, toy_mirror):
    with batch_server(polls_to_finish=10**9) as server:
        path = config(tmp_path, toy_mirror, server.base)
        dry = run(str(path), "--dry-run")
        text = " ".join(dry.output.split())
        assert dry.exit_code == 0 and "Dollars (batch)" in text and "batch" in text, text

        first = run(str(path), "--no-wait")
        text = " ".join(first.output.split())
        assert first.exit_code == 0, text
        assert "waiting in provider batch" in text and "1 waiting in provider batches" in text
        assert server.submissions == 1 and list(ResultStore(tmp_path / "results").records()) == []

        server.polls_to_finish = 0  # the provider finishes while nobody polls
        second = run(str(path))
        text = " ".join(second.output.split())
        assert second.exit_code == 0, text
        assert "open batch:" in text  # the run names what it is about to collect
        assert server.submissions == 1  # collected, never submitted again
        records = list(ResultStore(tmp_path / "results").records())
        assert len(records) == 1 and records[0].usage["requests"] == 4
        assert "sk-batch-cli-key" not in "".join(
            p.read_text(errors="replace") for p in (tmp_path / "results").rglob("*")
            if p.is_file() and p.suffix != ".sqlite")
