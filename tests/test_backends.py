"""The one backend table: every fact about a backend comes from its entry, nowhere else."""

from __future__ import annotations

import importlib.util
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from openvsclosed.backends import API, BACKENDS, LOCAL, Backend, backend
from openvsclosed.config import ApiModelSpec, ConfigError, LocalModelSpec, load_config
from openvsclosed.models.wire import wire_settings
from openvsclosed.plan import plan_jobs
from openvsclosed.store import ResultStore

CONFIG = """
name: batchy
batch: {batch}
models:
  - {{id: gpt, backend: openai, api_model: gpt-x, api_key_env: OVC_TEST_KEY}}
  - {{id: claude, backend: anthropic, api_model: claude-x, api_key_env: OVC_TEST_KEY,
      batch: false}}
  - {{id: gem, backend: gemini, api_model: gemini-x, api_key_env: OVC_TEST_KEY}}
  - {{id: local-srv, backend: openai-compatible, access: open, api_model: m,
      base_url: "http://127.0.0.1:8000/v1/chat/completions"}}
tasks: [arc_easy]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_config_backends_are_the_tables_entries():
    assert set(LOCAL) | set(API) == set(BACKENDS) and not set(LOCAL) & set(API)
    assert set(LocalModelSpec.model_fields["backend"].annotation.__args__) == set(LOCAL)
    assert set(ApiModelSpec.model_fields["backend"].annotation.__args__) == set(API)
    assert all(backend(name).is_api == (name in API) for name in BACKENDS)


def test_an_unknown_backend_lists_every_entry_of_the_table(tmp_path):
    text = "name: x\nmodels: [{id: m, backend: nope}]\ntasks: [arc_easy]\n"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert all(name in str(info.value) for name in BACKENDS)


def test_default_endpoint_wire_style_and_key_come_from_the_entry(tmp_path):
    cfg = load_config(write(tmp_path, CONFIG.format(batch="false")))
    gpt, claude, gem, srv = cfg.models
    assert gpt.endpoint == backend("openai").base_url
    assert claude.endpoint.endswith("/v1/messages")
    assert srv.endpoint == "http://127.0.0.1:8000/v1/chat/completions"
    assert wire_settings(claude).style == "anthropic" and wire_settings(gpt).style == "openai"
    assert wire_settings(gem).google_thinking and not wire_settings(gpt).google_thinking
    assert backend("anthropic").key_env == "ANTHROPIC_API_KEY"


def test_a_config_wide_batch_reaches_only_models_whose_backend_batches(tmp_path):
    cfg = load_config(write(tmp_path, CONFIG.format(batch="true")))
    assert [m.batched for m in cfg.models] == [True, False, True, False]  # claude said no
    from openvsclosed.planchecks import batch_notes

    assert batch_notes(cfg) == ["local-srv stays live: backend openai-compatible has no "
                                "provider batch protocol"]
    plain = load_config(write(tmp_path, CONFIG.format(batch="false")))
    assert not any(m.batched for m in plain.models) and batch_notes(plain) == []


def test_batch_on_a_backend_without_a_protocol_is_refused_naming_those_that_have_one(tmp_path):
    text = CONFIG.format(batch="false").replace(
        'base_url: "http://127.0.0.1:8000/v1/chat/completions"}',
        'base_url: "http://127.0.0.1:8000/v1/chat/completions", batch: true}')
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = " ".join(str(info.value).split())
    assert "models[3]" in message and "no provider batch protocol" in message
    assert "openai, anthropic, gemini" in message


def test_a_missing_extra_skips_its_models_with_the_install_line(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "transformers" else real(name, *a))
    line = backend("hf").install_line()
    assert line is not None and "transformers" in line and "openvsclosed[local]" in line
    assert backend("fake").install_line() is None  # needs nothing beyond the project
    text = ("name: x\nmodels:\n  - {id: w, backend: hf, model_args: {pretrained: /nowhere}}\n"
            "  - {id: f, backend: fake}\ntasks: [arc_easy]\n")
    cfg = load_config(write(tmp_path, text))
    plan = plan_jobs(cfg, ResultStore(tmp_path / "r"), env={}, check_install=True)
    assert [(j.model.id, why) for j, why in plan.skipped] == [("w", line)]
    assert [j.model.id for j in plan.pending] == ["f"]
    with pytest.raises(FrozenInstanceError):
        plan.pending = ()  # the plan is frozen: nothing downstream edits it


def test_every_entry_is_served_by_a_registered_lm_eval_class():
    from openvsclosed.models.registry import lm_eval_model_class

    for name, entry in BACKENDS.items():
        if entry.install_line() is None:
            assert lm_eval_model_class(name) is not None, name
    assert isinstance(BACKENDS["openai"], Backend)


def test_batched_models_are_refused_on_ray_where_a_journal_could_be_lost(tmp_path):
    from openvsclosed.planchecks import check_batch_placement

    cfg = load_config(write(tmp_path, CONFIG.format(batch="true")))
    plan = plan_jobs(cfg, ResultStore(tmp_path / "r"), env={"OVC_TEST_KEY": "k"})
    check_batch_placement(plan.pending, "local")  # here the journal stays put
    with pytest.raises(ConfigError) as info:
        check_batch_placement(plan.pending, "ray")
    assert "gem, gpt have batch on" in str(info.value) and "claude" not in str(info.value)
