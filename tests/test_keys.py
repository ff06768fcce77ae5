from openvsclosed.runner import make_job
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
