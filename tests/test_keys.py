from openvsclosed.jobs import make_job
from tests.helpers import run_config


def key_of(cfg, model_index=0, task_index=0, limit=None, version="0.4.13"):
    return make_job(cfg.models[model_index], cfg.tasks[task_index], cfg, limit, version).key


def test_key_is_stable_across_calls():
    assert key_of(run_config()) == key_of(run_config())


def test_key_ignores_labels_batch_size_and_device():
    base = run_config()
    models = [m.model_dump() for m in base.models]
    models[0].update(label="Another label", batch_size=32, device="cuda:1")
    models[0]["model_args"] = {**models[0]["model_args"], "batch_size": 8, "device": "cpu"}
    assert key_of(run_config(models=models)) == key_of(base)


def test_key_changes_with_everything_that_changes_output():
    base = key_of(run_config())
    models = [m.model_dump() for m in run_config().models]
    models[0]["model_args"] = {"seed": 99}
    variants = [
        key_of(run_config(models=models)),
        key_of(run_config(defaults={"num_fewshot": 5, "limit": 4})),
        key_of(run_config(defaults={"num_fewshot": 0, "limit": 8})),
        key_of(run_config(defaults={"num_fewshot": 0, "limit": 4, "seed": 3})),
        key_of(run_config(), task_index=1),
        key_of(run_config(), limit=2),
        key_of(run_config(), version="0.4.14"),
    ]
    assert base not in variants and len(set(variants)) == len(variants)


def test_task_settings_override_defaults():
    cfg = run_config(tasks=[{"name": "ovc_toy_mc", "num_fewshot": 3, "limit": 2}])
    job = make_job(cfg.models[0], cfg.tasks[0], cfg, None, "0.4.13")
    assert (job.key_fields.num_fewshot, job.key_fields.limit) == (3, 2)
    assert make_job(cfg.models[0], cfg.tasks[0], cfg, 7, "0.4.13").key_fields.limit == 7


def test_key_recomputed_from_fields_matches():
    cfg = run_config()
    job = make_job(cfg.models[1], cfg.tasks[1], cfg, None, "0.4.13")
    assert job.key_fields.model_validate_json(job.key_fields.model_dump_json()).key() == job.key


def _all_keys(cfg):
    from openvsclosed.jobs import all_jobs

    return {(j.model.id, j.task.name, j.protocol): j.key for j in all_jobs(cfg)}


def test_key_follows_the_task_definition_files(tmp_path):
    """Editing a task YAML, a file it includes or the Python it calls re-runs the task."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "_base_yaml").write_text("output_type: generate_until\nmetric_list: []\n")
    (tasks / "mine.yaml").write_text(
        "include: _base_yaml\ntask: my_task\ndataset_path: json\n"
        "filter_list:\n  - name: x\n    filter:\n      - function: custom\n"
        "        filter_fn: !function helpers.pick\n")
    (tasks / "helpers.py").write_text("def pick(resps, docs):\n    return resps\n")
    cfg = run_config(task_paths=[str(tasks)], tasks=[{"name": "my_task"}])
    keys = [_all_keys(cfg)]
    for name, text in (("mine.yaml", "\n# edited"), ("_base_yaml", "\n# edited"),
                       ("helpers.py", "\n# edited")):
        with (tasks / name).open("a") as fh:
            fh.write(text)
        keys.append(_all_keys(cfg))
    firsts = [k[("open-a", "my_task", "native")] for k in keys]
    assert len(set(firsts)) == 4
    assert make_job(cfg.models[0], cfg.tasks[0], cfg, None, "0.4.13").key_fields.task_hash \
        is None  # without the hashes, the job names no definition (lm-eval's own tasks)


def test_key_follows_our_chat_variant_and_its_filter_code():
    from openvsclosed.taskhash import task_definition_hash
    from openvsclosed.taskindex import PACKAGE_TASKS, task_files

    defined = task_files([PACKAGE_TASKS])
    assert task_definition_hash("ovc_arc_easy_chat", defined)
    assert task_definition_hash("arc_easy", defined) is None  # lm-eval's: pinned by version
    files = {p.name for p in defined["ovc_arc_easy_chat"]}
    assert files == {"ovc_arc_easy_chat.yaml"}
    # the hash reads the include and the filter's module too
    import hashlib

    seen = []
    original = hashlib.sha256

    class Spy:
        def __init__(self):
            self.inner = original()

        def update(self, data):
            seen.append(data.split(b"\0", 1)[0])
            self.inner.update(data)

        def hexdigest(self):
            return self.inner.hexdigest()

    hashlib.sha256 = Spy
    try:
        task_definition_hash("ovc_arc_easy_chat", defined)
    finally:
        hashlib.sha256 = original
    assert {b"ovc_arc_easy_chat.yaml", b"_ovc_chat_mc_yaml", b"utils.py"} <= set(seen)


def test_key_follows_protocol_and_generation_settings():
    both = run_config(protocol="both")
    keys = _all_keys(both)
    assert keys[("open-a", "ovc_toy", "native")] != keys[("open-a", "ovc_toy", "chat")]
    assert ("closed-c", "ovc_toy", "native") not in keys  # a chat API runs by chat only
    native = _all_keys(run_config())
    assert native[("closed-c", "ovc_toy", "chat")] == keys[("closed-c", "ovc_toy", "chat")]
    models = [m.model_dump() for m in run_config().models]
    models[2].update(wire="openai-reasoning")
    reasoning = _all_keys(run_config(models=models))
    models[2].update(reasoning_effort="high")
    harder = _all_keys(run_config(models=models))
    trio = {native[("closed-c", "ovc_toy", "chat")], reasoning[("closed-c", "ovc_toy", "chat")],
            harder[("closed-c", "ovc_toy", "chat")]}
    assert len(trio) == 3


def test_every_file_of_a_list_include_is_in_the_task_hash(tmp_path):
    from openvsclosed.taskhash import task_definition_hash
    from openvsclosed.taskindex import task_files

    (tmp_path / "_base_a").write_text("output_type: generate_until\n")
    (tmp_path / "_base_b").write_text("doc_to_text: '{{question}}'\n")
    (tmp_path / "my_task.yaml").write_text("include: [_base_a, _base_b]\ntask: my_task\n")
    before = task_definition_hash("my_task", task_files([tmp_path]))
    (tmp_path / "_base_b").write_text("doc_to_text: 'Q: {{question}}'\n")  # the second include
    assert task_definition_hash("my_task", task_files([tmp_path])) != before
