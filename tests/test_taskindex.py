"""The cached lm-eval task index: a warm cache answers without re-indexing; edits re-index."""

import pickle
import shutil

import pytest

from openvsclosed import taskindex
from openvsclosed.tasks import build_task_manager, output_types
from tests.conftest import TOY_TASKS


@pytest.fixture
def count_builds(monkeypatch):
    """How many times lm-eval walks the task folders."""
    from lm_eval.tasks._index import TaskIndex

    calls = []
    original = TaskIndex.build

    def counting(paths, **kwargs):
        calls.append(list(paths))
        return original(paths, **kwargs)

    monkeypatch.setattr(TaskIndex, "build", staticmethod(counting))
    return calls


def test_cache_lives_under_ovc_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OVC_CACHE_DIR", str(tmp_path / "c"))
    assert taskindex.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("OVC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert taskindex.cache_dir() == tmp_path / "xdg" / "openvsclosed"


def test_warm_cache_does_not_reindex_and_an_edit_does(tmp_path, monkeypatch, count_builds,
                                                     toy_mirror):
    monkeypatch.setenv("OVC_CACHE_DIR", str(tmp_path / "cache"))
    tasks = shutil.copytree(TOY_TASKS, tmp_path / "tasks")
    cold = build_task_manager(include_path=[tasks], include_defaults=False)
    assert len(count_builds) == 1 and list((tmp_path / "cache").glob("task-index-*.pickle"))

    warm = build_task_manager(toy_mirror, include_path=[tasks], include_defaults=False)
    assert len(count_builds) == 1  # no re-index
    assert warm.all_tasks == cold.all_tasks and warm.all_groups == cold.all_groups
    assert output_types(warm, "ovc_toy") == output_types(cold, "ovc_toy") == {"multiple_choice"}
    assert set(warm.load(["ovc_toy_gen"])["tasks"]) == {"ovc_toy_gen"}  # builds from its YAML
    entry = warm.task_index["ovc_toy_mc"]  # entries travel to other processes (Ray workers)
    assert pickle.loads(pickle.dumps(entry)).yaml_path == cold.task_index["ovc_toy_mc"].yaml_path

    (tasks / "ovc_toy_new.yaml").write_text("task: ovc_toy_new\ninclude: ovc_toy_mc.yaml\n")
    edited = build_task_manager(include_path=[tasks], include_defaults=False)
    assert len(count_builds) == 2 and "ovc_toy_new" in edited.all_tasks


def test_an_unreadable_cache_is_rebuilt(tmp_path, monkeypatch, count_builds):
    monkeypatch.setenv("OVC_CACHE_DIR", str(tmp_path / "cache"))
    build_task_manager(include_path=[TOY_TASKS], include_defaults=False)
    for cached in (tmp_path / "cache").glob("task-index-*.pickle"):
        cached.write_bytes(b"not a pickle")
    manager = build_task_manager(include_path=[TOY_TASKS], include_defaults=False)
    assert len(count_builds) == 2 and "ovc_toy_mc" in manager.all_tasks
