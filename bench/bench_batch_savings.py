"""Dollars a config's closed models save when sent as provider batches instead of live calls.

Usage (repo root): `.venv/bin/python bench/bench_batch_savings.py [configs/frontier.yaml]`
Plans the config as `run --dry-run` does (with placeholder keys, so every API model counts;
nothing is sent), counts each API model's requests and tokens with `estimate.estimate_jobs`
(the full output allowance per request: an upper bound), and prices those tokens at the
catalog's list and batch prices. Models whose backend has no batch protocol (hosted open models
through OpenAI-compatible providers) stay at list price. Prints Markdown and one summary line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from openvsclosed.config import load_config  # noqa: E402 - after the path line above
from openvsclosed.estimate import estimate_jobs  # noqa: E402
from openvsclosed.plan import plan_run  # noqa: E402
from openvsclosed.store import ResultStore  # noqa: E402


def dollars(tokens_in: int, tokens_out: int, price_in: float | None,
            price_out: float | None) -> float | None:
    """Tokens at a price per million (None where a price is missing)."""
    if price_in is None or price_out is None:
        return None
    return (tokens_in * price_in + tokens_out * price_out) / 1e6


def main() -> None:
    """Print the per-model table and the measured line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", nargs="?", default=str(REPO / "configs" / "frontier.yaml"))
    args = parser.parse_args()
    cfg = load_config(Path(args.config))
    mirror = Path(os.environ.get("OVC_DATA_DIR") or cfg.data_dir
                  or REPO.parent / "shared" / "benchmarks")
    keys = {m.api_key_env: "placeholder-never-sent" for m in cfg.models
            if m.is_api and m.api_key_env}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_run(cfg, ResultStore(Path(tmp)), source=args.config, mirror=mirror,
                        dry_run=True, executor=cfg.executor, env=keys)
        api_jobs = [j for j in plan.pending if j.model.is_api]
        rows = estimate_jobs(api_jobs, plan.task_manager)
    specs = {j.model.id: j.model for j in api_jobs}
    print(f"## Batch savings on {Path(args.config).name} (upper bounds, list vs batch prices)\n")
    print("| model | backend | requests | input tokens | output tokens | list $ | batch $ | "
          "saved $ |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    total_list = total_batch = 0.0
    for row in rows:
        spec = specs[row.model_id]
        listed = dollars(row.input_tokens, row.output_tokens, spec.input_per_m,
                         spec.output_per_m)
        batch = dollars(row.input_tokens, row.output_tokens, spec.batch_input_per_m,
                        spec.batch_output_per_m)
        paid = batch if batch is not None else listed
        total_list += listed or 0.0
        total_batch += paid or 0.0
        saved = (listed - paid) if listed is not None and paid is not None else None
        print(f"| {row.model_id} | {spec.backend} | {row.requests} | {row.input_tokens} | "
              f"{row.output_tokens} | {_usd(listed)} | {_usd(batch, 'no batch price')} | "
              f"{_usd(saved)} |")
    uncounted = sorted({p for r in rows for p in r.uncounted})
    for problem in uncounted:
        print(f"\nnot counted: {problem}")
    saved = total_list - total_batch
    share = 100 * saved / total_list if total_list else 0.0
    print(f"\n{Path(args.config).name}: API spend bound ${total_list:.2f} at list prices, "
          f"${total_batch:.2f} with batch on: ${saved:.2f} saved ({share:.0f}%), "
          f"{sum(r.requests for r in rows)} requests, counted in "
          f"{time.perf_counter() - started:.1f} s")


def _usd(value: float | None, missing: str = "no price") -> str:
    return missing if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
