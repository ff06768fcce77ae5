"""Dollars per 1,000 questions, from tokens and prices, never from this machine's clock.

API models cost what their responses' token counts times list prices came to (stored with each
job). Local models are priced by a stated throughput model, so a run on a laptop CPU and one on
a GPU cluster give the same figure for the same work:

    GPU seconds = tokens × 2 × active parameters / (GPU_FLOPS × UTILIZATION)
    dollars     = GPU seconds / 3600 × dollars per GPU-hour

2 × parameters is the forward pass's FLOPs per token (prefill-dominated: benchmark prompts are
long, answers short); GPU_FLOPS is an H100 SXM's dense bf16 peak and UTILIZATION a typical
model-FLOPs utilization for batched inference. A local job whose token count was not recorded
has no cost (shown as missing, never guessed from wall time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_GPU_HOUR_USD = 2.0
"""A rented H100 hour; pass --gpu-hour-usd to price local runs at your own rate."""
GPU_FLOPS = 989e12
"""NVIDIA H100 SXM dense BF16 peak, FLOP/s (datasheet)."""
UTILIZATION = 0.4
"""Model-FLOPs utilization assumed for batched prefill-heavy inference."""
COST_COLUMNS = ["model", "label", "access", "source", "task", "score", "params_b",
                "active_params_b", "tokens", "usd_per_1k", "cost_basis"]


def local_usd(tokens: float, params_b: float, gpu_hour_usd: float) -> float:
    """Dollars for `tokens` through a model of `params_b` billion (active) parameters."""
    seconds = tokens * 2 * params_b * 1e9 / (GPU_FLOPS * UTILIZATION)
    return seconds / 3600 * gpu_hour_usd


def efficiency(results: pd.DataFrame, gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD) -> pd.DataFrame:
    """One row per model, task and source that has a cost: dollars per 1,000 questions."""
    if results.empty:
        return pd.DataFrame(columns=COST_COLUMNS)
    rows = []
    for _, r in results.dropna(subset=["score"]).iterrows():
        n, cost, tokens = _num(r.get("n")), _num(r.get("cost_usd")), _num(r.get("tokens"))
        params = _num(r.get("params_b"))
        active = _num(r.get("active_params_b")) or params
        usd, basis = None, None
        if n and cost is not None:
            usd, basis = 1000 * cost / n, "API tokens × dated list price"
        elif n and r["access"] == "open" and tokens and active:
            usd = 1000 * local_usd(tokens, active, gpu_hour_usd) / n
            basis = (f"tokens × H100 at {UTILIZATION:.0%} utilization, "
                     f"${gpu_hour_usd:g}/GPU-hour")
        if usd is None:
            continue
        rows.append({
            "model": r["model"], "label": r["label"], "access": r["access"],
            "source": r["source"], "task": r["task"], "score": 100 * r["score"],
            "params_b": params, "active_params_b": _num(r.get("active_params_b")),
            "tokens": tokens, "usd_per_1k": usd, "cost_basis": basis,
        })
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def _num(value: object) -> float | None:
    """A float, or None for anything missing or non-numeric (pandas' NA and NaN included)."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating, np.integer)) or type(value) is int:  # no Series
        return None if value != value else float(value)
    number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
    return None if pd.isna(number) else float(number)
