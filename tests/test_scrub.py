"""Keys are scrubbed before text is cut, and a private task's error replies are never kept
(issue 18, findings 4 and 7), against a server on 127.0.0.1 that reflects what it is sent.

Every question here is made up.
"""

import json

import pytest
import yaml
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.config import RunConfig
from openvsclosed.runner import scrub
from openvsclosed.store import ResultStore
from tests.bad_server import KEY_AT, bad_server

KEY = "sk-ovc-STRADDLE-0123456789abcd"  # 30 characters, from 190 to 220 in the reply
ROWS = [{"q": f"How many gulls nest on the made-up skerry of Tamsin {n}?", "opts": ["2", "3"],
         "right": n % 2} for n in range(3)]
PATH = "/v1/chat/completions"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def pieces(secret, size=6):
    """Every run of `size` characters of the secret (what a cut could leave behind)."""
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def config(tmp_path, base_url, private):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({
        "name": "scrub", "results_dir": str(tmp_path / "results"), "protocol": "chat",
        "models": [{"id": "target", "backend": "openai-compatible", "access": "closed",
                    "api_model": "m", "api_key_env": "OVC_BAD_KEY", "base_url": base_url,
                    "attempts": 1}],
        "defaults": {"num_fewshot": 0},
        "tasks": [{"name": "own_gulls", "file": str(data), "kind": "multiple_choice",
                   "columns": {"question": "q", "choices": "opts", "answer": "right"},
                   "private": private}]}))
    return path


def everything_written(tmp_path, output):
    written = [p.read_text(errors="replace") for p in (tmp_path / "results").rglob("*")
               if p.is_file() and p.suffix != ".sqlite"]
    return "\n".join([output, *written])


def test_scrub_comes_before_the_cut():
    cfg = RunConfig.model_validate({"name": "x", "models": [{
        "id": "m", "backend": "openai", "api_model": "g", "api_key_env": "OVC_BAD_KEY"}],
        "tasks": [{"name": "arc_easy"}]})
    text = "x" * 195 + KEY + " tail"
    cut = scrub(text, cfg.models, {"OVC_BAD_KEY": KEY}, limit=200)
    assert not any(p in cut for p in pieces(KEY)) and len(cut) <= 201
    assert scrub(text, cfg.models, {"OVC_BAD_KEY": KEY}).endswith("$OVC_BAD_KEY tail")


@pytest.mark.slow
def test_a_reflected_key_straddling_the_cut_leaves_no_piece_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("OVC_BAD_KEY", KEY)
    assert KEY_AT < 200 < KEY_AT + len(KEY)
    with bad_server("reflect") as (url, seen):
        result = invoke("run", config(tmp_path, url + PATH, private=False))
    assert result.exit_code == 1 and seen
    failure = ResultStore(tmp_path / "results").failures()[0]
    assert "HTTP 401" in failure.message and "$OVC_BAD" in failure.message  # cut after scrub
    text = everything_written(tmp_path, result.output)
    leaked = [p for p in pieces(KEY) if p in text]
    assert not leaked, leaked


@pytest.mark.slow
def test_a_private_tasks_error_reply_is_never_stored_or_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("OVC_BAD_KEY", KEY)
    with bad_server("echo") as (url, seen):
        result = invoke("run", config(tmp_path, url + PATH, private=True))
    assert result.exit_code == 1
    assert any(ROWS[0]["q"] in hit["body"] or ROWS[1]["q"] in hit["body"] for hit in seen)
    failure = ResultStore(tmp_path / "results").failures()[0]
    assert "HTTP 400" in failure.message and "not shown or stored" in failure.message
    text = everything_written(tmp_path, result.output)
    for row in ROWS:
        assert row["q"] not in text and "skerry" not in text


@pytest.mark.slow
def test_a_non_private_error_reply_is_still_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("OVC_BAD_KEY", KEY)
    with bad_server("echo") as (url, _):
        result = invoke("run", config(tmp_path, url + PATH, private=False))
    assert result.exit_code == 1
    assert "cannot parse request" in ResultStore(tmp_path / "results").failures()[0].message
