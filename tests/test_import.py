"""Plain lm-eval result files (0.3 and 0.4), hand-written with made-up numbers."""

import json

import pytest
from typer.testing import CliRunner

from openvsclosed.catalog import load_catalog
from openvsclosed.cli import app
from openvsclosed.harvest import HarvestError
from openvsclosed.imported import catalog_match, file_format, import_lm_eval_file

V03 = {  # lm-eval 0.3: bare metric names, versions, one num_fewshot in the config, no n-shot
    "results": {"hellaswag": {"acc": 0.41, "acc_stderr": 0.01, "acc_norm": 0.52,
                              "acc_norm_stderr": 0.011},
                "arc_easy": {"acc": 0.63, "acc_stderr": 0.02}},
    "versions": {"hellaswag": 0, "arc_easy": 0},
    "config": {"model": "hf-causal", "model_args": "pretrained=meta-llama/Llama-3.1-8B-Instruct",
               "num_fewshot": 10, "batch_size": 4, "limit": None},
}
V04_GROUP = {  # lm-eval 0.4: a 5-shot group listed as 0-shot, leaves with 5, no n-samples
    "results": {"mmlu": {"alias": "mmlu", "acc,none": 0.7, "acc_stderr,none": 0.004},
                "mmlu_made_up_a": {"alias": " - a", "acc,none": 0.6, "acc_stderr,none": 0.05},
                "mmlu_made_up_b": {"alias": " - b", "acc,none": 0.8, "acc_stderr,none": 0.04}},
    "group_subtasks": {"mmlu": ["mmlu_made_up_a", "mmlu_made_up_b"]},
    "n-shot": {"mmlu": 0, "mmlu_made_up_a": 5, "mmlu_made_up_b": 5},
    "versions": {"mmlu_made_up_a": 1.0, "mmlu_made_up_b": 1.0},
    "config": {"model": "local-chat-completions", "model_args": "model=gemini-2.5-pro,"
               "base_url=https://example.invalid/v1", "limit": 20.0},
    "lm_eval_version": "0.4.9", "date": 1767225600.0,
}


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_lm_eval_03_files_import_with_their_run_wide_shots(tmp_path):
    records = import_lm_eval_file(write(tmp_path, "old.json", V03))
    assert file_format(V03) == "lm-eval 0.3"
    by_task = {r.task: r for r in records}
    assert set(by_task) == {"hellaswag", "arc_easy"}
    assert by_task["hellaswag"].primary_metric == "acc_norm,none"
    norm = next(m for m in by_task["hellaswag"].metrics if m.name == "acc_norm")
    assert (norm.value, norm.stderr) == (0.52, 0.011)
    assert by_task["arc_easy"].num_fewshot == 10 and by_task["arc_easy"].n == 0
    assert by_task["arc_easy"].lm_eval_version == "0.3"


def test_unknown_shots_stay_unknown(tmp_path):
    no_shots = {**V03, "config": {k: v for k, v in V03["config"].items() if k != "num_fewshot"}}
    records = import_lm_eval_file(write(tmp_path, "old.json", no_shots))
    assert all(r.num_fewshot is None for r in records)


def test_a_groups_shots_come_from_its_subtasks(tmp_path):
    records = import_lm_eval_file(write(tmp_path, "mmlu.json", V04_GROUP))
    assert [r.task for r in records] == ["mmlu"]
    assert records[0].num_fewshot == 5 and records[0].key_fields.num_fewshot == 5
    split = {**V04_GROUP, "n-shot": {"mmlu": 0, "mmlu_made_up_a": 5, "mmlu_made_up_b": 0}}
    assert import_lm_eval_file(write(tmp_path, "split.json", split))[0].num_fewshot is None


def test_catalog_gives_identity_never_the_model_type(tmp_path):
    # local-chat-completions, yet the model is Gemini: closed, dated, from the catalog
    gemini = import_lm_eval_file(write(tmp_path, "g.json", V04_GROUP))[0].model
    assert (gemini.id, gemini.access) == ("gemini-2.5-pro", "closed")
    assert gemini.released == load_catalog()["gemini-2.5-pro"].released.isoformat()
    llama = import_lm_eval_file(write(tmp_path, "l.json", V03))[0].model
    assert (llama.id, llama.access, llama.params_b) == ("llama-3.1-8b-instruct", "open", 8.0)
    assert catalog_match("somebody/unknown-7b", load_catalog()) is None


def test_unknown_models_need_their_openness_stated(tmp_path):
    unknown = {**V03, "config": {**V03["config"], "model_args": "pretrained=/models/tiny-open"}}
    path = write(tmp_path, "u.json", unknown)
    with pytest.raises(HarvestError, match="not in the model catalog"):
        import_lm_eval_file(path)
    records = import_lm_eval_file(f"closed:{path}")
    assert {r.model.access for r in records} == {"closed"} and records[0].model.id == "tiny-open"


def test_unreadable_files_name_the_file_the_task_and_the_format(tmp_path):
    with pytest.raises(HarvestError, match=r"broken\.json: not an lm_eval results file"):
        import_lm_eval_file(write(tmp_path, "broken.json", {}))
    bad_task = {**V03, "results": {"arc_easy": {"alias": "arc_easy"}}}
    with pytest.raises(HarvestError, match=r"task 'arc_easy' could not be read as a lm-eval 0.3"):
        import_lm_eval_file(write(tmp_path, "notask.json", bad_task))


def test_report_command_imports_and_fails_with_exit_2(tmp_path):
    store = tmp_path / "empty"
    store.mkdir()
    runner = CliRunner()
    good = write(tmp_path, "old.json", V03)
    result = runner.invoke(app, ["report", str(store), "--import", str(good), "--no-reported",
                                 "--out", str(tmp_path / "rep")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "llama-3.1-8b-instruct" in (tmp_path / "rep" / "leaderboard.csv").read_text()
    bad = runner.invoke(app, ["report", str(store), "--import",
                              str(write(tmp_path, "broken.json", {"results": []}))])
    assert bad.exit_code == 2 and "broken.json" in bad.output


@pytest.mark.parametrize("content", [
    b"", b"[]", b'{"results": 5}', b'{"results": {"arc": 5}}', b"\xff\xfe",
    b'{"results": {"arc": {"acc": "x"}}, "config": 3}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"results": {"arc": {"acc,none": 0.5}}, "config": {"model": "hf", "model_args": 7}}',
    b'{"results": {"arc": {"acc,none": 0.5}}, "config": {"model": "hf", "model_args": "p=x"},'
    b' "n-shot": {"arc": "five"}, "date": "yesterday"}',
    b'{"results": {"arc": {"acc,none": 0.5}}, "config": {"model": "hf"}, "group_subtasks": 5}',
])
def test_malformed_files_fail_in_one_paragraph_naming_the_file(tmp_path, content):
    from openvsclosed.harvest import HarvestError
    from openvsclosed.imported import import_lm_eval_file

    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(HarvestError) as info:
        import_lm_eval_file(f"open:{path}")
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 600
