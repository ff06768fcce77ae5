"""Private rows go only to this machine, decided on the connection (issue 18, findings 1-3, 5).

The real attacks run in a network namespace of their own with a made-up non-loopback address
(tests/egress_attack.py); the rest against misbehaving servers on 127.0.0.1 (tests/bad_server.py).
Every question here is made up.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.models.egress import (
    EgressRefused,
    is_loopback,
    parse_endpoint,
    pin_loopback,
    stays_on_machine,
)
from openvsclosed.store import ResultStore
from tests.bad_server import bad_server
from tests.conftest import REPO, _required

ROWS = [{"q": f"Which lantern of Vell harbour {n} signals the otter fleet?",
         "opts": ["Ama", "Borin", "Cass"], "right": n % 3} for n in range(4)]
PATH = "/v1/chat/completions"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def api(model_id, base_url, **extra):
    return {"id": model_id, "backend": "openai-compatible", "access": "closed",
            "api_model": "m", "api_key_env": "OVC_BAD_KEY", "base_url": base_url,
            "attempts": 1, "backoff_s": 0.01, "max_backoff_s": 0.02, **extra}


def private_config(tmp_path, models, **task):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({
        "name": "egress", "results_dir": str(tmp_path / "results"), "protocol": "chat",
        "models": models, "defaults": {"num_fewshot": 0},
        "tasks": [{"name": "own_lanterns", "file": str(data), "kind": "multiple_choice",
                   "columns": {"question": "q", "choices": "opts", "answer": "right"},
                   "private": True, **task}]}))
    return path


def rows_in(seen):
    return sum(any(r["q"] in hit["body"] for hit in seen) for r in ROWS)


@pytest.mark.parametrize("url", [
    "http://attacker.test:18106\\@127.0.0.1:9/v1/chat/completions",
    "http://user:pw@127.0.0.1:9/v1",
    "http://127.0.0.1:9/v1 /x",
    "http://127.0.0.1\u200b:9/v1",
    "ftp://127.0.0.1/v1",
])
def test_urls_that_parsers_may_read_differently_are_refused(url):
    with pytest.raises(EgressRefused) as info:
        parse_endpoint(url)
    assert "allowed:" in str(info.value) and "\n" not in str(info.value)


def test_this_machine_is_decided_by_resolving_not_by_reading():
    for url in ("http://127.0.0.1:9/v1", "http://localhost:9/v1", "http://[::1]:9/v1",
                "http://127.3.4.5:9/v1"):
        assert stays_on_machine(url), url
    for url in ("http://10.200.0.1:9/v1", "http://127.0.0.1.attacker.test:9/v1",
                "https://api.openai.com/v1/chat/completions", "http://0.0.0.0:9/v1"):
        assert not stays_on_machine(url), url
    assert is_loopback("::ffff:127.0.0.1") and not is_loopback("::ffff:10.0.0.1")
    pinned = pin_loopback("http://localhost:8080/v1/chat/completions?x=1")
    assert pinned.url == "http://127.0.0.1:8080/v1/chat/completions?x=1"
    assert pinned.endpoint.host_header == "localhost:8080"


def test_a_backslash_url_is_one_paragraph_in_dry_run_and_run(tmp_path, monkeypatch):
    monkeypatch.setenv("OVC_BAD_KEY", "sk-ovc-unused-000000")
    url = f"http://attacker.test:18106\\@127.0.0.1:9{PATH}"
    config = private_config(tmp_path, [api("target", url)])
    for args in (["--dry-run"], []):
        result = invoke("run", config, *args)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "backslash" in text and "(this machine)" not in text


@pytest.mark.slow
def test_proxy_variables_and_redirects_carry_no_private_row(tmp_path, monkeypatch):
    monkeypatch.setenv("OVC_BAD_KEY", "sk-ovc-unused-000000")
    with bad_server("ok") as (proxy_url, proxied), bad_server("ok") as (local_url, local), \
            bad_server("ok") as (sink_url, sink), \
            bad_server("redirect", location=f"{sink_url}{PATH}") as (moved_url, moved):
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        config = private_config(tmp_path, [api("direct", local_url + PATH),
                                           api("moved", moved_url + PATH)])
        result = invoke("run", config)
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    assert rows_in(local) == len(ROWS) and not proxied  # straight to the server, not the proxy
    assert len(moved) == 1 and not sink  # the 307 was not followed
    failure = ResultStore(tmp_path / "results").failures()[0]
    assert failure.model_id == "moved" and "HTTP 307" in failure.message
    assert "not followed for a private task" in failure.message


@pytest.mark.slow
def test_keep_samples_on_a_private_task_keeps_text_but_caches_no_reply(tmp_path, monkeypatch):
    monkeypatch.setenv("OVC_BAD_KEY", "sk-ovc-unused-000000")
    with bad_server("ok") as (url, seen):
        config = private_config(tmp_path, [api("local", url + PATH)], keep_samples=True)
        first = invoke("run", config)
        again = invoke("run", config, "--force")
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert len(seen) == 2 * len(ROWS)  # the re-run asked again: nothing was cached
    caches = list((tmp_path / "results").rglob("responses.sqlite"))
    for cache in caches:
        with sqlite3.connect(cache) as db:
            assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 0
    record = next(ResultStore(tmp_path / "results").records())
    assert any(s.resps for s in record.samples)  # keep_samples still keeps the text


@pytest.mark.slow
def test_attacks_in_a_network_namespace_send_no_row_off_the_machine(tmp_path):
    """Inside `unshare -nm`: 10.200.0.1 is a real non-loopback address, names resolve to it."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        _required("root with unshare and ip (to make a network namespace for the attacks)")
    probe = subprocess.run(["unshare", "-nm", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        _required(f"a network namespace (unshare -nm failed: {probe.stderr.strip()})")
    out = tmp_path / "attack.json"
    done = subprocess.run(["unshare", "-nm", sys.executable, "-m", "tests.egress_attack",
                           str(out)], cwd=REPO, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    # the control proves the attacker's listener is reachable: without `private` rows arrive
    assert report["control_not_private"]["sink_rows"] == 6
    for attack in ("name_starting_127", "backslash_userinfo"):
        got = report[attack]
        assert got["sink_rows"] == 0, attack
        assert got["dry"]["exit"] == 2 and got["run"]["exit"] == 2, attack
        assert "(this machine)" not in got["dry"]["output"], attack
    assert "10.200.0.1" in report["pinned_send"]["outcome"]
    assert report["pinned_send"]["outcome"].startswith("EgressRefused")
    assert report["pinned_send"]["sink_rows"] == 0
    assert report["redirect_307"]["sink_rows"] == 0 and report["redirect_307"]["run"]["exit"] == 1
    assert "HTTP 307" in report["redirect_307"]["run"]["output"]
    proxied = report["http_proxy"]
    assert proxied["proxy_rows"] == 0 and proxied["local_rows"] == 6
    assert proxied["run"]["exit"] == 0
