"""What a config declares, one pydantic model per thing: defaults, models, tasks.

The field docstrings below are the config reference (README links here); `config` assembles
them into a `RunConfig` and turns validation errors into one paragraph.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from openvsclosed.backends import API as API_BACKENDS
from openvsclosed.backends import LOCAL as LOCAL_BACKENDS
from openvsclosed.backends import backend as backend_entry
from openvsclosed.catalog import load_wire_profiles
from openvsclosed.schema import Access

ProtocolChoice = Literal["native", "chat", "both"]
"""`native`: each model its own best way; `chat`: everyone through the chat protocol; `both`:
open models both ways, so a chat-vs-chat gap sits beside each model's best-way score."""

SLUG = r"^[a-z0-9][a-z0-9._-]*$"
DEFAULT_SEED = (0, 1234, 1234, 1234)
"""lm-eval's own defaults (python, numpy, torch, few-shot), so a plain `lm_eval` run matches."""


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

    backend: Literal[LOCAL_BACKENDS]  # type: ignore[valid-type]
    """One of the backend table's local entries (backends.py)."""
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

    backend: Literal[API_BACKENDS]  # type: ignore[valid-type]
    """One of the backend table's API entries (backends.py)."""
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
    batch: bool | None = None
    """Send this model's requests as provider batches (half price, results within a day)
    instead of live calls; default: the config's `batch`. Not part of a result's identity."""
    batch_input_per_m: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Dollars per million input tokens in batch mode (from the catalog's dated batch price)."""
    batch_output_per_m: float | None = Field(default=None, ge=0, allow_inf_nan=False)

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
        if self.batch and backend_entry(self.backend).batch is None:
            batched = [n for n in API_BACKENDS if backend_entry(n).batch]
            raise ValueError(f"batch: backend {self.backend} has no provider batch protocol; "
                             f"allowed: batch on {', '.join(batched)} (or batch: false)")
        return self

    @property
    def endpoint(self) -> str:
        """The URL requests go to: the spec's, else the backend's default."""
        url = self.base_url or backend_entry(self.backend).base_url
        assert url is not None, "openai-compatible requires base_url (checked above)"
        return url

    @property
    def batched(self) -> bool:
        """Whether this model's requests go out as provider batches."""
        return bool(self.batch)

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
