"""The cached lm-eval task index: a warm cache answers without re-indexing; edits re-index."""

import pickle
import shutil

import pytest

from openvsclosed import taskindex
from openvsclosed.tasks import PACKAGE_TASKS, build_task_manager, output_types
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
    assert count_builds == [[PACKAGE_TASKS], [tasks]]  # each folder on its own
    assert len(list((tmp_path / "cache").glob("task-index-*.pickle"))) == 2

    warm = build_task_manager(toy_mirror, include_path=[tasks], include_defaults=False)
    assert len(count_builds) == 2  # no re-index
    assert warm.all_tasks == cold.all_tasks and warm.all_groups == cold.all_groups
    assert output_types(warm, "ovc_toy") == output_types(cold, "ovc_toy") == {"multiple_choice"}
    assert set(warm.load(["ovc_toy_gen"])["tasks"]) == {"ovc_toy_gen"}  # builds from its YAML
    entry = warm.task_index["ovc_toy_mc"]  # entries travel to other processes (Ray workers)
    assert pickle.loads(pickle.dumps(entry)).yaml_path == cold.task_index["ovc_toy_mc"].yaml_path

    (tasks / "ovc_toy_new.yaml").write_text("task: ovc_toy_new\ninclude: ovc_toy_mc.yaml\n")
    edited = build_task_manager(include_path=[tasks], include_defaults=False)
    assert count_builds[2:] == [[tasks]] and "ovc_toy_new" in edited.all_tasks  # that folder


def test_folders_cached_apart_merge_as_lm_evals_own_build(tmp_path, monkeypatch):
    """A later folder's task replaces an earlier one's of the same name, as in lm-eval."""
    from lm_eval.tasks._index import TaskIndex

    monkeypatch.setenv("OVC_CACHE_DIR", str(tmp_path / "cache"))
    first = shutil.copytree(TOY_TASKS, tmp_path / "first")
    second = tmp_path / "second"
    second.mkdir()
    (second / "ovc_toy_mc.yaml").write_text(
        (first / "ovc_toy_mc.yaml").read_text() + "\nmetadata:\n  version: 9\n")
    (second / "ovc_toy_extra.yaml").write_text("task: ovc_toy_extra\ninclude: "
                                               f"{first / 'ovc_toy_mc.yaml'}\n")
    folders = [PACKAGE_TASKS, first, second]
    expected = TaskIndex.build(folders)
    for _ in range(2):  # cold, then from the cache
        got = taskindex.task_index([str(p) for p in folders], include_defaults=False)
        assert list(got) == list(expected)
        assert {n: str(e.yaml_path) for n, e in got.items()} == {
            n: str(e.yaml_path) for n, e in expected.items()}
    assert str(got["ovc_toy_mc"].yaml_path).startswith(str(second))


def test_an_unreadable_cache_is_rebuilt(tmp_path, monkeypatch, count_builds):
    monkeypatch.setenv("OVC_CACHE_DIR", str(tmp_path / "cache"))
    build_task_manager(include_path=[TOY_TASKS], include_defaults=False)
    for cached in (tmp_path / "cache").glob("task-index-*.pickle"):
        cached.write_bytes(b"not a pickle")
    manager = build_task_manager(include_path=[TOY_TASKS], include_defaults=False)
    assert len(count_builds) == 4 and "ovc_toy_mc" in manager.all_tasks


# ---- what the index says about a task: one walk, one YAML reader, one list of formats

PANDAS_TASK = """task: ovc_toy_pickled
dataset_path: pandas
dataset_kwargs:
  data_files:
    test: questions.pkl
output_type: generate_until
test_split: test
doc_to_text: "{{question}}"
doc_to_target: "{{answer}}"
metric_list:
  - metric: exact_match
"""


def _tasks_with(tmp_path, **extra_yaml):
    tasks = shutil.copytree(TOY_TASKS, tmp_path / "tasks")
    for name, text in extra_yaml.items():
        (tasks / f"{name}.yaml").write_text(text)
    return tasks


def test_one_walk_answers_groups_tags_and_overridden_members(tmp_path):
    tasks = _tasks_with(tmp_path, ovc_toy_tagged=(
        "task: ovc_toy_tagged\ninclude: ovc_toy_gen.yaml\ntag: ovc_toy_tag\n"), ovc_toy_mixed=(
        "group: ovc_toy_mixed\ntask:\n  - ovc_toy_tag\n  - task: ovc_toy_mc\n"
        "    dataset_name: mc_b\n  - group: ovc_inner\n    task: [ovc_toy_mc_b]\n"))
    index = taskindex.task_index([str(tasks)], include_defaults=False)
    leaves = taskindex.leaf_configs(index, "ovc_toy_mixed")
    assert [name for name, _ in leaves] == ["ovc_toy_tagged", "ovc_toy_mc", "ovc_toy_mc_b"]
    assert leaves[1][1]["dataset_name"] == "mc_b"  # the group's override wins
    assert taskindex.output_types(index, "ovc_toy_mixed") == {"generate_until",
                                                               "multiple_choice"}
    assert taskindex.needs_loglikelihood(index, "ovc_toy") is True
    assert taskindex.needs_loglikelihood(index, "ovc_toy_tag") is False
    assert taskindex.needs_loglikelihood(index, "absent") is False
    manager = build_task_manager(include_path=[tasks], include_defaults=False)
    assert output_types(manager, "ovc_toy_mixed") == taskindex.output_types(index,
                                                                            "ovc_toy_mixed")
    from openvsclosed.datacheck import data_needs

    assert [n.task for n in data_needs(index, "ovc_toy_mixed")] == [n for n, _ in leaves]


