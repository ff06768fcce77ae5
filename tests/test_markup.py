"""Text that is not ours prints as it is, never as rich markup (issue 18, finding 8).

A server's error with "[/text]" in it, a task, an own task and a config path with brackets:
each gives its line or its one-paragraph error, never a MarkupError or a traceback.
"""

import json

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.console import cell, say
from openvsclosed.store import ResultStore
from tests.bad_server import BRACKETS, bad_server
from tests.conftest import TOY_TASKS

ROWS = [{"q": f"Which made-up moon of Ostria rises {n}th?", "opts": ["Ila", "Oru"],
         "right": n % 2} for n in range(2)]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def own_file(tmp_path):
    path = tmp_path / "moons.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return str(path)


def test_say_and_cell_print_brackets_verbatim():
    console = Console(record=True, width=200)
    say(console, ("error:", "bold red"), f" {BRACKETS}; pip install 'ray[client]'")
    console.print(cell("arc[/x]easy"))
    text = console.export_text()
    assert BRACKETS in text and "ray[client]" in text and "arc[/x]easy" in text


@pytest.mark.slow
def test_a_bracketed_server_error_mid_run_fails_its_job_and_the_next_model_runs(tmp_path,
                                                                               monkeypatch):
    monkeypatch.setenv("OVC_BAD_KEY", "sk-ovc-unused-000000")
    with bad_server("brackets") as (url, seen):
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump({
            "name": "markup", "results_dir": str(tmp_path / "results"),
            "models": [{"id": "strict-api", "backend": "openai-compatible", "access": "closed",
                        "api_model": "m", "api_key_env": "OVC_BAD_KEY", "attempts": 1,
                        "base_url": url + "/v1/chat/completions"},
                       {"id": "fake-a", "backend": "fake"}],
            "tasks": [{"name": "own_moons", "file": own_file(tmp_path),
                       "kind": "multiple_choice",
                       "columns": {"question": "q", "choices": "opts", "answer": "right"}}],
            "defaults": {"num_fewshot": 0}}))
        result = invoke("run", config)
    text = " ".join(result.output.split())
    assert seen and result.exit_code == 1, text
    assert "1 finished, 1 failed" in text and BRACKETS in text
    store = ResultStore(tmp_path / "results")
    assert [r.model.id for r in store.records()] == ["fake-a"]
    assert BRACKETS in store.failures()[0].message


@pytest.mark.slow
def test_brackets_in_task_names_and_config_paths_are_one_paragraph(tmp_path, toy_mirror):
    weird = tmp_path / "cfg["
    weird.mkdir()
    bad = weird / "]x.yaml"  # the path holds "[/]"
    bad.write_text("name: x\nmodels: [{id: a, backend: nope}]\ntasks: [arc_easy]\n")
    result = invoke("run", bad)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cfg[/]x.yaml" in "".join(result.output.split())

    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({
        "name": "t", "results_dir": str(tmp_path / "r"), "data_dir": str(toy_mirror),
        "task_paths": [str(TOY_TASKS)], "models": [{"id": "fake-a", "backend": "fake"}],
        "tasks": ["arc[/x]easy"]}))
    for command in ("run", "validate"):
        result = invoke(command, task)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in result.output, text
        assert "unknown lm-eval task 'arc[/x]easy'" in text


def test_an_own_task_with_brackets_in_its_name_prints_it_verbatim(tmp_path):
    config = tmp_path / "own.yaml"
    config.write_text(yaml.safe_dump({
        "name": "o", "results_dir": str(tmp_path / "r"),
        "models": [{"id": "fake-a", "backend": "fake"}],
        "tasks": [{"name": "own[/b]num", "file": own_file(tmp_path), "kind": "multiple_choice",
                   "columns": {"question": "q", "choices": "opts", "answer": "right"}}]}))
    for args in (["--dry-run"], []):
        result = invoke("run", config, *args)
        assert "Traceback" not in result.output and "MarkupError" not in result.output
        assert "own[/b]num" in result.output
