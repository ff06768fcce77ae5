"""Every shipped config validates and dry-runs with no keys and with each key set on its own.

A user's first contact is one of these files with whatever keys they happen to hold; none of
those combinations may be refused. Slow: lm-eval's task index (built once here) and datasets.
"""

import functools

import pytest
from typer.testing import CliRunner

from openvsclosed import tasks
from openvsclosed.cli import app
from openvsclosed.config import load_config
from tests.conftest import REPO

pytestmark = pytest.mark.slow
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def key_variables() -> list[str]:
    names = {m.api_key_env for path in CONFIGS for m in load_config(path).models
             if m.is_api and m.api_key_env}
    return sorted(names)


@pytest.fixture(scope="module")
def shared_index():
    """One task index per (mirror, include paths) for the whole module."""
    original = tasks.build_task_manager
    cached = functools.lru_cache(maxsize=8)(
        lambda data_dir, include, defaults: original(data_dir, list(include), defaults))
    tasks.build_task_manager = (lambda data_dir=None, include_path=None, include_defaults=True:
                                cached(data_dir, tuple(include_path or []), include_defaults))
    yield
    tasks.build_task_manager = original


def test_there_are_configs_to_walk():
    assert len(CONFIGS) >= 2 and any(p.name == "small.yaml" for p in CONFIGS)


@pytest.mark.parametrize("keys", [(), *((k,) for k in key_variables())],
                         ids=lambda k: "+".join(k) or "no-keys")
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_validates_and_dry_runs(config, keys, shared_index, shared_mirror, tmp_path,
                                       monkeypatch):
    for name in key_variables():
        monkeypatch.delenv(name, raising=False)
    for name in keys:
        monkeypatch.setenv(name, "sk-ovc-walk\n")
    monkeypatch.setenv("OVC_DATA_DIR", str(shared_mirror))
    runner = CliRunner()
    valid = runner.invoke(app, ["validate", str(config)], catch_exceptions=False)
    assert valid.exit_code == 0, valid.output
    dry = runner.invoke(app, ["run", str(config), "--dry-run", "--results-dir",
                              str(tmp_path / "r")], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    assert "to run" in text and "Traceback" not in text
    spec = load_config(config)
    holders = [m.id for m in spec.models if m.is_api and m.api_key_env in keys]
    if holders:
        assert "Estimated API spend" in text and all(h in text for h in holders)
    assert not (tmp_path / "r").exists()  # a dry run writes nothing


def test_an_unknown_metric_is_refused_before_any_evaluation(shared_index, tmp_path):
    config = tmp_path / "m.yaml"
    config.write_text("name: m\nmodels: [smollm2-135m-instruct, gpt-4o]\n"
                      "tasks: [{name: arc_easy, metric: acc_nrom}]\n")
    result = CliRunner().invoke(app, ["validate", str(config)], catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "metric 'acc_nrom'" in text and "acc_norm" in text
