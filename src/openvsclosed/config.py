"""YAML run configs -> a validated, frozen `RunConfig`, or one readable `ConfigError`.

The field docstrings below are the config reference (README links here).
"""

from __future__ import annotations

import difflib
import re
import reprlib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from openvsclosed.catalog import API_BACKENDS, LOCAL_BACKENDS, load_catalog, load_wire_profiles
from openvsclosed.schema import Access

ProtocolChoice = Literal["native", "chat", "both"]
"""`native`: each model its own best way; `chat`: everyone through the chat protocol; `both`:
open models both ways, so a chat-vs-chat gap sits beside each model's best-way score."""

SLUG = r"^[a-z0-9][a-z0-9._-]*$"
DEFAULT_SEED = (0, 1234, 1234, 1234)
"""lm-eval's own defaults (python, numpy, torch, few-shot), so a plain `lm_eval` run matches."""


class ConfigError(Exception):
    """A config problem, worded for the person who wrote the file (exit code 2)."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


Shots = Annotated[StrictInt, Field(ge=0, le=10_000)]
Limit = Annotated[StrictInt | StrictFloat, Field(gt=0, allow_inf_nan=False)]
"""A count of documents, or a fraction below 1: never a bool, infinity or NaN."""
Seed = Annotated[StrictInt, Field(ge=0, le=2**32 - 1)]
"""numpy takes seeds in 0..2^32-1; outside it lm-eval fails only once evaluation starts."""


class Defaults(_Spec):
    """Values every task inherits unless it sets its own."""

    num_fewshot: Shots | None = None
    """Few-shot examples; None keeps each task's own default."""
    limit: Limit | None = None
    """Documents per task (per subtask for groups); below 1 a fraction. None: all of them."""
    seed: Seed | tuple[Seed, Seed, Seed, Seed] = DEFAULT_SEED
    """One int for all four of lm-eval's seeds, or [python, numpy, torch, fewshot]."""

    @property
    def seeds(self) -> tuple[int, int, int, int]:
        """The four seeds lm-eval takes."""
        return (self.seed,) * 4 if isinstance(self.seed, int) else tuple(self.seed)


class _ModelSpecBase(_Spec):
    id: str = Field(pattern=SLUG)
    """Slug naming this model in results and reports (also its results folder)."""
    label: str | None = None
    """Display name; defaults to the id."""
    organization: str | None = None
    released: date | None = None
    params_b: float | None = None
    """Parameters in billions, where public."""
    num_cpus: float | None = Field(default=None, ge=0)
    """`--executor ray`: CPUs one copy of this model holds (default 1); not part of a result's
    identity."""
    replicas: int = Field(default=1, ge=1, le=1024)
    """Copies of the model that share its jobs: Ray actors under `--executor ray`, vLLM's
    data_parallel_size under the local executor. Not part of a result's identity."""

    @property
    def display(self) -> str:
        """The name reports show."""
        return self.label or self.id


class LocalModelSpec(_ModelSpecBase):
    """Weights run on this machine through lm-eval (`hf`, `vllm`) or the built-in fake model."""

    backend: Literal["hf", "vllm", "fake"]
    access: Access = "open"
    model_args: dict[str, Any] = Field(default_factory=dict)
    """lm-eval model_args; `{pkg:NAME}` is replaced by an installed package's folder."""

    @field_validator("model_args")
    @classmethod
    def _seed_in_range(cls, args: dict[str, Any]) -> dict[str, Any]:
        """A `seed` in model_args (vLLM, the fake model) fails only mid-run when out of range."""
        seed = args.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or not 0 <= seed <= 2**32 - 1):
            raise ValueError(f"model_args.seed {seed!r}: allowed: an integer 0..4294967295")
        return args

    batch_size: int | str = 1
    """lm-eval batch size (an int or "auto"); not part of a result's identity."""
    device: str | None = None
    """"cpu", "cuda", "cuda:1"...; None lets lm-eval choose."""
    num_gpus: float | None = Field(default=None, ge=0)
    """GPUs one copy of the model needs (vLLM's tensor_parallel_size; what a Ray actor
    reserves); default: the catalog's, else 1 for `vllm` and 0 otherwise."""
    fast_scoring: bool = True
    """`hf` only: log-likelihood tasks scored by our prefix-sharing scorer (each context and
    shared few-shot prefix computed once; lm-eval's answers, faster). False: plain lm-eval `hf`.
    Not part of a result's identity; each result records its `scorer`."""
    fast_generation: bool = True
    """`hf` only: greedy generation (chat variants, GSM8K) batched by `models/fast_gen.py`:
    many prompts per forward, a KV cache, per-sequence stop strings; the completions of
    lm-eval's batch-1 loop. False: lm-eval's own `hf` loop. Not part of a result's identity."""

    is_api: ClassVar[bool] = False
    """Chat APIs give no log-likelihoods; local weights give both."""

    @property
    def openness(self) -> Access:
        """Open or closed, as declared (local weights are open unless said otherwise)."""
        return self.access


