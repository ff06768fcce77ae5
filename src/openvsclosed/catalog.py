"""The known models: what each *is* (maker, openness, date, size, price) and how to reach it.

Facts live in `data/catalog.yaml` with their sources, so correcting a date is a data change,
not a code change. Configs name entries by id and may override how to reach them.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from openvsclosed.schema import Access

LOCAL_BACKENDS = ("hf", "vllm", "fake")
"""Backends that run weights on this machine through lm-eval."""
API_BACKENDS = ("openai", "anthropic", "gemini", "openai-compatible")
"""Backends that call a provider's HTTP API with a key from the environment."""


class Price(BaseModel):
    """A provider's list price, dated because prices change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_m: float
    output_per_m: float
    as_of: date
    source: str


class CatalogEntry(BaseModel):
    """One model of the debate, with the facts the report needs and their sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    organization: str
    access: Access
    released: date
    params_b: float | None = None
    """Total parameters in billions; None where the maker never disclosed them."""
    active_params_b: float | None = None
    """Parameters used per token, for mixture-of-experts models."""
    license: str
    backend: str
    model_args: dict[str, Any] = {}
    api_model: str | None = None
    api_key_env: str | None = None
    base_url: str | None = None
    price: Price | None = None
    sources: list[str]
    notes: str | None = None

    def spec_fields(self) -> dict[str, Any]:
        """The fields a config's model spec starts from when it names this entry."""
        fields: dict[str, Any] = {
            "id": self.id,
            "label": self.name,
            "access": self.access,
            "organization": self.organization,
            "released": self.released,
            "params_b": self.params_b,
            "backend": self.backend,
        }
        if self.backend in API_BACKENDS:
            fields.update(api_model=self.api_model, api_key_env=self.api_key_env)
            if self.price:
                fields.update(input_per_m=self.price.input_per_m,
                              output_per_m=self.price.output_per_m)
            if self.base_url:
                fields["base_url"] = self.base_url
        else:
            fields["model_args"] = dict(self.model_args)
        return fields


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, CatalogEntry]:
    """All catalog entries by id, in file order."""
    text = resources.files("openvsclosed").joinpath("data/catalog.yaml").read_text("utf-8")
    entries = [CatalogEntry.model_validate(item) for item in yaml.safe_load(text)]
    return {entry.id: entry for entry in entries}
