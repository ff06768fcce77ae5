"""GPU bench: fast scoring vs plain lm-eval `HFLM`, random-weight LLaMAs in bf16, MMLU 5-shot.

Needs no download and no lm-eval task machinery (the device machine has neither `datasets` nor
the hub): MMLU 5-shot requests are built the way lm-eval's `mmlu_<subject>` builds them
(description, the first five dev questions with answers, the test question; continuations
" A".." D") from the mirror's parquet files, and both scorers get the same `Instance`s.
Models: a SmolLM2-135M-shaped and a 1B-shaped (Llama-3.2-1B dims, SmolLM2's 49152 vocab) LLaMA
with random weights, SmolLM2's tokenizer. `fast_hf.py` is loaded by file path, so the project's
own dependencies (pydantic...) need not be there.

    python bench/bench_fast_scoring_gpu.py --data DIR --tokenizer DIR [--subjects a b ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch

REPO = Path(__file__).resolve().parent.parent
SHAPES = {
    "smollm2-135m-shaped": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                                num_attention_heads=9, num_key_value_heads=3,
                                tie_word_embeddings=True),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,  # a smoke check
                 num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True),
    "llama-1b-shaped": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                            num_attention_heads=32, num_key_value_heads=8,
                            tie_word_embeddings=True),
}
DEFAULT_SUBJECTS = ["abstract_algebra", "anatomy", "astronomy", "college_physics",
                    "high_school_geography"]


def load_fast_hf():
    path = REPO / "src" / "openvsclosed" / "models" / "fast_hf.py"
    spec = importlib.util.spec_from_file_location("ovc_fast_hf", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def mmlu_requests(data: Path, subject: str, limit: int | None) -> list:
    """lm-eval's mmlu_<subject> prompt (default template, first_n few-shot sampler)."""
    from lm_eval.api.instance import Instance

    folder = data / "cais__mmlu" / subject
    dev, test = pd.read_parquet(folder / "dev.parquet"), pd.read_parquet(folder / "test.parquet")

    def text(row) -> str:
        c = list(row["choices"])
        return (f"{row['question'].strip()}\nA. {c[0]}\nB. {c[1]}\nC. {c[2]}\nD. {c[3]}"
                "\nAnswer:")

    description = ("The following are multiple choice questions (with answers) about "
                   f"{subject.replace('_', ' ')}.\n\n")
    shots = "".join(text(r) + " " + "ABCD"[int(r["answer"])] + "\n\n"
                    for _, r in dev.head(5).iterrows())
    requests = []
    for d, (_, row) in enumerate(test.head(limit).iterrows() if limit else test.iterrows()):
        ctx = description + shots + text(row)
        requests += [Instance("loglikelihood", {"id": d}, (ctx, " " + letter), i,
                              metadata=(subject, d, None)) for i, letter in enumerate("ABCD")]
    return requests


def plain_tokens(lm, requests) -> int:
    """Tokens plain HFLM feeds (batch 1): one row per distinct context+continuation[:-1]."""
    rows = set()
    for r in requests:
        ctx, cont = lm._encode_pair(*r.args)
        rows.add(tuple((ctx + cont)[-(lm.max_length + 1):][:-1]))
    return sum(len(r) for r in rows)


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(lm, requests) -> tuple[float, float, list]:
    """Seconds for `loglikelihood` (tokenizing included) and for its scoring part alone."""
    inner, scoring = lm._loglikelihood_tokens, [0.0]

    def score(reqs, *args, **kwargs):
        sync()
        start = time.perf_counter()
        try:
            return inner(reqs, *args, **kwargs)
        finally:
            sync()
            scoring[0] += time.perf_counter() - start

    lm._loglikelihood_tokens = score
    sync()
    start = time.perf_counter()
    out = lm.loglikelihood(requests, disable_tqdm=True)
    sync()
    total = time.perf_counter() - start
    lm._loglikelihood_tokens = inner
    return total, scoring[0], out


def chosen(results: list) -> list[int]:
    lls = [ll for ll, _ in results]
    return [max(range(4), key=lambda k: lls[q + k]) for q in range(0, len(lls), 4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding cais__mmlu/")
    parser.add_argument("--tokenizer", type=Path, required=True)
    parser.add_argument("--subjects", nargs="+", default=DEFAULT_SUBJECTS)
    parser.add_argument("--limit", type=int, default=None, help="questions per subject")
    parser.add_argument("--models", nargs="+", default=[m for m in SHAPES if m != "tiny"])
    parser.add_argument("--plain-batch", nargs="+", default=["1", "64"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--profile", action="store_true", help="profile the first fast run")
    args = parser.parse_args()

    from lm_eval.models.huggingface import HFLM
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    fast_hf = load_fast_hf()
    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    requests = [r for s in args.subjects for r in mmlu_requests(args.data, s, args.limit)]
    warm = requests[:8]
    rows = []
    for name in args.models:
        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=len(tok), max_position_embeddings=8192,
                             bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                             **SHAPES[name])
        with torch.device(args.device):
            model = LlamaForCausalLM(config).to(torch.bfloat16).eval()
        params = sum(p.numel() for p in model.parameters())
        fast = fast_hf.FastHFLM(pretrained=model, tokenizer=tok, max_length=2048)
        timed(fast, warm)  # CUDA and cuBLAS warm-up, and the one-time self-check
        fast.fast_stats.clear()
        t_fast, s_fast, r_fast = timed(fast, requests)
        stats = dict(fast.fast_stats)  # before the profiled re-run adds to them
        if args.profile and name == args.models[0]:
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                fast.loglikelihood(requests, disable_tqdm=True)
            print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=25))
            print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=12))
        fast_tokens = stats.get("prefix_tokens", 0) + stats.get("row_tokens", 0)
        for bs in args.plain_batch:
            plain = HFLM(pretrained=model, tokenizer=tok, max_length=2048,
                         batch_size=int(bs) if bs.isdigit() else bs)
            timed(plain, warm)
            t_plain, s_plain, r_plain = timed(plain, requests)
            agree = sum(a == b for a, b in zip(chosen(r_fast), chosen(r_plain), strict=True))
            row = {
                "model": name, "params_m": round(params / 1e6, 1), "dtype": "bfloat16",
                "subjects": len(args.subjects), "questions": len(requests) // 4,
                "plain_batch": bs, "plain_s": round(t_plain, 2), "fast_s": round(t_fast, 2),
                "speedup": round(t_plain / t_fast, 1), "plain_score_s": round(s_plain, 2),
                "fast_score_s": round(s_fast, 2), "score_speedup": round(s_plain / s_fast, 1),
                "plain_tokens": plain_tokens(plain, requests), "fast_tokens": fast_tokens,
                "fast_padded_tokens": stats.get("prefix_tokens", 0)
                + stats.get("padded_tokens", 0),
                "fast_forward_calls": stats.get("forward_calls", 0),
                "same_answer": f"{agree}/{len(requests) // 4}",
                "max_abs_ll_diff": round(max(abs(a[0] - b[0]) for a, b in
                                             zip(r_fast, r_plain, strict=True)), 4),
                "fast_disabled": fast.fast_disabled,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            del plain
        del fast, model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    info = {"device": torch.cuda.get_device_name() if args.device == "cuda" else args.device,
            "torch": torch.__version__, "transformers": __import__("transformers").__version__}
    print(json.dumps(info))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, **info}, indent=1))


if __name__ == "__main__":
    main()