class ApiModelSpec(_ModelSpecBase):
    """A model reached over a provider's HTTP API; the key comes from `api_key_env`."""

    backend: Literal["openai", "anthropic", "gemini", "openai-compatible"]
    access: Access | None = None
    """Required for `openai-compatible` (a local server of an open model is open)."""
    api_model: str
    """The provider's model name, e.g. gpt-4o-2024-08-06."""
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the environment variable holding the key (never the key itself)."""
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s]*)?$")
    """Full endpoint URL (…/v1/chat/completions, …/v1/messages); default: the provider's."""

    @field_validator("base_url")
    @classmethod
    def _one_reading(cls, url: str | None) -> str | None:
        """A URL that two parsers read as two hosts (userinfo, backslashes) is refused here."""
        if url is not None:
            from openvsclosed.models.egress import EgressRefused, parse_endpoint

            try:
                parse_endpoint(url)
            except EgressRefused as exc:
                raise ValueError(str(exc)) from None
        return url
    num_concurrent: int = Field(default=1, ge=1)
    """Requests in flight at once."""
    requests_per_minute: float | None = Field(default=None, gt=0)
    input_per_m: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Dollars per million input tokens (from the catalog's dated price); finite, since an
    infinite price would turn the budget ledger into Infinity and lose every later record."""
    output_per_m: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    timeout_s: int = Field(default=120, ge=1)
    attempts: int = Field(default=6, ge=1)
    """Tries per request on 429, 5xx, timeouts and connection errors."""
    backoff_s: float = Field(default=1.0, ge=0)
    """First retry wait (doubles each try, with jitter) unless the server sends Retry-After."""
    max_backoff_s: float = Field(default=60.0, ge=0)
    provider: str | None = None
    """The hosted provider (from the catalog's `providers`) serving this model, if any."""
    wire: str | None = None
    """Wire profile (data/wire_profiles.yaml): what the API accepts (token-limit field,
    temperature, stop, reasoning); default: the backend's plain chat profile."""
    reasoning_effort: str | None = None
    """OpenAI-style `reasoning_effort` (low, medium, high...); default: the profile's."""
    thinking_budget: int | None = Field(default=None, ge=0)
    """Thinking tokens (Anthropic extended thinking, Gemini thinking); 0 turns thinking off."""
    max_output_tokens: int | None = Field(default=None, ge=1)
    """Output tokens per request, reasoning included; default: the profile's, else the task's."""

    @model_validator(mode="after")
    def _access_declared(self) -> ApiModelSpec:
        if self.wire is not None and self.wire not in load_wire_profiles():
            raise ValueError(f"unknown wire profile {self.wire!r}; allowed: "
                             f"{', '.join(load_wire_profiles())}")
        if self.backend == "openai-compatible":
            if self.access is None:
                raise ValueError("`access` (open or closed) is required for openai-compatible")
            if not self.base_url:
                raise ValueError("`base_url` is required for openai-compatible")
        return self

    is_api: ClassVar[bool] = True

    @property
    def openness(self) -> Access:
        """Declared access, closed unless said otherwise."""
        return self.access or "closed"


ModelSpec = Annotated[LocalModelSpec | ApiModelSpec, Field(discriminator="backend")]


OwnKind = Literal["multiple_choice", "exact_match", "numeric"]


class OwnColumns(_Spec):
    """Where an own task's fields are in its file (column names, verbatim)."""

    question: str = "question"
    choices: str | list[str] = "choices"
    """One column holding a list, or several columns, one choice each."""
    answer: str = "answer"
    """The right choice's index (0-based), letter or text; the answer text or number."""
    id: str | None = None
    """An id column, for your own reference (kept in samples unless private)."""


class TaskSpec(_Spec):
    """One lm-eval task or group, verbatim by name, with optional per-task settings."""

    name: str = Field(min_length=1, max_length=200)
    """An lm-eval task or group name (see `lm_eval ls tasks`)."""
    num_fewshot: Shots | None = None
    limit: Limit | None = None
    metric: str | None = None
    """Primary metric as `name` or `name,filter` (e.g. `exact_match,flexible-extract`)."""
    protocol: ProtocolChoice | None = None
    """This task's protocol, overriding the config's."""
    file: Path | None = None
    """Your own data (JSONL, CSV or Parquet), relative to the current folder: the project
    writes the lm-eval task (both protocols) and keys results by the file's content hash."""
    kind: OwnKind | None = None
    """For `file`: `multiple_choice` (question, choices, answer), `exact_match` (short text
    answer) or `numeric` (a number, compared as a number)."""
    columns: OwnColumns | None = None
    """For `file`: which of your columns hold the question, choices and answer."""
    fewshot_file: Path | None = None
    """For `file`: few-shot examples in the same layout (else none are drawn)."""
    private: bool = False
    """For `file`: no API model off this machine is sent its rows unless `allow_closed`;
    records keep no sample text unless `keep_samples`."""
    allow_closed: bool = False
    """For a private task: send its rows to API models all the same."""
    keep_samples: bool | None = None
    """Keep prompts and replies in records (default: yes, except for private tasks)."""

    @model_validator(mode="before")
    @classmethod
    def _named_after_the_file(cls, data: Any) -> Any:
        """A task from a file is named after the file unless it says otherwise."""
        if isinstance(data, dict) and "name" not in data and isinstance(data.get("file"), str):
            stem = Path(data["file"]).stem.lower()
            data = {"name": "own_" + "_".join(re.findall(r"[a-z0-9]+", stem))[:60], **data}
        return data

    @model_validator(mode="after")
    def _own_task_fields(self) -> TaskSpec:
        own = ("kind", "columns", "fewshot_file", "private", "allow_closed")
        if self.file is None:
            used = [k for k in own if getattr(self, k) not in (None, False)]
            if used:
                raise ValueError(f"{', '.join(used)}: only for a task read from a `file`")
        elif self.kind is None:
            raise ValueError("`kind` is required with `file`; allowed: multiple_choice, "
                             "exact_match, numeric")
        elif not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name):
            # the name becomes a Python module and lm-eval task names; brackets, dots or
            # dashes there fail only once the job runs
            raise ValueError(f"name {self.name!r}: a task read from a `file` needs a name of "
                             "letters, digits and underscores, starting with a letter")
        return self

    @property
    def keeps_samples(self) -> bool:
        """Whether records of this task keep sample text."""
        return self.keep_samples if self.keep_samples is not None else not self.private


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
    if isinstance(data.get("tasks"), list):
        data["tasks"] = [{"name": t} if isinstance(t, str) else t for t in data["tasks"]]
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply; allowed: the keys of a run config "
                          "(see README).") from None


