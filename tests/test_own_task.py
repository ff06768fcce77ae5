"""Own tasks from a file: each kind through real lm-eval, the data policy, keys and bad files.

Every question here is made up for these tests.
"""

import csv
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.config import ConfigError, RunConfig
from openvsclosed.executors.local import run_jobs
from openvsclosed.jobs import all_jobs
from openvsclosed.models import load_model
from openvsclosed.owntask import check_own_task
from openvsclosed.owntaskfiles import task_include_paths
from openvsclosed.plan import plan_jobs
from openvsclosed.runner import LmEvalEvaluator
from openvsclosed.store import ResultStore
from openvsclosed.tasks import build_task_manager

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115
SECRET_QUESTION = "Which lighthouse keeper on Isle Quorvant logs the zebra tide?"
MC_ROWS = [
    {"qid": 1, "q": SECRET_QUESTION, "opts": ["Ama", "Borin", "Cass"], "right": "B"},
    {"qid": 2, "q": "Which colour is the Quorvant ferry?", "opts": ["teal", "amber"], "right": 0},
    {"qid": 3, "q": "Which port does the ferry leave from?", "opts": ["Vell", "Oskar", "Pim"],
     "right": "Pim"},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_csv(path, header, rows):
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def own_config(tmp_path, tasks, models=None, **extra):
    return RunConfig.model_validate({
        "name": "own", "results_dir": str(tmp_path / "results"),
        "models": models or [{"id": "fake-a", "backend": "fake", "model_args": {"seed": 3}}],
        "tasks": tasks, **extra})


def mc_task(tmp_path, **extra):
    path = write_jsonl(tmp_path / "triage.jsonl", MC_ROWS)
    return {"name": "own_triage", "file": str(path), "kind": "multiple_choice",
            "columns": {"question": "q", "choices": "opts", "answer": "right", "id": "qid"},
            **extra}


def run_all(tmp_path, cfg):
    manager = build_task_manager(None, task_include_paths(cfg), include_defaults=False)
    store = ResultStore(tmp_path / "results")
    plan = plan_jobs(cfg, store, env={})
    summary = run_jobs(plan, store, evaluate=LmEvalEvaluator(manager), load_model=load_model,
                       console=QUIET, env={})
    assert summary.exit_code == 0, summary.failed
    return {(r.task, r.key_fields.protocol): r for r in store.records()}


def test_each_kind_runs_through_real_lm_eval_both_ways(tmp_path):
    numeric = write_csv(tmp_path / "pay.csv", ["Prompt", "Payout"],
                        [["Ten crates at 3 coins each, in coins?", "30"],
                         ["Half of 1,250 coins?", "625"]])
    short = write_jsonl(tmp_path / "short.jsonl",
                        [{"question": "Capital of the made-up land of Ostria?", "answer": "Vell"},
                         {"question": "Name of the Quorvant ferry?", "answer": "Moth"}])
    cfg = own_config(tmp_path, [
        mc_task(tmp_path),
        {"file": str(numeric), "kind": "numeric",
         "columns": {"question": "Prompt", "answer": "Payout"}},
        {"file": str(short), "kind": "exact_match"},
    ], protocol="both")
    records = run_all(tmp_path, cfg)
    assert set(records) == {(t, p) for t in ("own_triage", "own_pay", "own_short")
                            for p in ("native", "chat")}
    native_mc = records["own_triage", "native"]
    assert native_mc.primary_metric.startswith("acc_norm") and native_mc.n == 3
    assert native_mc.own_task["file"] == "triage.jsonl" and native_mc.own_task["rows"] == 3
    assert str(tmp_path) not in json.dumps(native_mc.own_task)  # the name, never the folder
    chat_mc = records["own_triage", "chat"]
    assert chat_mc.lm_eval_task == "own_triage_chat"
    assert chat_mc.primary_metric == "exact_match,get-answer"
    targets = {s.target for s in chat_mc.samples}
    assert targets == {"A", "B", "C"}  # 'B', index 0 and the text 'Pim' all resolved
    assert records["own_pay", "native"].primary_metric == "exact_match,get-answer"
    assert {s.target for s in records["own_pay", "native"].samples} == {"30", "625"}


def test_a_private_task_sends_nothing_to_an_api_and_keeps_no_text(tmp_path):
    closed = [{"id": "fake-a", "backend": "fake"},
              {"id": "gpt-4o", "backend": "openai", "api_model": "gpt-4o-2024-08-06",
               "api_key_env": "OPENAI_API_KEY"}]
    cfg = own_config(tmp_path, [mc_task(tmp_path, private=True)], models=closed)
    with pytest.raises(ConfigError) as info:
        plan_jobs(cfg, ResultStore(tmp_path / "r"), env={})
    message = str(info.value)
    assert "gpt-4o × own_triage" in message and "allow_closed: true" in message
    assert "\n" not in message
    local_server = {"id": "here", "backend": "openai-compatible", "access": "closed",
                    "api_model": "m", "base_url": "http://127.0.0.1:9/v1/chat/completions"}
    allowed = own_config(tmp_path, [mc_task(tmp_path, private=True)],
                         models=[{"id": "fake-a", "backend": "fake"}, local_server])
    plan_jobs(allowed, ResultStore(tmp_path / "r"), env={})  # loopback stays on the machine
    also = own_config(tmp_path, [mc_task(tmp_path, private=True, allow_closed=True)],
                      models=closed)
    plan_jobs(also, ResultStore(tmp_path / "r"), env={})

    cfg = own_config(tmp_path, [mc_task(tmp_path, private=True)], protocol="both")
    run_all(tmp_path, cfg)
    for path in (tmp_path / "results").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for row in MC_ROWS:
                assert row["q"].encode() not in data, path
            assert b"Borin" not in data and b"Quorvant" not in data, path


def test_editing_the_file_changes_the_key(tmp_path):
    cfg = own_config(tmp_path, [mc_task(tmp_path)])
    before = {j.key for j in all_jobs(cfg)}
    rows = [dict(MC_ROWS[0], right="C"), *MC_ROWS[1:]]
    write_jsonl(tmp_path / "triage.jsonl", rows)
    assert before.isdisjoint({j.key for j in all_jobs(cfg)})


@pytest.mark.parametrize(("rows", "where"), [
    ([{"q": "Made up?", "right": 0}], "row 1: no column 'opts'"),
    ([], "holds no rows"),
    ([{"q": "Made up?", "opts": ["x"], "right": 0}], "row 1, column 'opts'"),
    ([{"q": None, "opts": ["x", "y"], "right": 0}], "row 1, column 'q': the cell is empty"),
    ([MC_ROWS[1], {"q": "Made up?", "opts": ["x", "y"], "right": None}],
     "row 2, column 'right': the cell is empty"),
    ([MC_ROWS[1], {"q": "Made up?", "opts": ["x", "y"], "right": 5}], "row 2, column 'right'"),
    ([{"q": "x" * 10_000_000, "opts": ["x", "y"], "right": 0}], "row 1, column 'q'"),
])
def test_a_file_that_does_not_fit_fails_naming_row_and_column(tmp_path, rows, where):
    task = mc_task(tmp_path)
    write_jsonl(tmp_path / "triage.jsonl", rows)
    cfg = own_config(tmp_path, [task])
    with pytest.raises(ConfigError) as info:
        check_own_task(cfg.tasks[0], "c.yaml: tasks[0]")
    assert where in str(info.value) and len(str(info.value)) < 700


def test_garbage_lines_and_unknown_formats_exit_2_before_any_model_loads(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"q": "ok", "opts": ["a", "b"], "right": 0}\n{not json\n')
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"name": "c", "models": [{"id": "f", "backend": "fake"}],
                                  "tasks": [{"file": str(bad), "kind": "multiple_choice",
                                             "columns": {"question": "q", "choices": "opts",
                                                         "answer": "right"}}]}))
    result = CliRunner().invoke(app, ["run", str(config)], catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "row 2 is not a JSON object" in text, text
    config.write_text(json.dumps({"name": "c", "models": [{"id": "f", "backend": "fake"}],
                                  "tasks": [{"file": str(tmp_path / "x.xlsx"),
                                             "kind": "numeric"}]}))
    result = CliRunner().invoke(app, ["run", str(config)], catch_exceptions=False)
    assert result.exit_code == 2 and "allowed: .jsonl, .csv, .parquet" in result.output


@pytest.mark.slow
def test_the_shipped_example_runs_on_smollm2(tmp_path, monkeypatch, smollm2_dir):
    from tests.conftest import REPO

    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(app, ["run", "configs/own-task.yaml", "--limit", "4",
                                      "--results-dir", str(tmp_path / "r")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = list(ResultStore(tmp_path / "r").records())
    assert {r.task for r in records} == {"own_claims_triage", "own_claim_payouts"}
    triage = next(r for r in records if r.task == "own_claims_triage")
    assert triage.own_task["private"] and all(s.resps is None for s in triage.samples)
    assert triage.num_fewshot == 2


@pytest.mark.parametrize("word", ["NA", "null", "None", ""])
def test_a_csv_cell_the_loader_reads_as_missing_fails_up_front_naming_row_and_column(
        tmp_path, word):
    path = write_csv(tmp_path / "n.csv", ["question", "answer"],
                     [["How many moons does Pell have?", "3"], ["What is Pell's ring count?",
                                                                word]])
    cfg = own_config(tmp_path, [{"name": "own_n", "file": str(path), "kind": "numeric"}])
    with pytest.raises(ConfigError) as info:
        check_own_task(cfg.tasks[0], "c.yaml: tasks[0]")
    assert "row 2, column 'answer': the cell is empty" in str(info.value)


def test_a_numbers_only_question_column_passes_the_check_and_runs(tmp_path):
    path = write_csv(tmp_path / "q.csv", ["question", "answer"],
                     [["17", "18"], ["41", "42"], ["99", "100"]])
    cfg = own_config(tmp_path, [{"name": "own_q", "file": str(path), "kind": "numeric"}],
                     defaults={"num_fewshot": 0})
    records = run_all(tmp_path, cfg)  # fails unless every job finished
    assert {s.target for s in records["own_q", "native"].samples} == {"18", "42", "100"}


def test_a_fewshot_file_shorter_than_the_shots_fails_up_front(tmp_path):
    shots = write_jsonl(tmp_path / "shots.jsonl", MC_ROWS[:1])
    cfg = own_config(tmp_path, [mc_task(tmp_path, fewshot_file=str(shots), num_fewshot=3)])
    with pytest.raises(ConfigError, match="holds 1 row.*fewer than the 3 few-shot"):
        check_own_task(cfg.tasks[0], "c.yaml: tasks[0]", 3)
    no_file = own_config(tmp_path, [mc_task(tmp_path, num_fewshot=3)])
    with pytest.raises(ConfigError, match="num_fewshot 3 needs more than 3 rows"):
        all_jobs(no_file)


def test_a_file_is_read_once_per_process(tmp_path, monkeypatch):
    import openvsclosed.owntask as owntask

    cfg = own_config(tmp_path, [mc_task(tmp_path)])
    reads = []
    real = owntask.iter_rows
    monkeypatch.setattr(owntask, "iter_rows", lambda *a: reads.append(a) or real(*a))
    owntask._CHECKED.clear()
    for _ in range(3):
        all_jobs(cfg)
        task_include_paths(cfg)
    assert len(reads) == 1
