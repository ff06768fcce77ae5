import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openvsclosed.cli import app
from tests.conftest import REPO, TOY_TASKS

COMMANDS = ["run", "validate", "models", "report", "epoch-lag"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def toy_config(tmp_path: Path, toy_mirror: Path, tasks=("ovc_toy", "ovc_toy_gen")) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(json.dumps({
        "name": "toy", "results_dir": str(tmp_path / "results"), "data_dir": str(toy_mirror),
        "task_paths": [str(TOY_TASKS)], "defaults": {"num_fewshot": 0},
        "models": [{"id": "fake-open", "backend": "fake", "label": "Fake open"},
                   {"id": "fake-closed", "backend": "fake", "access": "closed",
                    "model_args": {"seed": 5}},
                   "gpt-4o"],
        "tasks": list(tasks),
    }))
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_in_the_readme(command):
    assert f"openvsclosed {command}" in (REPO / "README.md").read_text()


@pytest.mark.slow
def test_run_resume_dry_run_and_report(tmp_path, toy_mirror):
    config = toy_config(tmp_path, toy_mirror)
    first = invoke("run", str(config))
    assert first.exit_code == 0, first.output
    assert "skipping gpt-4o: OPENAI_API_KEY is not set" in first.output
    assert "4 finished, 0 failed" in first.output
    second = invoke("run", str(config))
    assert second.exit_code == 0 and "Nothing to run: 4 jobs already finished" in second.output
    dry = invoke("run", str(config), "--dry-run", "--limit", "2")
    assert dry.exit_code == 0 and "0 finished, 4 to run, 2 skipped" in dry.output
    report = invoke("report", str(tmp_path / "results"), "--out", str(tmp_path / "rep"))
    assert report.exit_code == 0, report.output
    gap = (tmp_path / "rep" / "gap.csv").read_text()
    assert "Fake open" in gap and "fake-closed" in gap
    assert "ovc_toy_gen" in (tmp_path / "rep" / "leaderboard.md").read_text()


def test_failed_job_exits_1_and_keeps_the_rest(tmp_path, toy_mirror):
    config = toy_config(tmp_path, toy_mirror, tasks=("ovc_toy_mc", "ovc_toy_missing"))
    result = invoke("run", str(config), "--model", "fake-open")
    assert result.exit_code == 1
    assert "1 finished, 1 failed" in result.output and "validation.parquet" in result.output
    assert (tmp_path / "results" / "failures.jsonl").is_file()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "{cfg}", "--model", "nope"], "--model 'nope' is not in"),
        (["run", "{cfg}", "--data-dir", "/does/not/exist"], "--data-dir: /does/not/exist"),
        (["run", "{bad}"], "models[0].backend"),
        (["validate", "{bad}"], "unknown backend"),
        (["run", "{missing}"], "cannot read the config file"),
        (["report", "{missing}"], "no such results directory"),
    ],
)
def test_usage_errors_exit_2_with_one_paragraph(tmp_path, toy_mirror, args, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodels: [{id: a, backend: nope}]\ntasks: [arc_easy]\n")
    values = {"cfg": toy_config(tmp_path, toy_mirror), "bad": bad, "missing": tmp_path / "no"}
    result = invoke(*[a.format(**values) for a in args])
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_unknown_task_is_rejected_before_anything_runs(tmp_path, toy_mirror):
    config = toy_config(tmp_path, toy_mirror, tasks=("ovc_toy_mc", "arc_eazy"))
    result = invoke("run", str(config))
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "tasks[1].name: unknown lm-eval task 'arc_eazy'" in text and "arc_easy" in text
    assert not (tmp_path / "results" / "records").exists()


def test_models_lists_the_catalog():
    result = CliRunner().invoke(app, ["models"], catch_exceptions=False, terminal_width=200)
    assert result.exit_code == 0
    for needle in ("mixtral-8x7b-instruct", "gpt-4o", "Mistral AI", "undisclosed", "closed"):
        assert needle in result.output


@pytest.mark.slow
def test_report_published_only_and_import(tmp_path):
    out = tmp_path / "pub"
    result = invoke("report", "--published-only", "--out", str(out),
                    "--claims", str(REPO / "seeds" / "claims.yaml"))
    assert result.exit_code == 0, result.output
    gap = (out / "gap.csv").read_text()
    assert "reported" in gap and "measured" not in gap
    claims = (out / "claims.md").read_text()
    assert "Mixtral 8x7B beats GPT-3.5" in claims and "supported" in claims
    assert (out / "index.html").is_file() and (out / "leaderboard.tex").is_file()
    for args, expected in [(["report", "--published-only"], "needs --out"),
                           (["report"], "RESULTS_DIR is missing"),
                           (["report", "--published-only", "--no-reported", "--out", str(out)],
                            "leave nothing")]:
        bad = invoke(*args)
        assert bad.exit_code == 2 and expected in " ".join(bad.output.split())


def test_report_imports_plain_lm_eval_results(tmp_path):
    plain = tmp_path / "results_2026.json"
    plain.write_text(json.dumps({
        "config": {"model": "hf", "model_args": "pretrained=/models/tiny-open", "limit": 5.0},
        "results": {"ovc_toy_mc": {"alias": "ovc_toy_mc", "acc,none": 0.6,
                                   "acc_stderr,none": 0.2}},
        "n-samples": {"ovc_toy_mc": {"original": 8, "effective": 5}},
        "n-shot": {"ovc_toy_mc": 0}, "versions": {"ovc_toy_mc": 1.0},
        "lm_eval_version": "0.4.13", "date": 1767225600.0,
    }))
    store = tmp_path / "empty-results"
    store.mkdir()
    result = invoke("report", str(store), "--import", f"open:{plain}", "--no-reported",
                    "--out", str(tmp_path / "rep"))
    assert result.exit_code == 0, result.output
    board = (tmp_path / "rep" / "leaderboard.csv").read_text()
    assert "tiny-open,tiny-open,open,imported" in board and "60.0000" in board
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    bad = invoke("report", str(store), "--import", str(broken))
    assert bad.exit_code == 2 and "not an lm_eval results file" in bad.output


@pytest.mark.slow
def test_validate_routes_chat_apis_instead_of_rejecting(tmp_path):
    """Under protocol native a chat API runs each task's chat variant; never a refusal."""
    config = tmp_path / "v.yaml"
    for protocol in ("native", "chat", "both"):
        config.write_text(json.dumps({"name": "v", "protocol": protocol,
                                      "models": ["gpt-4o", "smollm2-135m-instruct"],
                                      "tasks": ["arc_easy", "mmlu", "winogrande", "gsm8k"]}))
        good = invoke("validate", str(config))
        assert good.exit_code == 0 and "0 unscorable" in good.output, good.output
    # a log-likelihood task with no chat variant: the API job is skipped with the reason
    config.write_text(json.dumps({"name": "v", "models": ["gpt-4o"], "tasks": ["piqa"]}))
    noted = invoke("validate", str(config))
    flat = " ".join(noted.output.split())
    assert noted.exit_code == 0 and "gpt-4o × piqa will be skipped" in flat
    assert "1 unscorable" in flat
