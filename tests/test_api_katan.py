"""Closed-model code paths against a real server: llm-katan on 127.0.0.1, never a mock.

One server runs the real SmolLM2 (exported from the GGUF) over the OpenAI and Anthropic wire
protocols; echo servers inject faults (errors, persistent 429s). Slow: a checkpoint export and
server starts.
"""

import os

import pytest
import yaml
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.store import ResultStore
from tests.conftest import REPO, TOY_TASKS
from tests.helpers import build_toy_mirror
from tests.katan import api_model, katan, stats

pytestmark = pytest.mark.slow
SENTINEL = "sk-ovc-SENTINEL-7f3a9c2e51"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("OVC_KATAN_KEY", SENTINEL)


def write_config(tmp_path, mirror, models, tasks, **extra):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({
        "name": "api", "results_dir": str(tmp_path / "results"), "data_dir": str(mirror),
        "protocol": "chat", "defaults": {"num_fewshot": 0, "limit": 3}, "models": models,
        "tasks": tasks, **extra}))
    return path


def test_ci_api_config_runs_every_protocol_end_to_end(smol_server, shared_mirror, tmp_path, key):
    cfg = yaml.safe_load((REPO / "configs" / "ci-api.yaml").read_text())
    cfg["results_dir"] = str(tmp_path / "results")
    cfg["data_dir"] = str(shared_mirror)
    for model in cfg["models"]:
        if isinstance(model, dict):
            model["base_url"] = model["base_url"].replace("http://127.0.0.1:8765", smol_server)
    config = tmp_path / "ci-api.yaml"
    config.write_text(yaml.safe_dump(cfg))

    dry = invoke("run", config, "--dry-run")
    assert dry.exit_code == 0 and "Estimated API spend" in dry.output
    assert stats(smol_server) == 0  # a dry run sends nothing

    first = invoke("run", config)
    assert first.exit_code == 0, first.output
    records = list(ResultStore(tmp_path / "results").records())
    assert len(records) == 8  # 4 models x 2 tasks
    by_model = {}
    for rec in records:
        by_model.setdefault(rec.model.id, []).append(rec)
        assert rec.key_fields.protocol == "chat"
    for model_id in ("katan-openai", "katan-anthropic", "katan-gemini"):
        recs = by_model[model_id]
        assert all(r.usage["requests"] > 0 and r.cost_usd > 0 for r in recs), model_id
        assert {r.lm_eval_task for r in recs} == {"ovc_arc_easy_chat", None}  # gsm8k as is
    assert by_model["smollm2-135m-instruct"][0].cost_usd is None
    sent = stats(smol_server)
    assert sent == sum(r.usage["requests"] for r in records if r.usage)

    again = invoke("run", config, "--force")
    assert again.exit_code == 0, again.output
    assert stats(smol_server) == sent  # the response cache: a re-run sends zero requests
    reused = [r for r in ResultStore(tmp_path / "results").records() if r.usage]
    assert all(r.usage["requests"] == 0 and r.usage["cached"] > 0 for r in reused)
    assert all(r.cost_usd > 0 for r in reused)  # list-price value kept for $ per 1k questions

    report = invoke("report", tmp_path / "results", "--no-reported")
    assert report.exit_code == 0, report.output
    for path in (tmp_path / "results").rglob("*"):  # results, samples, cache, failures, report
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path


def test_retries_recover_from_30_percent_errors(tmp_path, shared_mirror, key):
    with katan("echo", "--backend", "echo", "--error-rate", "0.3",
               log=tmp_path / "echo.log") as base:
        config = write_config(tmp_path, shared_mirror,
                              [api_model("flaky", base, attempts=12, num_concurrent=4)],
                              ["arc_easy", {"name": "gsm8k", "limit": 6}],
                              defaults={"num_fewshot": 0, "limit": 10})
        result = invoke("run", config)
    assert result.exit_code == 0, result.output
    records = list(ResultStore(tmp_path / "results").records())
    assert len(records) == 2 and {r.n for r in records} == {10, 6}
    assert sum(r.usage["retries"] for r in records) > 0  # errors happened and were retried


def test_persistent_429_is_a_recorded_failure_and_other_jobs_finish(tmp_path, shared_mirror,
                                                                     key):
    with katan("echo", "--backend", "echo", log=tmp_path / "ok.log") as ok, \
            katan("echo", "--backend", "echo", "--rate-limit-after", "2",
                  log=tmp_path / "limited.log") as limited:
        config = write_config(tmp_path, shared_mirror,
                              [api_model("healthy", ok), api_model("limited", limited,
                                                                   attempts=3)],
                              ["arc_easy"])
        result = invoke("run", config)
    assert result.exit_code == 1
    store = ResultStore(tmp_path / "results")
    assert [r.model.id for r in store.records()] == ["healthy"]
    failures = store.failures()
    assert [f.model_id for f in failures] == ["limited"] and "HTTP 429" in failures[0].message
    assert "gave up after 3 attempts" in failures[0].message


def test_budget_stops_spending_before_the_request_that_would_pass_it(tmp_path, shared_mirror,
                                                                      key):
    with katan("echo", "--backend", "echo", log=tmp_path / "echo.log") as base:
        pricey = api_model("pricey", base, input_per_m=20000.0, output_per_m=20000.0)
        config = write_config(tmp_path, shared_mirror, [pricey],
                              ["arc_easy", {"name": "gsm8k", "limit": 3}])
        result = invoke("run", config, "--max-cost", "5")
        sent = stats(base)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "skipped for budget" in text
    records = list(ResultStore(tmp_path / "results").records())
    spent = sum(r.usage["spent_usd"] for r in records)
    assert spent <= 5.0 and sent < 6  # it stopped before sending everything
    assert not ResultStore(tmp_path / "results").failures()  # budget skips are not failures


def test_a_server_billing_past_the_requests_limits_is_named(tmp_path, key, caplog):
    # echo replies repeat the question whatever max_tokens says: more output than allowed
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    toy = yaml.safe_load((TOY_TASKS / "ovc_toy_gen.yaml").read_text())
    toy["generation_kwargs"]["max_gen_toks"] = 3
    toy["task"] = "ovc_toy_gen_tight"
    (tasks / "tight.yaml").write_text(yaml.safe_dump(toy))
    with katan("echo", "--backend", "echo", log=tmp_path / "echo.log") as base:
        tight = api_model("tight", base)
        config = write_config(tmp_path, build_toy_mirror(tmp_path / "mirror"), [tight],
                              ["ovc_toy_gen_tight"], task_paths=[str(tasks)])
        with caplog.at_level("WARNING", logger="openvsclosed"):
            result = invoke("run", config, "--max-cost", "100")
    assert result.exit_code == 0, result.output
    warned = [r.getMessage() for r in caplog.records if "ignores the request's limits" in
              r.getMessage()]
    assert len(warned) == 1 and base in warned[0]  # once per model, naming the server
    assert SENTINEL not in " ".join(warned)


def test_missing_key_is_a_skip_not_a_failure(tmp_path, shared_mirror):
    os.environ.pop("OVC_KATAN_KEY", None)
    config = write_config(tmp_path, shared_mirror, [api_model("m", "http://127.0.0.1:9")],
                          ["arc_easy"])
    result = invoke("run", config)
    assert result.exit_code == 0 and "skipping m: OVC_KATAN_KEY is not set" in result.output
    results = tmp_path / "results"
    assert not (results / "failures.jsonl").exists()  # the folder the config names
    assert [f.key for f in ResultStore(results).failures()] == []
