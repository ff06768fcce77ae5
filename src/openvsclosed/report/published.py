"""Published scores (with their sources) as `source: reported` rows beside measured ones.

Every row of data/published_scores.csv keeps its source, the source's date, shots, method and
confidence, and the report always marks these rows as reported. Makers publish under their own
protocols, so each row also carries a `protocol` ("5-shot letter choice", "0-shot chain of
thought", "?-shot pass@1" when the shots are not stated): the gap table marks an open-vs-closed
comparison whose two sides differ in it, and the claims compare like with like.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import pandas as pd

CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
PUBLISHED_AS_OF = date(2025, 11, 30)
"""The end of the table's coverage (it holds releases through November 2025, checked
2026-11-26): unreached records are censored here, not at a date the table does not cover."""


def protocol_of(shots: object, method: object) -> str:
    """`<shots>-shot <method head>`: what must match for two published numbers to compare.

    The method head is the text before the first ';' (details after it do not split protocols);
    unknown shots read '?', never 0.
    """
    n = "?" if shots is None or pd.isna(shots) else str(int(shots))
    head = str(method).split(";")[0].strip() if isinstance(method, str) and method else ""
    return f"{n}-shot {head}".strip()


def read_published(path: Path | None = None) -> pd.DataFrame:
    """The data file as it is, one row per published number, with its protocol added."""
    if path is None:
        text = resources.files("openvsclosed").joinpath("data/published_scores.csv")
        with resources.as_file(text) as real:
            raw = pd.read_csv(real, dtype={"shots": "Int64"})
    else:
        raw = pd.read_csv(path, dtype={"shots": "Int64"})
    if "source_date" not in raw.columns:
        raw["source_date"] = None
    raw["method"] = raw["method"].fillna("")
    raw["protocol"] = [protocol_of(s, m) for s, m in zip(raw["shots"], raw["method"], strict=True)]
    return raw


def pick_published(raw: pd.DataFrame) -> pd.DataFrame:
    """One number per model and task, preferring the task's most common protocol.

    Where several models were published under one protocol, choosing that one for every model
    that has it keeps comparisons like with like; otherwise the most shots (the vendors'
    few-shot protocols), then the most confident, then the newest source.
    """
    common = (raw.groupby(["benchmark", "protocol"])["model_id"].nunique().rename("users")
              .reset_index().sort_values(["benchmark", "users", "protocol"],
                                         ascending=[True, False, True])
              .drop_duplicates("benchmark").set_index("benchmark")["protocol"])
    ranked = raw.assign(
        off_protocol=[p != common.get(b) for b, p in zip(raw["benchmark"], raw["protocol"],
                                                          strict=True)],
        shots_rank=-raw["shots"].astype("float").fillna(-1),
        rank=raw["confidence"].map(CONFIDENCE_ORDER).fillna(9),
        newest=pd.to_datetime(raw["source_date"], errors="coerce"),
    )
    ranked = ranked.sort_values(["model_id", "benchmark", "off_protocol", "shots_rank", "rank",
                                 "newest"], ascending=[True, True, True, True, True, False],
                                kind="stable", na_position="last")
    return ranked.drop_duplicates(["model_id", "benchmark"], keep="first")


def load_reported(path: Path | None = None) -> pd.DataFrame:
    """Published scores as result rows (scores as fractions, like measured ones)."""
    raw = pick_published(read_published(path))
    return pd.DataFrame({
        "model": raw["model_id"], "label": raw["model"], "access": raw["openness"],
        "organization": raw["organization"], "released": raw["released"],
        "params_b": raw["params_b"], "task": raw["benchmark"], "metric": "reported",
        "score": raw["score"] / 100, "stderr": None, "n": pd.array([pd.NA] * len(raw), "Int64"),
        "num_fewshot": raw["shots"], "limit": None, "protocol": raw["protocol"],
        "cost_usd": None, "duration_s": None, "finished_at": None, "key": None,
        "source": "reported", "doc_scores": None, "note": raw.apply(_note, axis=1),
    }).reset_index(drop=True)


def _note(row: pd.Series) -> str:
    shots = "?" if pd.isna(row["shots"]) else f"{row['shots']}-shot"
    method = f", {row['method']}" if isinstance(row["method"], str) and row["method"] else ""
    when = f", {row['source_date']}" if isinstance(row["source_date"], str) else ""
    return f"{shots}{method}; {row['source']} ({row['confidence']}{when})"
