"""YAML run configs -> a validated, frozen `RunConfig`, or one readable `ConfigError`.

The specs a config holds live in `specs` (their field docstrings are the config reference);
bounded YAML reading in `yamlread`. Both are re-exported here, the names callers know.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from openvsclosed.backends import API as API_BACKENDS
from openvsclosed.backends import LOCAL as LOCAL_BACKENDS
from openvsclosed.backends import backend as backend_entry
from openvsclosed.catalog import load_catalog
from openvsclosed.specs import (
    SLUG,
    ApiModelSpec,
    Defaults,
    LocalModelSpec,
    ModelSpec,
    OwnColumns,
    ProtocolChoice,
    TaskSpec,
    _Spec,
)
from openvsclosed.yamlread import brief as _brief
from openvsclosed.yamlread import parse_bounded as _parse_bounded
from openvsclosed.yamlread import read_bounded as _read_bounded

__all__ = ["ApiModelSpec", "ConfigError", "Defaults", "LocalModelSpec", "ModelSpec",
           "OwnColumns", "RunConfig", "TaskSpec", "load_config", "suggest"]


class ConfigError(Exception):
    """A config problem, worded for the person who wrote the file (exit code 2)."""


class RunConfig(_Spec):
    """A whole run: which models on which tasks, and where results go."""

    name: str = Field(pattern=SLUG)
    results_dir: Path | None = None
    """Where results are stored (relative to the current directory); default results/<name>."""
    data_dir: Path | None = None
    """A local dataset mirror (layout of shared/benchmarks/README.md); None loads from the hub."""
    task_paths: list[Path] = Field(default_factory=list)
    """Extra folders of lm-eval task YAMLs (like `lm_eval --include_path`), relative to the cwd."""
    protocol: ProtocolChoice = "native"
    """`native`: each model its own best way (open weights by log-likelihood where the task
    uses it, chat APIs on the task's generative chat variant); `chat`: every model, open ones
    through their chat template, on the generative variants; `both`: open models run both
    ways, so a like-with-like chat gap exists beside each model's best-way score."""
    executor: Literal["local", "ray"] = "local"
    """`local`: models one after another in this process; `ray`: one actor per model copy on a
    Ray cluster (`--ray-address` / RAY_ADDRESS, else a local Ray), results written here."""
    retries: int = Field(default=1, ge=0, le=100)
    """`--executor ray`: times a job is retried when its worker dies under it (a job that
    raises is never retried: it would fail the same way)."""
    max_cost_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """No API request is sent that would take the run past this many dollars."""
    batch: bool = False
    """Every API model whose backend has a provider batch protocol sends its requests as
    batches (a model's own `batch:` wins); models whose backend has none stay live."""
    defaults: Defaults = Field(default_factory=Defaults)
    models: list[ModelSpec] = Field(min_length=1)
    tasks: list[TaskSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> RunConfig:
        if self.results_dir is not None and str(self.results_dir).strip() in ("", "."):
            raise ValueError("results_dir: an empty path would write into the current folder; "
                             "allowed: a folder path, or leave it out for results/<name>")
        for what, names in (("models", [m.id for m in self.models]),
                            ("tasks", [t.name for t in self.tasks])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {what}: {', '.join(dupes)}; each may appear once")
        return self

    @property
    def results_path(self) -> Path:
        """The results directory, defaulted from the name."""
        return self.results_dir or Path("results") / self.name


def load_config(path: Path) -> RunConfig:
    """Read and validate a config file; every problem becomes one `ConfigError` paragraph."""
    try:
        raw = _parse_bounded(_read_bounded(Path(path)))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc}).") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); allowed: a YAML file "
                          "saved as UTF-8.") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply; allowed: the keys of a run config "
                          "(see README).") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: invalid YAML{at}: {problem}.") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping with keys {', '.join(_keys(RunConfig))}; "
            f"got {type(raw).__name__}."
        )
    data = dict(raw)
    if isinstance(data.get("models"), list):
        data["models"] = [_expand_model(path, i, m) for i, m in enumerate(data["models"])]
        if data.get("batch") is True:  # the config's default reaches every model that can batch
            data["models"] = [_batch_default(m) for m in data["models"]]
    if isinstance(data.get("tasks"), list):
        data["tasks"] = [{"name": t} if isinstance(t, str) else t for t in data["tasks"]]
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply; allowed: the keys of a run config "
                          "(see README).") from None


