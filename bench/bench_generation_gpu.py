"""GPU bench: batched greedy generation vs lm-eval's `hf` loop (and vLLM), random-weight LLaMAs.

For the day a GPU is lent. Needs no download, no datasets and no project install: made-up
prompts (a shared few-shot-like block, questions of different lengths), LLaMA models of
Llama-3.2-1B and Llama-3.1-8B shapes with random weights in bf16, a tokenizer from `--tokenizer`
(any `save_pretrained` folder; default: a small byte-level BPE trained here on made-up text).
`fast_hf.py` is loaded by file path (its sibling modules through `fast_hf.sibling`). Random
weights never write a stop string, so every completion runs to `--new-tokens`: the same work
for every path.

Per model: lm-eval's `HFLM.generate_until` at batch size 1 (what `lm_eval --model hf` runs) and
at `--plain-batch` (lm-eval's own batching: every row runs until the batch's last stops), our
`FastHFLM`, and vLLM (`--vllm`, when importable; the model saved to a temporary folder first).
Reports wall seconds, generated tokens per second, and identical completions against batch 1
(bf16: rows of a padded batch see different kernels, so near-tied logits can flip a token).

    python bench/bench_generation_gpu.py [--models llama-1b-shaped llama-8b-shaped]
        [--prompts 32] [--new-tokens 64] [--tokenizer DIR] [--vllm] [--out FILE]
    python bench/bench_generation_gpu.py --device cpu --models tiny --prompts 6   # smoke check
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
SHAPES = {
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True),
    "llama-1b-shaped": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                            num_attention_heads=32, num_key_value_heads=8,
                            tie_word_embeddings=True),
    "llama-8b-shaped": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                            num_attention_heads=32, num_key_value_heads=8,
                            tie_word_embeddings=False),
}
WORDS = ["the", "red", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "green",
         "birds", "sing", "about", "rivers", "mountains", "and", "small", "blue", "boats",
         "question", "answer", "choice", "true", "false", "maybe"]


def load_module(name: str, filename: str):
    path = REPO / "src" / "openvsclosed" / "models" / filename
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def made_up_text(i: int, n: int) -> str:
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(n))


def tokenizer(folder: Path | None):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if folder is not None:
        return AutoTokenizer.from_pretrained(folder)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([made_up_text(i, 40) for i in range(500)], trainers.BpeTrainer(
        vocab_size=4096, special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>")


def prompts(n: int) -> list[str]:
    """A shared block (a few-shot prompt's shape), then questions of 20 to 400 words."""
    shots = "".join(f"Question: {made_up_text(i, 60)}?\nAnswer: {WORDS[i]}\n\n" for i in range(5))
    return [shots + f"Question: {made_up_text(100 + q, 20 + (q * 37) % 380)}?\nAnswer:"
            for q in range(n)]


def requests(texts: list[str], new_tokens: int) -> list:
    from lm_eval.api.instance import Instance

    kwargs = {"until": ["\n\nQuestion:"], "max_gen_toks": new_tokens, "do_sample": False}
    return [Instance("generate_until", {}, (t, dict(kwargs)), i) for i, t in enumerate(texts)]


def timed(fn) -> tuple[float, list[str]]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def vllm_run(model, tok, texts: list[str], new_tokens: int) -> tuple[float, list[str]] | None:
    try:
        from vllm import LLM, SamplingParams
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
        llm = LLM(model=folder, dtype="bfloat16", enforce_eager=False,
                  gpu_memory_utilization=0.5, max_model_len=4096)
        params = SamplingParams(temperature=0.0, max_tokens=new_tokens, stop=["\n\nQuestion:"])
        llm.generate(texts[:2], params)  # warm-up
        seconds, outs = timed(lambda: llm.generate(texts, params))
    return seconds, [o.outputs[0].text for o in outs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["llama-1b-shaped", "llama-8b-shaped"])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--plain-batch", type=int, default=32)
    parser.add_argument("--tokenizer", type=Path, default=None)
    parser.add_argument("--vllm", action="store_true", help="also vLLM, when importable")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from lm_eval.models.huggingface import HFLM
    from transformers import LlamaConfig, LlamaForCausalLM

    fast_hf = load_module("ovc_fast_hf", "fast_hf.py")
    tok = tokenizer(args.tokenizer)
    texts = prompts(args.prompts)
    dtype = torch.bfloat16 if args.device != "cpu" else torch.float32
    rows = []
    for name in args.models:
        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=len(tok), max_position_embeddings=8192,
                             bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                             **SHAPES[name])
        with torch.device(args.device):
            model = LlamaForCausalLM(config).to(dtype).eval()
        params = sum(p.numel() for p in model.parameters())
        fast = fast_hf.FastHFLM(pretrained=model, tokenizer=tok, max_length=4096,
                                fast_self_check=False)
        fast.generate_until(requests(texts[:2], 4), disable_tqdm=True)  # warm-up
        fast.fast_stats.clear()
        t_fast, out_fast = timed(lambda f=fast: f.generate_until(
            requests(texts, args.new_tokens), disable_tqdm=True))
        stats = dict(fast.fast_stats)
        row = {"model": name, "params_b": round(params / 1e9, 2), "dtype": str(dtype),
               "prompts": len(texts), "new_tokens": args.new_tokens,
               "fast_s": round(t_fast, 2),
               "fast_tok_per_s": round(stats.get("generated_tokens", 0) / t_fast, 1),
               "fast_stats": stats}
        base = None
        for bs in (1, args.plain_batch):
            plain = HFLM(pretrained=model, tokenizer=tok, max_length=4096, batch_size=bs)
            plain.generate_until(requests(texts[:2], 4), disable_tqdm=True)
            seconds, out = timed(lambda p=plain: p.generate_until(
                requests(texts, args.new_tokens), disable_tqdm=True))
            base = out if bs == 1 else base
            row[f"plain_bs{bs}_s"] = round(seconds, 2)
            row[f"speedup_vs_bs{bs}"] = round(seconds / t_fast, 1)
            row[f"identical_vs_bs{bs}"] = sum(a == b for a, b in zip(out_fast, out, strict=True))
            del plain
        if args.vllm:
            got = vllm_run(model, tok, texts, args.new_tokens)
            if got is None:
                row["vllm"] = "not importable"
            else:
                row["vllm_s"] = round(got[0], 2)
                row["fast_vs_vllm"] = round(t_fast / got[0], 2)
                row["vllm_identical_vs_bs1"] = sum(a == b for a, b in zip(got[1], base,
                                                                          strict=True))
        rows.append(row)
        print(json.dumps(row), flush=True)
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
