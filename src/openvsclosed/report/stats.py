"""The report's statistics: gap intervals, paired bootstrap, normalized means, win rates.

Small and pure (numpy + pandas) so each formula can be checked against hand-computed cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
RANDOM_BASELINES = {
    "arc_easy": 0.25, "arc_challenge": 0.25, "mmlu": 0.25, "hellaswag": 0.25,
    "winogrande": 0.5, "piqa": 0.5, "boolq": 0.5, "truthfulqa_mc1": 0.25, "truthfulqa_mc2": 0.25,
    "gsm8k": 0.0, "humaneval": 0.0,
}
"""Chance accuracy per task (fraction). Four-option tasks use 1/4 as the Open LLM Leaderboard
does; generative tasks have no chance floor."""


def unpaired_ci(gap: float, se_a: float | None, se_b: float | None) -> tuple[float, float] | None:
    """95% normal interval for a difference of two independent estimates."""
    if se_a is None or se_b is None or any(map(_nan, (se_a, se_b))):
        return None
    half = Z95 * math.hypot(se_a, se_b)
    return gap - half, gap + half


def paired_bootstrap(a: Sequence[float], b: Sequence[float], iters: int = 10_000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Mean of b - a over the same documents, with a 95% percentile bootstrap interval.

    Resampling documents (not models) keeps each document's pairing, which removes the
    between-document variance an unpaired interval pays for.
    """
    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if diff.size == 0:
        raise ValueError("no shared documents to pair")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(iters, diff.size))
    means = diff[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def significant(interval: tuple[float, float] | None) -> bool | None:
    """Whether a 95% interval excludes zero (None when there is no interval)."""
    if interval is None:
        return None
    return interval[0] > 0 or interval[1] < 0


def normalized(score: float, baseline: float) -> float:
    """Score rescaled so chance is 0 and perfect is 1, floored at 0 (Open LLM Leaderboard v2)."""
    if baseline >= 1:
        raise ValueError("a baseline of 1 leaves nothing to normalize")
    return max(0.0, (score - baseline) / (1 - baseline))


def model_summary(results: pd.DataFrame, baselines: dict[str, float] | None = None) -> pd.DataFrame:
    """Per model: tasks scored, rank among models with the same task set, normalized, win rate.

    A mean over different tasks does not rank models (one easy task beats six hard ones), so
    `rank` is only among models of one source scored on exactly the same tasks (`peers`).

    Win rate (HELM's): on each task, the share of other models this one beats (ties count
    half); averaged over the tasks the model was scored on. A result marked invalid
    (report/validity.py) is no score, so it ranks nobody.
    """
    columns = ["model", "label", "access", "source", "tasks", "rank", "peers", "task_set",
               "mean_normalized", "win_rate"]
    scored = results.dropna(subset=["score"])
    if "valid" in scored:
        scored = scored[scored["valid"].astype(object).ne(False)]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    baselines = {**RANDOM_BASELINES, **(baselines or {})}
    wins: dict[tuple[str, str], list[float]] = {}
    for (_, source), on_task in scored.groupby(["task", "source"]):
        models = on_task["model"].to_numpy()
        values = on_task["score"].to_numpy(float)
        for model, score in zip(models, values, strict=True):
            others = values[models != model]
            if len(others):
                share = (others < score).sum() + 0.5 * (others == score).sum()
                wins.setdefault((model, source), []).append(share / len(others))
    rows = []
    for (model, source), group in scored.groupby(["model", "source"], sort=True):
        pairs = zip(group["task"], group["score"], strict=True)
        norm = [normalized(s, baselines.get(t, 0.0)) for t, s in pairs]
        rates = wins.get((model, source))
        rows.append({
            "model": model, "label": group["label"].iloc[0], "access": group["access"].iloc[0],
            "source": source, "tasks": len(group),
            "task_set": " ".join(sorted(map(str, group["task"].unique()))),
            "mean_normalized": 100 * float(np.mean(norm)),
            "win_rate": float(np.mean(rates)) if rates else None,
        })
    out = pd.DataFrame(rows, columns=[c for c in columns if c not in ("rank", "peers")])
    out = out.sort_values(["source", "tasks", "task_set", "mean_normalized", "model"],
                          ascending=[True, False, True, False, True],
                          kind="stable").reset_index(drop=True)
    peers = out.groupby(["source", "task_set"])["model"]
    out["rank"] = peers.cumcount() + 1
    out["peers"] = peers.transform("size")
    return out.reindex(columns=columns)


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)
