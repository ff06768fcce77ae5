"""Builders shared by the unit tests (plain functions, no fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

from openvsclosed.config import RunConfig

FIXTURES = Path(__file__).parent / "fixtures"


def run_config(**overrides) -> RunConfig:
    data = {
        "name": "unit",
        "defaults": {"num_fewshot": 0, "limit": 4},
        "models": [
            {"id": "open-a", "backend": "fake", "model_args": {"seed": 1}, "label": "Open A"},
            {"id": "open-b", "backend": "fake", "model_args": {"seed": 2}},
            {"id": "closed-c", "backend": "openai", "api_model": "gpt-x",
             "api_key_env": "OVC_TEST_KEY"},
        ],
        "tasks": [{"name": "ovc_toy_mc"}, {"name": "ovc_toy"}],
    }
    data.update(overrides)
    return RunConfig.model_validate(data)


def captured_results() -> dict:
    """lm-eval's results dict for the fake model on the toy group (see capture_results.py)."""
    return json.loads((FIXTURES / "captured_results.json").read_text())


def build_toy_mirror(root: Path) -> Path:
    """A data mirror holding only made-up documents (no train split on purpose)."""
    import pandas as pd

    data = json.loads((FIXTURES / "toy_data.json").read_text())
    for config, splits in data.items():
        if config.startswith("_"):
            continue
        for split, rows in splits.items():
            path = root / "ovc-fixtures__toy" / config / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_parquet(path, index=False)
    return root