def test_one_yaml_reader_keeps_function_tags_and_merges_includes(tmp_path):
    (tmp_path / "base.yaml").write_text("output_type: generate_until\ntask_list: [x]\n"
                                        "process_docs: !function utils.process\n")
    (tmp_path / "extra.yaml").write_text("test_split: dev\n")
    (tmp_path / "t.yaml").write_text("task: t\ninclude: [base.yaml, extra.yaml]\n"
                                     "test_split: test\n")
    (tmp_path / "loop.yaml").write_text("task: loop\ninclude: loop.yaml\n")
    cfg = taskindex.read_task_yaml(tmp_path / "t.yaml")
    assert cfg == {"output_type": "generate_until", "process_docs": "!function utils.process",
                   "test_split": "test", "task": "t"}
    assert taskindex.read_task_yaml(tmp_path / "t.yaml", includes=False)["include"] == [
        "base.yaml", "extra.yaml"]
    assert taskindex.read_task_yaml(tmp_path / "loop.yaml") == {"task": "loop"}
    assert taskindex.read_task_yaml(tmp_path / "absent.yaml") == {}


def test_a_pandas_task_is_refused_by_the_data_check_with_or_without_a_mirror(tmp_path,
                                                                            toy_mirror):
    from openvsclosed import datacheck
    from openvsclosed.tasks import mirror_config

    tasks = _tasks_with(tmp_path, ovc_toy_pickled=PANDAS_TASK)
    index = taskindex.task_index([str(tasks)], include_defaults=False)
    for mirror, others in ((toy_mirror, ["ovc_toy_mc"]), (None, [])):  # offline: hub-less
        problems = datacheck.check_data(["ovc_toy_pickled", *others], index, mirror,
                                        probe=lambda: True)
        assert [(n.task, n.dataset, why) for n, why in problems] == [
            ("ovc_toy_pickled", "pandas", "format")]
        message = datacheck.reachability_message(problems, mirror)
        assert "ovc_toy_pickled" in message and "parquet" in message
        assert "--data-dir" not in message  # no mirror helps a refused format
    cfg = index["ovc_toy_pickled"].cfg  # the run's reader agrees it is no hub dataset
    assert mirror_config(dict(cfg), toy_mirror) == cfg
    assert taskindex.hub_dataset(cfg) is None and taskindex.refused_format(cfg) == "pandas"


def test_local_formats_cover_what_own_task_files_are_written_as():
    from openvsclosed.ownfile import FORMATS

    assert set(FORMATS.values()) <= taskindex.LOCAL_FORMATS
    assert not set(taskindex.REFUSED_FORMATS) & taskindex.LOCAL_FORMATS


def test_include_paths_are_one_list_from_every_entry_point(tmp_path, monkeypatch, count_builds):
    from openvsclosed.config import RunConfig
    from openvsclosed.indexcache import index_key
    from openvsclosed.owntaskfiles import own_tasks_folder, task_include_paths
    from openvsclosed.tasks import PACKAGE_TASKS, include_paths

    monkeypatch.setenv("OVC_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "own.jsonl"
    data.write_text('{"question": "Made-up: 2+2?", "answer": "4"}\n')
    cfg = RunConfig.model_validate({
        "name": "paths", "results_dir": str(tmp_path / "results"),
        "task_paths": [str(TOY_TASKS)], "models": [{"id": "fake-a", "backend": "fake"}],
        "tasks": [{"name": "own_sums", "file": str(data), "kind": "numeric"}]})
    own_dir = own_tasks_folder(tmp_path / "results")
    paths = include_paths(cfg, own_tasks_dir=own_dir)
    assert paths[:2] == [PACKAGE_TASKS, TOY_TASKS] and paths[2].parent == own_dir
    assert (paths[2] / "own_sums.yaml").is_file() and (paths[2] / "own_sums_chat.yaml").is_file()
    written = {p.name: p.stat().st_mtime_ns for p in paths[2].iterdir()}
    spelled = [  # how the data check, the run's manager and a Ray worker have listed them
        [str(PACKAGE_TASKS), *map(str, task_include_paths(cfg, own_tasks_dir=own_dir))],
        [PACKAGE_TASKS, *include_paths(cfg, own_tasks_dir=own_dir)],
        include_paths(cfg, "again", own_dir),
    ]
    assert {p.name: p.stat().st_mtime_ns for p in paths[2].iterdir()} == written  # unchanged
    assert len({index_key(p) for p in [paths, *spelled]}) == 1
    first = build_task_manager(include_path=paths)
    second = build_task_manager(include_path=task_include_paths(cfg, own_tasks_dir=own_dir))
    assert len(count_builds) == 4 and "own_sums_chat" in second.all_tasks
    assert first.all_tasks == second.all_tasks
    index = taskindex.task_index(spelled[0])
    assert len(count_builds) == 4 and "own_sums" in index


def test_missing_task_folders_are_named_by_the_one_include_paths(tmp_path):
    from openvsclosed.config import ConfigError, RunConfig
    from openvsclosed.tasks import include_paths

    cfg = RunConfig.model_validate({
        "name": "paths", "task_paths": [str(tmp_path / "nowhere")],
        "models": [{"id": "fake-a", "backend": "fake"}], "tasks": [{"name": "ovc_toy"}]})
    with pytest.raises(ConfigError, match=r"task_paths\[0\].*nowhere"):
        include_paths(cfg, "my.yaml")
