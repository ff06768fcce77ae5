"""The known models: what each *is* (maker, openness, date, size, price) and how to reach it.

Facts live in `data/catalog.yaml` with their sources, so correcting a date is a data change,
not a code change. Configs name entries by id and may override how to reach them.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from openvsclosed.backends import backend as backend_entry
from openvsclosed.schema import Access


class BatchPrice(BaseModel):
    """The provider's batch price (results within a day), dated and sourced like the list one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_m: float = Field(ge=0, allow_inf_nan=False)
    output_per_m: float = Field(ge=0, allow_inf_nan=False)
    as_of: date
    source: str


class Price(BatchPrice):
    """A provider's list price, dated because prices change."""

    batch: BatchPrice | None = None
    """What the same tokens cost through the provider's batch API; None where no page says."""


class WireProfile(BaseModel):
    """What one API model family accepts on the wire (data/wire_profiles.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_limit: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    temperature: float | None = 0.0
    """None: send no temperature (the API fixes it, as reasoning models do)."""
    stop: bool = True
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    max_output_tokens: int | None = None
    """Output tokens allowed per request: reasoning plus answer; None keeps the task's own."""
    sources: list[str] = []


class Provider(BaseModel):
    """A hosted endpoint serving a catalog model (an open model through Together, say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    api_model: str
    api_key_env: str
    wire: str | None = None
    price: Price | None = None
    sources: list[str] = []


class CatalogEntry(BaseModel):
    """One model of the debate, with the facts the report needs and their sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    organization: str
    access: Access
    released: date
    """The date a result is dated by: the weights' release, or the API snapshot's date."""
    family_released: date | None = None
    """The family's first public release, where it precedes the snapshot evaluated."""
    params_b: float | None = None
    """Total parameters in billions; None where the maker never disclosed them."""
    active_params_b: float | None = None
    """Parameters used per token, for mixture-of-experts models."""
    license: str
    backend: str
    num_gpus: float | None = None
    """80 GB GPUs one copy of the weights needs under vLLM in their released precision
    (weights plus room for the KV cache); the default of a spec's `num_gpus`."""
    model_args: dict[str, Any] = {}
    api_model: str | None = None
    api_key_env: str | None = None
    base_url: str | None = None
    price: Price | None = None
    wire: str | None = None
    """A profile of data/wire_profiles.yaml; None: the backend's plain chat profile."""
    providers: dict[str, Provider] = {}
    """Hosted endpoints for this model; `{catalog: ID, provider: NAME}` picks one."""
    sources: list[str]
    notes: str | None = None

    def spec_fields(self, provider: str | None = None) -> dict[str, Any]:
        """The fields a config's model spec starts from when it names this entry.

        With a provider, the model is reached over that provider's OpenAI-compatible API but
        keeps the entry's openness: openness comes from what the model is, never the transport.
        """
        fields: dict[str, Any] = {
            "id": self.id,
            "label": self.name,
            "access": self.access,
            "organization": self.organization,
            "released": self.released,
            "params_b": self.params_b,
            "backend": self.backend,
        }
        if provider is not None:
            via = self.providers[provider]
            fields.update(backend="openai-compatible", base_url=via.base_url,
                          api_model=via.api_model, api_key_env=via.api_key_env,
                          provider=provider)
            if via.wire or self.wire:
                fields["wire"] = via.wire or self.wire
            if via.price:
                fields.update(input_per_m=via.price.input_per_m,
                              output_per_m=via.price.output_per_m)
        elif backend_entry(self.backend).is_api:
            fields.update(api_model=self.api_model, api_key_env=self.api_key_env)
            if self.wire:
                fields["wire"] = self.wire
            if self.price:
                fields.update(input_per_m=self.price.input_per_m,
                              output_per_m=self.price.output_per_m)
                if self.price.batch:
                    fields.update(batch_input_per_m=self.price.batch.input_per_m,
                                  batch_output_per_m=self.price.batch.output_per_m)
            if self.base_url:
                fields["base_url"] = self.base_url
        else:
            fields["model_args"] = dict(self.model_args)
            if self.num_gpus:
                fields["num_gpus"] = self.num_gpus
        return fields


def _data(name: str) -> Any:
    text = resources.files("openvsclosed").joinpath(f"data/{name}").read_text("utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, CatalogEntry]:
    """All catalog entries by id, in file order."""
    entries = [CatalogEntry.model_validate(item) for item in _data("catalog.yaml")]
    return {entry.id: entry for entry in entries}


@lru_cache(maxsize=1)
def load_wire_profiles() -> dict[str, WireProfile]:
    """Every wire profile by name."""
    return {name: WireProfile.model_validate(body)
            for name, body in _data("wire_profiles.yaml").items()}


def wire_profile(backend_name: str, name: str | None) -> WireProfile:
    """The profile a model follows: its own, else its backend's default."""
    profiles = load_wire_profiles()
    return profiles[name or backend_entry(backend_name).wire or "openai-chat"]
