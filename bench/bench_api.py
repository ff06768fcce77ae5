"""API throughput against llm-katan's echo backend: sequential vs concurrent, and a cached re-run.

Usage (repo root, after `make setup`): `.venv/bin/python bench/bench_api.py [--requests 64]`
Starts its own echo server on 127.0.0.1 with --latency-ms 200 and stops it. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lm_eval.api.instance import Instance
from lm_eval.models.api_models import JsonChatStr

from openvsclosed.config import ApiModelSpec
from openvsclosed.models import load_model
from tests.katan import katan, stats


def requests_for(n: int) -> list[Instance]:
    """Made-up chat prompts, one request each."""
    out = []
    for i in range(n):
        chat = JsonChatStr(json.dumps([{"role": "user", "content": f"Made-up question {i}?"}]))
        out.append(Instance(request_type="generate_until", doc={}, idx=i,
                            arguments=(chat, {"until": ["\n\n"], "max_gen_toks": 16})))
    return out


def timed(base: str, concurrent: int, n: int, cache: Path) -> tuple[float, int]:
    spec = ApiModelSpec(id=f"echo-c{concurrent}", backend="openai", access="closed",
                        api_model="echo", base_url=f"{base}/v1/chat/completions",
                        num_concurrent=concurrent)
    lm = load_model(spec, cache_dir=cache)
    before, clock = stats(base), time.perf_counter()
    lm.generate_until(requests_for(n))
    return time.perf_counter() - clock, stats(base) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            katan("echo", "--backend", "echo", "--latency-ms", "200", "--max-concurrent", "64",
                  log=Path(tmp) / "echo.log") as base:
        rows = []
        for concurrent in (1, 16):
            wall, sent = timed(base, concurrent, args.requests, Path(tmp) / f"cache{concurrent}")
            rows.append((f"num_concurrent {concurrent}", wall, sent))
        wall, sent = timed(base, 16, args.requests, Path(tmp) / "cache16")
        rows.append(("num_concurrent 16, cached re-run", wall, sent))
    print("| run | requests asked | sent to server | wall (s) | requests/s |")
    print("|---|---|---|---|---|")
    for what, wall, sent in rows:
        print(f"| {what} | {args.requests} | {sent} | {wall:.2f} | {args.requests / wall:.1f} |")
    print(f"\nspeed-up 16 vs 1: {rows[0][1] / rows[1][1]:.1f}x")


if __name__ == "__main__":
    main()
