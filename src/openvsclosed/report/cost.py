"""Pound for pound and dollars: score per billion parameters, cost per 1,000 questions.

API models cost what their responses' token counts times list prices came to (stored with each
job); local models cost their wall time times a GPU-hour price the reader chooses. Both are per
1,000 questions so the two can sit in one column.
"""

from __future__ import annotations

import pandas as pd

DEFAULT_GPU_HOUR_USD = 2.0
"""A rented single-GPU hour; pass --gpu-hour-usd to price local runs at your own rate."""
COST_COLUMNS = ["model", "label", "access", "source", "task", "score", "params_b",
                "active_params_b", "score_per_b", "usd_per_1k", "cost_basis"]


def efficiency(results: pd.DataFrame, gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD) -> pd.DataFrame:
    """One row per model, task and source with score per B params and dollars per 1k questions."""
    if results.empty:
        return pd.DataFrame(columns=COST_COLUMNS)
    rows = []
    for _, r in results.dropna(subset=["score"]).iterrows():
        params = _num(r.get("params_b"))
        usd, basis = None, None
        n = _num(r.get("n"))
        if n:
            cost = _num(r.get("cost_usd"))
            seconds = _num(r.get("duration_s"))
            if cost is not None:
                usd, basis = 1000 * cost / n, "API tokens x list price"
            elif r["access"] == "open" and seconds is not None:
                usd = 1000 * seconds / 3600 * gpu_hour_usd / n
                basis = f"wall time x ${gpu_hour_usd:g}/GPU-hour"
        rows.append({
            "model": r["model"], "label": r["label"], "access": r["access"],
            "source": r["source"], "task": r["task"], "score": 100 * r["score"],
            "params_b": params, "active_params_b": _num(r.get("active_params_b")),
            "score_per_b": 100 * r["score"] / params if params else None,
            "usd_per_1k": usd, "cost_basis": basis,
        })
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def _num(value: object) -> float | None:
    """A float, or None for anything missing or non-numeric (pandas' NA and NaN included)."""
    number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
    return None if pd.isna(number) else float(number)
