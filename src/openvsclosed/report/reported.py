"""Published scores (with their sources) as `source: reported` rows beside measured ones.

The data file starts from shared/reference/published_scores.csv; every row keeps its source,
shots, method and confidence, and the report always marks these rows as reported.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}


def load_reported(path: Path | None = None) -> pd.DataFrame:
    """Published scores as result rows (scores as fractions, like measured ones)."""
    if path is None:
        text = resources.files("openvsclosed").joinpath("data/published_scores.csv")
        with resources.as_file(text) as real:
            raw = pd.read_csv(real, dtype={"shots": "Int64"})
    else:
        raw = pd.read_csv(path, dtype={"shots": "Int64"})
    # One number per model and task: the most shots (closed models were published under the
    # vendors' few-shot protocols, so this is the closest match), then the most confident.
    raw["rank"] = raw["confidence"].map(CONFIDENCE_ORDER).fillna(9)
    raw["shots_rank"] = -raw["shots"].astype("float").fillna(-1)
    raw = raw.sort_values(["model_id", "benchmark", "shots_rank", "rank"], kind="stable")
    raw = raw.drop_duplicates(["model_id", "benchmark"], keep="first")
    notes = raw.apply(_note, axis=1)
    return pd.DataFrame({
        "model": raw["model_id"], "label": raw["model"], "access": raw["openness"],
        "organization": raw["organization"], "released": raw["released"],
        "params_b": raw["params_b"], "task": raw["benchmark"], "metric": "reported",
        "score": raw["score"] / 100, "stderr": None, "n": pd.array([pd.NA] * len(raw), "Int64"),
        "num_fewshot": raw["shots"], "limit": None, "protocol": None, "cost_usd": None,
        "duration_s": None, "finished_at": None, "key": None, "source": "reported",
        "doc_scores": None, "note": notes,
    }).reset_index(drop=True)


def _note(row: pd.Series) -> str:
    shots = "?" if pd.isna(row["shots"]) else f"{row['shots']}-shot"
    method = f", {row['method']}" if isinstance(row["method"], str) and row["method"] else ""
    return f"{shots}{method}; {row['source']} ({row['confidence']})"