def _expand_model(path: Path, index: int, entry: Any) -> Any:
    """A catalog id, or a mapping with `catalog:` plus overrides, becomes a full spec mapping."""
    catalog = load_catalog()
    if isinstance(entry, str):
        catalog_id, overrides = entry, {}
        key = f"models[{index}]"
    elif isinstance(entry, dict) and "catalog" in entry:
        overrides = {k: v for k, v in entry.items() if k not in ("catalog", "provider")}
        catalog_id, key = entry["catalog"], f"models[{index}].catalog"
    else:
        return entry
    if not isinstance(catalog_id, str) or catalog_id not in catalog:
        close = difflib.get_close_matches(str(catalog_id)[:100], catalog, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"{path}: {key}: unknown catalog id {_brief(catalog_id)}.{hint} Allowed: a catalog id "
            "(`openvsclosed models` lists them) or a full spec with `id` and `backend`."
        )
    provider = entry.get("provider") if isinstance(entry, dict) else None
    known = catalog[catalog_id].providers
    if provider is not None and (not isinstance(provider, str) or provider not in known):
        raise ConfigError(
            f"{path}: models[{index}].provider: {catalog_id!r} has no provider {_brief(provider)}. "
            f"Allowed: {', '.join(known) or 'none (this model has no hosted provider listed)'}."
        )
    spec = catalog[catalog_id].spec_fields(provider)
    if isinstance(overrides.get("model_args"), dict) and "model_args" in spec:
        overrides["model_args"] = {**spec["model_args"], **overrides["model_args"]}
    if "backend" in overrides and overrides["backend"] != spec["backend"] and \
            {overrides["backend"], spec["backend"]} != {"hf", "vllm"}:  # same weights either way
        for reach in ("model_args", "api_model", "api_key_env", "base_url", "num_gpus"):
            if reach not in overrides:
                spec.pop(reach, None)
    return {**spec, **overrides}


def _batch_default(model: Any) -> Any:
    """A model mapping given `batch: true` when its backend batches and it says nothing."""
    name = model.get("backend") if isinstance(model, dict) else None
    if name in API_BACKENDS and "batch" not in model and backend_entry(name).batch:
        return {**model, "batch": True}
    return model


def describe_validation_error(path: Path, exc: ValidationError) -> str:
    """One paragraph: each problem with its key path and what is allowed there."""
    parts = []
    for err in exc.errors():
        key, model = _key_path(err["loc"])
        if err["type"].startswith("union_tag"):
            key += ".backend"
        parts.append(f"{key or '(top level)'}: {_explain(err, model)}")
    return f"{path}: " + "; ".join(parts) + "."


def _key_path(loc: tuple[Any, ...]) -> tuple[str, type[BaseModel] | None]:
    """Render pydantic's location as YAML keys, dropping the union tag it inserts for models."""
    text, model = "", RunConfig
    items = list(loc)
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, int):
            text += f"[{item}]"
            if text.startswith("models") and i + 1 < len(items):
                tag = items[i + 1]
                if tag in LOCAL_BACKENDS or tag in API_BACKENDS:
                    model = LocalModelSpec if tag in LOCAL_BACKENDS else ApiModelSpec
                    i += 1
        else:
            text += f".{item}" if text else str(item)
            model = _submodel(model, item)
        i += 1
    return text, model


def _submodel(model: type[BaseModel] | None, field: str) -> type[BaseModel] | None:
    """The pydantic model a field holds (for listing its allowed keys), if any."""
    if model is None or field not in model.model_fields:
        return model
    target = {"defaults": Defaults, "tasks": TaskSpec}.get(field)
    return target if model is RunConfig else model


def _explain(err: dict[str, Any], model: type[BaseModel] | None) -> str:
    kind, given = err["type"], err.get("input")
    if kind == "extra_forbidden":
        allowed = _keys(model) if model is not None else []
        return f"unknown key; allowed keys here: {', '.join(allowed)}"
    if kind == "union_tag_invalid":
        return (f"unknown backend {err['ctx']['tag']!r}; allowed: "
                f"{', '.join(LOCAL_BACKENDS + API_BACKENDS)}")
    if kind == "union_tag_not_found":
        return ("a model needs `backend` (one of "
                f"{', '.join(LOCAL_BACKENDS + API_BACKENDS)}) or a `catalog` id")
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch" and err["loc"][-1] in ("id", "name"):
        return (f"{_brief(given)} is not a slug; allowed: lowercase letters, digits, '.', '_', "
                "'-'")
    if kind == "string_pattern_mismatch" and err["loc"][-1] == "base_url":
        return f"{_brief(given)} is not an http(s) URL; allowed: e.g. https://host/v1/chat/completions"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{msg} (got {_brief(given)})" if given is not None and kind != "value_error" else msg


def _keys(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model is not None else []


def suggest(name: str, known: list[str] | set[str]) -> str:
    """A 'Did you mean' hint for a misspelt name, or an empty string."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.7)
    return f" Did you mean {', '.join(close)}?" if close else ""