MAX_CONFIG_BYTES = 1_000_000
MAX_NODES = 100_000
"""A config expands to far fewer values; more is an alias bomb (exponential expansion)."""


class ConfigTooLarge(yaml.YAMLError):
    """Input bounded before anything expands or formats it."""


def _parse_bounded(text: str) -> Any:
    """safe_load, refusing documents whose aliases would expand past MAX_NODES values."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_NODES:
            raise ConfigTooLarge(f"its YAML aliases (*name) expand to over {MAX_NODES:,} values")
        _refuse_duplicate_keys(node, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


class DuplicateKey(yaml.MarkedYAMLError):
    """A mapping names one key twice: YAML keeps the last silently, so one setting would vanish."""


def _refuse_duplicate_keys(node: yaml.Node, seen: set[int]) -> None:
    """Raise DuplicateKey at the second occurrence of a key in any mapping (merges excepted)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, yaml.Node] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in keys:
                    first = keys[key.value].start_mark
                    raise DuplicateKey(
                        problem=f"the key {key.value!r} appears twice in one mapping (first at "
                                f"line {first.line + 1}); allowed: each key once",
                        problem_mark=key.start_mark)
                keys[key.value] = key
            _refuse_duplicate_keys(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _refuse_duplicate_keys(child, seen)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values a node stands for once aliases are expanded (shared nodes counted each time)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a cycle counts once, and recursion stops
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes)
                        for k, v in node.value)
    else:
        total = 1
    sizes[id(node)] = min(total, MAX_NODES + 1)
    return sizes[id(node)]


def _read_bounded(path: Path) -> str:
    """The file's text; a FIFO, a device or a huge file is refused before it is read."""
    if path.exists() and not path.is_file():
        raise OSError(0, "not a regular file")
    if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
        raise OSError(0, f"larger than {MAX_CONFIG_BYTES:,} bytes")
    return path.read_text("utf-8")


def _brief(value: Any, limit: int = 120) -> str:
    """A value's repr cut short: an error message never formats a huge input in full."""
    text = reprlib.Repr()
    text.maxstring, text.maxother, text.maxlist, text.maxdict, text.maxlevel = (
        limit, limit, 6, 6, 3)
    out = text.repr(value)
    return out if len(out) <= limit else out[:limit] + "…"


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
