"""Money fails closed and every refusal of `run` comes before the first request, in `validate`
and `--dry-run` too (issue 18: ledger, prices, writable records, duplicate keys, seeds, labels).

The API side is a small OpenAI-compatible server on 127.0.0.1 that counts requests: a refusal
that comes "before any spend" must leave its count at 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openvsclosed.budget import LedgerError, read_ledger
from openvsclosed.cli import app
from tests.conftest import TOY_TASKS, _required

REPO = Path(__file__).parent.parent


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


class _Counting(BaseHTTPRequestHandler):
    count = 0
    delay = 0.0
    status = 200

    def do_POST(self):
        type(self).count += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(length, 1_000_000))
        if self.delay:
            import time

            time.sleep(self.delay)
        if self.status != 200:
            self.send_error(self.status, "made-up failure")
            return
        body = json.dumps({"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": "#### 4"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_server():
    _Counting.count, _Counting.delay, _Counting.status = 0, 0.0, 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    finally:
        server.shutdown()
        server.server_close()


def api_config(tmp_path: Path, toy_mirror: Path, url: str, results: Path | None = None,
               **model) -> Path:
    path = tmp_path / "api.yaml"
    spec = {"id": "local-api", "backend": "openai-compatible", "access": "closed",
            "api_model": "m", "api_key_env": "OVC_TEST_KEY", "base_url": url,
            "input_per_m": 1.0, "output_per_m": 1.0, "attempts": 1, **model}
    path.write_text(json.dumps({
        "name": "api", "results_dir": str(results or tmp_path / "results"),
        "data_dir": str(toy_mirror), "task_paths": [str(TOY_TASKS)],
        "defaults": {"num_fewshot": 0, "limit": 3}, "models": [spec], "tasks": ["ovc_toy_gen"]}))
    return path


BAD_LEDGERS = {
    "nan": '{"spent_usd": NaN, "reserved": {}}',
    "infinite": '{"spent_usd": Infinity, "reserved": {}}',
    "negative": '{"spent_usd": -5, "reserved": {}}',
    "truncated": '{"spent_usd": 0.02, "reser',
    "empty": "",
    "bad reservation": '{"spent_usd": 0.0, "reserved": {"h:1": NaN}}',
}


@pytest.mark.parametrize("content", BAD_LEDGERS.values(), ids=BAD_LEDGERS.keys())
def test_an_untrustworthy_ledger_stops_a_run_before_any_request(tmp_path, toy_mirror,
                                                                 counting_server, monkeypatch,
                                                                 content):
    _, url = counting_server
    monkeypatch.setenv("OVC_TEST_KEY", "k-123")
    results = tmp_path / "results"
    results.mkdir()
    (results / "budget.json").write_text(content)
    config = api_config(tmp_path, toy_mirror, url)
    for extra in (["--dry-run"], []):
        result = invoke("run", config, "--max-cost", "0.01", *extra)
        text = " ".join(result.output.split())
        assert result.exit_code == 2, text
        assert "budget.json" in text and "rm '" in text and "Traceback" not in text, text
    assert _Counting.count == 0
    assert (results / "budget.json").read_text() == content  # never reset behind the user's back


def test_a_missing_ledger_starts_at_zero_and_a_bad_one_raises(tmp_path):
    assert read_ledger(tmp_path) == {"spent_usd": 0.0, "reserved": {}}
    (tmp_path / "budget.json").write_text('{"spent_usd": NaN}')
    with pytest.raises(LedgerError, match="finite"):
        read_ledger(tmp_path)


@pytest.mark.slow
def test_a_good_ledger_lets_the_run_pay_and_record(tmp_path, toy_mirror, counting_server,
                                                   monkeypatch):
    _, url = counting_server
    monkeypatch.setenv("OVC_TEST_KEY", "k-123")
    config = api_config(tmp_path, toy_mirror, url)
    result = invoke("run", config, "--max-cost", "1")
    assert result.exit_code == 0, result.output
    assert _Counting.count == 3
    assert read_ledger(tmp_path / "results")["spent_usd"] > 0


@pytest.mark.parametrize("price", [".inf", ".nan", "-1"])
def test_prices_must_be_finite_amounts(tmp_path, toy_mirror, price):
    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\nmodels:\n  - id: x\n    backend: openai-compatible\n"
                    f"    access: closed\n    api_model: m\n    base_url: http://127.0.0.1:9/v1\n"
                    f"    input_per_m: {price}\ntasks: [ovc_toy_gen]\n"
                    f"task_paths: ['{TOY_TASKS}']\n")
    result = invoke("validate", path)
    assert result.exit_code == 2 and "input_per_m" in result.output, result.output


def test_a_duplicate_key_is_an_error_naming_its_line(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("name: d\nmodels: [gpt-4o]\ntasks: [arc_easy]\nlimit: 5\nlimit: 10\n")
    for command in (["validate"], ["run", "--dry-run"]):
        result = invoke(*command, path)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "'limit' appears twice" in text and "line 5" in text


def test_validate_refuses_what_run_refuses(tmp_path, toy_mirror, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    base = {"name": "v", "models": [{"id": "f", "backend": "fake"}], "tasks": ["ovc_toy"],
            "task_paths": [str(TOY_TASKS)], "data_dir": str(toy_mirror)}
    cases = {
        "results_dir is a file": ({"results_dir": str(blocker)}, "is a file, not a folder"),
        "a 300-character name": ({"results_dir": str(tmp_path / ("n" * 300))},
                                 "longer than 255 bytes"),
        "missing data_dir": ({"data_dir": str(tmp_path / "nowhere")}, "is not a directory"),
        "seed in model_args": ({"models": [{"id": "f", "backend": "fake",
                                            "model_args": {"seed": -1}}]}, "model_args.seed"),
    }
    for name, (change, expected) in cases.items():
        path = tmp_path / "v.yaml"
        path.write_text(json.dumps({**base, **change}))
        for command in (["validate"], ["run", "--dry-run"], ["run"]):
            result = invoke(*command, path)
            text = " ".join(result.output.split())
            assert result.exit_code == 2 and expected in text, (name, command, text)


def test_a_model_id_too_long_for_a_file_name_is_refused_before_the_job_runs(tmp_path,
                                                                             toy_mirror):
    path = tmp_path / "l.yaml"
    path.write_text(json.dumps({
        "name": "l", "results_dir": str(tmp_path / "r"), "data_dir": str(toy_mirror),
        "task_paths": [str(TOY_TASKS)], "models": [{"id": "m" * 300, "backend": "fake"}],
        "tasks": ["ovc_toy"]}))
    result = invoke("run", path)
    assert result.exit_code == 2 and "255 bytes" in " ".join(result.output.split())
    assert not list((tmp_path / "r").glob("records/*/*/*.json"))


def _read_only_mount_works() -> bool:
    done = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return done.returncode == 0


def test_a_read_only_records_folder_is_found_before_any_request(tmp_path, toy_mirror,
                                                                counting_server):
    """A colleague's `records/` this user cannot write must stop the run before any request.

    CI runs as root, for whom every folder is writable, so the folder is made read-only for
    real: a read-only bind mount inside a private mount namespace (`unshare -m`).
    """
    if not _read_only_mount_works():
        _required("a private mount namespace (unshare -m) to make a read-only folder as root")
    _, url = counting_server
    results = tmp_path / "results"
    (results / "records" / "someone").mkdir(parents=True)
    config = api_config(tmp_path, toy_mirror, url, results=results)
    records = results / "records"
    script = (f"mount --bind '{records}' '{records}' && "
              f"mount -o remount,bind,ro '{records}' && "
              f"exec '{sys.executable}' -c 'from openvsclosed.cli import main; main()' "
              f"run '{config}' --max-cost 1")
    env = {**os.environ, "OVC_TEST_KEY": "k-123"}
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    text = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and "is not writable" in text, text
    assert _Counting.count == 0


def test_protocol_both_never_labels_a_log_likelihood_job_chat(tmp_path, toy_mirror):
    path = tmp_path / "b.yaml"
    path.write_text(json.dumps({
        "name": "b", "results_dir": str(tmp_path / "r"), "data_dir": str(toy_mirror),
        "task_paths": [str(TOY_TASKS)], "protocol": "both", "defaults": {"num_fewshot": 0},
        "models": [{"id": "f", "backend": "fake"}], "tasks": ["ovc_toy_mc_b"]}))
    result = invoke("run", path)
    assert result.exit_code == 0, result.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "r").glob("records/*/*/*.json")]
    assert records and all(r.get("protocol") != "chat" for r in records), records
    assert "a chat record means the model wrote its answer" in " ".join(result.output.split())


def test_a_capped_run_refuses_an_api_model_without_a_price(tmp_path, toy_mirror,
                                                           counting_server, monkeypatch):
    _, url = counting_server
    monkeypatch.setenv("OVC_TEST_KEY", "k-123")
    config = api_config(tmp_path, toy_mirror, url, input_per_m=None, output_per_m=None)
    for extra in (["--dry-run"], []):
        result = invoke("run", config, "--max-cost", "5", *extra)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "local-api has no price" in text, text
    assert _Counting.count == 0
    free = api_config(tmp_path, toy_mirror, url, input_per_m=0, output_per_m=0)
    assert invoke("run", free, "--max-cost", "5").exit_code == 0 and _Counting.count == 3


def test_validate_refuses_a_private_leak_and_an_ambiguous_url(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"question": "Made-up: what colour is Pell's sky?",
                                "answer": "teal"}) + "\n")
    leak = {"name": "p", "models": [{"id": "far", "backend": "openai-compatible",
                                     "access": "closed", "api_model": "m",
                                     "base_url": "https://api.example.org/v1/chat/completions"}],
            "tasks": [{"name": "own_p", "file": str(rows), "kind": "exact_match",
                       "private": True}]}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(leak))
    result = invoke("validate", path)
    assert result.exit_code == 2 and "private task data would be sent" in result.output
    leak["models"][0]["base_url"] = "http://attacker.test:18106\\\\@127.0.0.1:9/v1"
    path.write_text(json.dumps(leak))
    result = invoke("validate", path)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "base_url" in text and "Traceback" not in text, text


def test_an_own_task_name_must_be_a_plain_identifier(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"question": "Made-up?", "answer": "1"}) + "\n")
    path = tmp_path / "o.yaml"
    path.write_text(json.dumps({"name": "o", "models": [{"id": "f", "backend": "fake"}],
                                "tasks": [{"name": "own[/b]num", "file": str(rows),
                                           "kind": "numeric"}]}))
    result = invoke("validate", path)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "own[/b]num" in text and "letters, digits" in text, text


@pytest.mark.parametrize(("delay", "status", "billed"), [
    (3.0, 200, True),   # sent, then no reply in time: may have been billed -> worst case
    (0.0, 500, False),  # refused with an error status: not billed -> $0
])
def test_a_failed_request_is_settled_by_one_stated_rule(tmp_path, toy_mirror, counting_server,
                                                        monkeypatch, delay, status, billed):
    _, url = counting_server
    _Counting.delay, _Counting.status = delay, status
    monkeypatch.setenv("OVC_TEST_KEY", "k-123")
    config = api_config(tmp_path, toy_mirror, url, timeout_s=1, attempts=1)
    result = invoke("run", config, "--max-cost", "100", "--limit", "1")
    assert result.exit_code == 1, result.output  # the job failed, recorded as failed
    spent = read_ledger(tmp_path / "results")["spent_usd"]
    assert (spent > 0) is billed, spent


def test_report_prints_a_failure_with_brackets_as_it_is(tmp_path):
    from datetime import datetime, timezone

    from openvsclosed.schema import FailureRecord
    from openvsclosed.store import ResultStore

    store = ResultStore(tmp_path / "r")
    message = "HTTP 400: messages[0].content[/text] is invalid [bold]"
    store.record_failure(FailureRecord(key="k" * 64, model_id="m", task="arc[/x]easy",
                                       error_type="ApiError", message=message,
                                       at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    result = invoke("report", tmp_path / "r", "--no-reported", "--out", tmp_path / "out")
    text = " ".join(result.output.split())
    assert result.exit_code == 0, text
    assert "arc[/x]easy" in text and "content[/text] is invalid [bold]" in text


def test_the_response_cache_follows_the_umask(tmp_path):
    from openvsclosed.models.cache import ResponseCache

    old = os.umask(0o002)
    try:
        cache = ResponseCache(tmp_path / "cache" / "responses.sqlite")
        cache.put("k", {"a": 1})
    finally:
        os.umask(old)
    mode = (tmp_path / "cache" / "responses.sqlite").stat().st_mode & 0o777
    assert mode == 0o664, oct(mode)  # a colleague in the group can write it too


def test_a_private_tasks_error_text_is_never_stored_or_printed(tmp_path):
    from rich.console import Console

    from openvsclosed.config import RunConfig
    from openvsclosed.executors.local import run_jobs
    from openvsclosed.plan import plan_jobs
    from openvsclosed.store import ResultStore

    secret = "Which vault on Isle Quorvant holds the amber ledger?"
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"question": secret, "answer": "Vell"}) + "\n"
                    + json.dumps({"question": "Made-up filler?", "answer": "x"}) + "\n")
    cfg = RunConfig.model_validate({
        "name": "p", "models": [{"id": "f", "backend": "fake"}],
        "tasks": [{"name": "own_p", "file": str(rows), "kind": "exact_match",
                   "private": True}]})

    def evaluate(lm, job):
        raise RuntimeError(f"template failed on document {{'question': {secret!r}}}")

    store = ResultStore(tmp_path / "r")
    shown = tmp_path / "terminal.txt"
    with shown.open("w") as fh:
        summary = run_jobs(plan_jobs(cfg, store, env={}), store, evaluate=evaluate,
                           load_model=lambda spec: "lm", console=Console(file=fh), env={})
    assert summary.failed
    for text in (store.failures_path.read_text(), shown.read_text()):
        assert "Quorvant" not in text and "details withheld" in text
