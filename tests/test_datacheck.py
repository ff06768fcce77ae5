"""Fail fast: a run whose data cannot be read exits 2 before any model loads, naming the fix."""

import json

import pytest
from typer.testing import CliRunner

from openvsclosed import datacheck
from openvsclosed.cli import app
from openvsclosed.taskindex import task_index
from openvsclosed.tasks import PACKAGE_TASKS
from tests.conftest import TOY_TASKS


def _config(tmp_path, data_dir, tasks=("ovc_toy", "ovc_toy_gen")):
    path = tmp_path / "toy.yaml"
    path.write_text(json.dumps({
        "name": "toy", "results_dir": str(tmp_path / "results"), "task_paths": [str(TOY_TASKS)],
        **({"data_dir": str(data_dir)} if data_dir else {}),
        "models": [{"id": "fake-open", "backend": "fake"}], "tasks": list(tasks)}))
    return path


@pytest.fixture
def no_model_loads(monkeypatch):
    """Any model load fails the test: the check must come first."""
    import openvsclosed.models

    def refuse(*_args, **_kwargs):
        raise AssertionError("a model was loaded before the data check")

    monkeypatch.setattr(openvsclosed.models, "load_model", refuse)


def test_a_mirror_without_the_dataset_exits_2_before_any_model_loads(tmp_path, no_model_loads):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    result = CliRunner().invoke(app, ["run", str(_config(tmp_path, empty))],
                                catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "no model was loaded" in text and "ovc-fixtures__toy (mc, mc_b, gen;" in text
    for fix in ("--data-dir", "OVC_DATA_DIR", "to_parquet"):
        assert fix in text
    assert "Traceback" not in result.output
    assert not (tmp_path / "results" / "records").exists()


def test_offline_without_a_mirror_or_a_cached_copy_exits_2(tmp_path, no_model_loads):
    result = CliRunner().invoke(app, ["run", str(_config(tmp_path, None))],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert "Offline mode is on" in " ".join(result.output.split())


def test_dry_run_shows_unreachable_jobs_as_skipped_without_a_traceback(tmp_path):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    result = CliRunner().invoke(app, ["run", str(_config(tmp_path, empty)), "--dry-run"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "data not reachable" in result.output and "Traceback" not in result.output


def test_the_mirror_holding_the_data_passes(toy_mirror):
    index = task_index([str(PACKAGE_TASKS), str(TOY_TASKS)], include_defaults=False)
    assert datacheck.check_data(["ovc_toy", "ovc_toy_gen"], index, toy_mirror) == []
    needs = datacheck.data_needs(index, "ovc_toy")  # a group: its members' datasets
    assert {(n.dataset, n.config) for n in needs} == {("ovc-fixtures/toy", "mc"),
                                                      ("ovc-fixtures/toy", "mc_b")}


def test_the_hub_is_probed_once_and_a_cached_copy_counts(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "ds"))
    (tmp_path / "ds" / "owner___cached").mkdir(parents=True)
    needs = [datacheck.DataNeed("a", "owner/x", None), datacheck.DataNeed("b", "owner/y", "c"),
             datacheck.DataNeed("c", "owner/cached", None)]
    probes = []
    found = datacheck.unreachable(needs, None, probe=lambda: probes.append(1) or False)
    assert [n.task for n, _ in found] == ["a", "b"] and len(probes) == 1
    assert datacheck.unreachable(needs, None, probe=lambda: True) == []


def test_dry_run_names_a_split_the_mirror_lacks_instead_of_failing(tmp_path, toy_mirror):
    config = _config(tmp_path, toy_mirror, tasks=("ovc_toy_mc", "ovc_toy_missing"))
    result = CliRunner().invoke(app, ["run", str(config), "--dry-run"], catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "would fail" in text and "validation.parquet" in text
    assert "Traceback" not in result.output


def test_an_environment_mirror_overriding_the_configs_is_named(tmp_path, monkeypatch,
                                                               no_model_loads):
    configured, exported = tmp_path / "configured", tmp_path / "exported"
    configured.mkdir()
    exported.mkdir()
    monkeypatch.setenv("OVC_DATA_DIR", str(exported))
    result = CliRunner().invoke(app, ["run", str(_config(tmp_path, configured))],
                                catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2
    assert f"OVC_DATA_DIR ({exported}) overrides the config's data_dir ({configured})" in text


def test_a_pandas_task_exits_2_naming_the_format_and_a_dry_run_skips_it(tmp_path, toy_mirror,
                                                                        no_model_loads):
    import shutil

    from tests.test_taskindex import PANDAS_TASK

    tasks = shutil.copytree(TOY_TASKS, tmp_path / "tasks")
    (tasks / "ovc_toy_pickled.yaml").write_text(PANDAS_TASK)
    config = _config(tmp_path, toy_mirror, tasks=("ovc_toy_pickled",))
    config.write_text(config.read_text().replace(json.dumps(str(TOY_TASKS)),
                                                 json.dumps(str(tasks))))
    result = CliRunner().invoke(app, ["run", str(config)], catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "pandas (for ovc_toy_pickled" in text and "parquet" in text
    assert "Traceback" not in result.output
    dry = CliRunner().invoke(app, ["run", str(config), "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0 and "file format refused" in dry.output, dry.output
