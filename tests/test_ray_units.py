"""Ray-free pieces of the distributed path: resources, vLLM layout, config and CLI wiring."""

import pytest
import yaml
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.config import load_config
from openvsclosed.executors.ray_cluster import api_host, demand, provider_resource
from openvsclosed.models.vllm_engine import gpus_per_copy, vllm_engine_args
from tests.helpers import run_config


def spec_of(tmp_path, entry, **top):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"name": "c", "models": [entry], "tasks": ["arc_easy"],
                                    **top}))
    return load_config(path)


def test_catalog_gpus_reach_a_vllm_spec_with_its_weights(tmp_path):
    cfg = spec_of(tmp_path, {"catalog": "mixtral-8x7b-instruct", "backend": "vllm"},
                  executor="ray")
    [spec] = cfg.models
    assert cfg.executor == "ray" and cfg.retries == 1
    assert spec.backend == "vllm" and spec.num_gpus == 2
    assert spec.model_args == {"pretrained": "mistralai/Mixtral-8x7B-Instruct-v0.1"}
    args = vllm_engine_args(spec, data_parallel=1, loglikelihood=True)
    assert args == {"tensor_parallel_size": 2, "data_parallel_size": 1,
                    "enable_prefix_caching": False}


def test_replicas_become_data_parallel_locally_and_overrides_win(tmp_path):
    cfg = spec_of(tmp_path, {"catalog": "mistral-7b-instruct", "backend": "vllm",
                             "num_gpus": 4, "replicas": 2})
    [spec] = cfg.models
    assert vllm_engine_args(spec) == {"tensor_parallel_size": 4, "data_parallel_size": 2,
                                      "enable_prefix_caching": False}
    assert vllm_engine_args(spec, loglikelihood=False)["enable_prefix_caching"] is True


def test_gpu_defaults_by_backend(tmp_path):
    vllm = spec_of(tmp_path, {"id": "v", "backend": "vllm",
                              "model_args": {"pretrained": "x"}}).models[0]
    hf = spec_of(tmp_path, "smollm2-135m-instruct").models[0]
    assert gpus_per_copy(vllm) == 1 and gpus_per_copy(hf) == 0
    assert demand(hf) == {"CPU": 1.0, "GPU": 0.0}


def test_switching_to_an_api_backend_still_drops_local_settings(tmp_path):
    cfg = spec_of(tmp_path, {"catalog": "mixtral-8x7b-instruct", "backend": "openai-compatible",
                             "access": "open", "api_model": "m",
                             "base_url": "http://127.0.0.1:9/v1/chat/completions"})
    assert not hasattr(cfg.models[0], "num_gpus") and cfg.models[0].is_api


def test_api_models_hold_their_requests_of_their_providers_cap():
    closed = run_config().models[2]  # openai, default base URL
    assert api_host(closed) == "api.openai.com"
    assert demand(closed) == {"CPU": 1.0, "GPU": 0.0, "ovc-api:api.openai.com": 1.0}
    cfg = run_config(models=[{"id": "m", "backend": "openai-compatible", "access": "open",
                              "api_model": "x", "base_url": "http://10.0.0.5:8000/v1/chat/completions",
                              "num_concurrent": 8, "num_cpus": 0.25}])
    assert provider_resource(cfg.models[0]) == "ovc-api:10.0.0.5"
    assert demand(cfg.models[0])["ovc-api:10.0.0.5"] == 8 and demand(cfg.models[0])["CPU"] == 0.25


def test_load_model_gives_vllm_the_projects_settings(monkeypatch):
    from openvsclosed.models import load_model, registry

    seen = {}

    class Capture:
        @classmethod
        def create_from_arg_obj(cls, args, extra):
            seen.update(args)
            return cls()

    monkeypatch.setattr(registry, "lm_eval_model_class", lambda *a, **k: Capture)
    monkeypatch.setattr("openvsclosed.models._default_device", lambda: "cuda")
    cfg = run_config(models=[{"id": "v", "backend": "vllm", "num_gpus": 2,
                              "model_args": {"pretrained": "x", "enable_prefix_caching": True}}])
    load_model(cfg.models[0], data_parallel=1, loglikelihood=True)
    assert seen == {"pretrained": "x", "tensor_parallel_size": 2, "data_parallel_size": 1,
                    "enable_prefix_caching": False}


@pytest.mark.parametrize("bad", ["slurm", "Ray"])
def test_unknown_executor_is_a_usage_error(tmp_path, bad):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"name": "c", "models": [{"id": "f", "backend": "fake"}],
                                    "tasks": ["arc_easy"]}))
    result = CliRunner().invoke(app, ["run", str(path), "--executor", bad],
                                catch_exceptions=False)
    assert result.exit_code == 2 and "allowed: local, ray" in " ".join(result.output.split())


def test_config_rejects_unknown_executor(tmp_path):
    from openvsclosed.config import ConfigError

    with pytest.raises(ConfigError, match="executor"):
        spec_of(tmp_path, {"id": "f", "backend": "fake"}, executor="dask")


def test_dry_run_gpu_estimate_counts_the_tasks_tokens(toy_mirror):
    from openvsclosed.gpu_estimate import estimate_gpu_hours
    from openvsclosed.plan import plan_jobs
    from openvsclosed.store import ResultStore
    from openvsclosed.tasks import build_task_manager
    from tests.conftest import TOY_TASKS

    models = [{"id": "big", "backend": "fake", "num_gpus": 2, "params_b": 70},
              {"id": "cpu", "backend": "fake"},
              {"id": "unknown-size", "backend": "fake", "num_gpus": 1}]
    cfg = run_config(models=models, tasks=[{"name": "ovc_toy_mc"}, {"name": "ovc_toy_gen"},
                                           {"name": "ovc_toy_missing"}])
    plan = plan_jobs(cfg, ResultStore(toy_mirror / "nowhere"), env={})
    manager = build_task_manager(toy_mirror, [TOY_TASKS], include_defaults=False)
    rows = {r.model_id: r for r in estimate_gpu_hours(plan.pending, manager)}
    assert set(rows) == {"big", "unknown-size"}  # no GPUs, no GPU time
    big = rows["big"]
    assert big.gpus == 2 and big.prefill_tokens > 0 and big.decode_tokens > 0 and big.hours > 0
    assert rows["unknown-size"].hours is None
    assert big.uncounted and "ovc_toy_missing" in big.uncounted[0]  # reported, not raised


def test_an_address_nobody_answers_on_is_refused_in_seconds_not_minutes():
    import time

    from openvsclosed.executors.ray_cluster import RayUnavailable, check_reachable
    from tests.katan import free_port

    start = time.monotonic()
    with pytest.raises(RayUnavailable, match="nothing answers there"):
        check_reachable(f"127.0.0.1:{free_port()}")
    with pytest.raises(RayUnavailable, match="is not an address"):
        check_reachable("my-cluster")
    check_reachable("auto")  # Ray finds it itself
    assert time.monotonic() - start < 10
