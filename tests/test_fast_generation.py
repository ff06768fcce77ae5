"""Batched generation gives lm-eval `hf`'s batch-1 completions: a tiny random LLaMA; SmolLM2 slow.

The tiny model (random weights, the made-up-sentence tokenizer of test_fast_scoring) needs no
download; its stop strings and EOS ids are picked from what lm-eval's own loop generated, so
every way a sequence stops is exercised: a stop string mid-reply, EOS, the token cap, a
truncated prompt. The slow test compares SmolLM2's completions on ARC-Easy by chat and GSM8K
5-shot with lm-eval's batch-1 loop, character for character (fp32 on CPU).
"""

from __future__ import annotations

import pytest
import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

from openvsclosed.models.fast_hf import FAST_GENERATOR, PLAIN_GENERATOR, FastHFLM
from tests.test_fast_scoring import CORPUS, WORDS, tiny_model, tiny_tokenizer


def pair(max_length: int | None = None, **fast_args) -> tuple[FastHFLM, HFLM]:
    tok = tiny_tokenizer(bos=True)
    model = tiny_model(len(tok))
    plain = HFLM(pretrained=model, tokenizer=tok, batch_size=1, max_length=max_length)
    fast = FastHFLM(pretrained=model, tokenizer=tok, max_length=plain._max_length,
                    fast_self_check=False, **fast_args)
    return fast, plain


def prompts() -> list[str]:
    """A shared few-shot block with questions of different lengths, and a few loose prompts."""
    shots = "".join(f"Question: {CORPUS[i]}?\nAnswer: {WORDS[i % 9]}\n\n" for i in range(4))
    asked = [shots + f"Question: {' '.join(CORPUS[40 + q].split()[:3 + 2 * q])}?\nAnswer:"
             for q in range(5)]
    return asked + ["true or false? ", CORPUS[7], f"{CORPUS[3]} because the fox"]


def requests(gen_kwargs: dict) -> list[Instance]:
    return [Instance("generate_until", {}, (p, dict(gen_kwargs)), i)
            for i, p in enumerate(prompts())]


def both(fast: FastHFLM, plain: HFLM, gen_kwargs: dict) -> tuple[list[str], list[str]]:
    return (fast.generate_until(requests(gen_kwargs), disable_tqdm=True),
            plain.generate_until(requests(gen_kwargs), disable_tqdm=True))


def test_same_completions_as_lm_eval_batch_1_with_a_token_cap():
    fast, plain = pair(fast_gen_batch=3)
    got, expected = both(fast, plain, {"until": [], "max_gen_toks": 12, "do_sample": False})
    assert got == expected
    assert all(len(fast.tokenizer.encode(t, add_special_tokens=False)) >= 8 for t in got)
    assert fast.fast_stats["prefix_tokens"] > 0  # the few-shot block ran once per batch
    assert 8 * len(got) < fast.fast_stats["generated_tokens"] <= 12 * len(got)
    assert fast.generator == FAST_GENERATOR


@pytest.mark.parametrize(("long_prompt", "slack", "device"), [
    (0, 1.1, "cpu"),  # every prompt alone, caches merged
    (10_000, 1.0, "cpu"),  # groups of equal length, merged
    (10_000, 100.0, "cpu"),  # one padded group
    (0, 1.1, "gpu"),  # a GPU's plan: the batch in one padded forward
])
def test_prefill_groups_merged_or_one_padded_forward_give_the_same(monkeypatch, long_prompt,
                                                                   slack, device):
    from openvsclosed.models import greedy_batch

    monkeypatch.setattr(greedy_batch, "LONG_PROMPT", long_prompt)
    monkeypatch.setattr(greedy_batch, "PREFILL_SLACK", slack)
    real_groups = greedy_batch.prefill_groups
    seen: list[int] = []

    def groups(batch, p, on_cpu):
        made = real_groups(batch, p, device == "cpu")
        seen.append(len(made))
        return made

    monkeypatch.setattr(greedy_batch, "prefill_groups", groups)
    fast, plain = pair()
    got, expected = both(fast, plain, {"until": ["\n\n"], "max_gen_toks": 10})
    assert got == expected
    padded = fast.fast_stats["padded_prompt_tokens"] > fast.fast_stats["prompt_tokens"]
    assert padded == (long_prompt > 0 and slack > 1.0 or device == "gpu")
    assert (seen == [1]) == (slack == 100.0 or device == "gpu")


def test_decoding_writes_the_cache_in_place_and_grows_it_past_its_room():
    from openvsclosed.models.kv_cache import growing_cache

    keys = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    cache = growing_cache([(keys, -keys)], room=1)
    layer = cache.layers[0]
    buffer = layer.key_buffer
    for step in range(3):
        new = torch.full((2, 3, 1, 5), float(step))
        k, v = cache.update(new, -new, 0)
        assert torch.equal(k, torch.cat([keys] + [torch.full((2, 3, 1, 5), float(i))
                                                  for i in range(step + 1)], dim=2))
        assert torch.equal(v, -k)
        assert (layer.key_buffer is buffer) == (step == 0)  # in place while there is room
    cache.batch_select_indices(torch.tensor([1]))
    assert cache.get_seq_length() == 7 and torch.equal(cache.layers[0].keys[0], k[1])


def test_fast_paths_load_by_file_path_without_the_package_dependencies(tmp_path):
    """A GPU bench loads `fast_hf.py` by path where the package's own dependencies are absent."""
    import subprocess
    import sys
    from pathlib import Path

    import openvsclosed.models.fast_hf as fast_hf

    script = f"""
import importlib.util, sys
sys.modules["openvsclosed.config"] = None  # the package's own dependencies: unimportable
spec = importlib.util.spec_from_file_location("ovc_fast_hf", {str(fast_hf.__file__)!r})
module = importlib.util.module_from_spec(spec)
sys.modules["ovc_fast_hf"] = module
spec.loader.exec_module(module)
assert not hasattr(sys.modules["openvsclosed.models"], "__file__")  # a bare package
assert module.sibling("fast_gen").BatchedGreedy.__module__ == "openvsclosed.models.greedy_batch"
print(module.FastHFLM.__mro__[1].__name__)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "PackedScorer"
    assert Path(fast_hf.__file__).name == "fast_hf.py"


def test_stop_strings_end_each_sequence_where_lm_eval_does():
    fast, plain = pair()
    free, _ = both(fast, plain, {"until": [], "max_gen_toks": 16})
    stops = sorted({t[4:7] for t in free if len(t) > 8})[:2]  # strings the model does write
    assert stops
    fast.fast_stats.clear()
    got, expected = both(fast, plain, {"until": stops, "max_gen_toks": 16})
    assert got == expected
    assert any(len(a) < len(b) for a, b in zip(got, free, strict=True))  # some were cut
    assert fast.fast_stats["generated_tokens"] < 16 * len(got)  # stopped rows left the batch


def test_eos_stops_a_sequence_as_generate_does():
    fast, plain = pair()
    free, _ = both(fast, plain, {"until": [], "max_gen_toks": 10})
    token = fast.tokenizer.encode(free[0], add_special_tokens=False)[3]
    fast.model.generation_config.eos_token_id = token  # one model object serves both
    fast.fast_stats.clear()
    got, expected = both(fast, plain, {"until": [], "max_gen_toks": 10})
    assert got == expected
    assert fast.fast_stats["generated_tokens"] < 10 * len(got)


def test_prompts_truncated_from_the_left_as_lm_eval_does():
    fast, plain = pair(max_length=40)
    got, expected = both(fast, plain, {"until": ["\n\n"], "max_gen_toks": 8})
    assert got == expected


def test_groups_of_settings_and_order_kept():
    fast, plain = pair()
    reqs = [Instance("generate_until", {}, (p, {"until": [], "max_gen_toks": 4 + i % 3}), i)
            for i, p in enumerate(prompts())]
    assert (fast.generate_until(reqs, disable_tqdm=True)
            == plain.generate_until(reqs, disable_tqdm=True))


class RecordingHook:
    def __init__(self) -> None:
        self.calls: dict[tuple, str] = {}

    def add_partial(self, attr: str, req: tuple, res: str) -> None:
        self.calls[(attr, req[0], repr(req[1]))] = res


def test_cache_hook_gets_every_completion():
    fast, plain = pair()
    fast.cache_hook, plain.cache_hook = RecordingHook(), RecordingHook()
    both(fast, plain, {"until": ["\n"], "max_gen_toks": 6})
    assert fast.cache_hook.calls == plain.cache_hook.calls
    assert len(fast.cache_hook.calls) == len(prompts())


@pytest.mark.parametrize("why", ["sampling", "switched off", "generation config"])
def test_what_batching_does_not_reproduce_goes_to_lm_eval(monkeypatch, why):
    fast, plain = pair(fast_generation=why != "switched off")
    kwargs = {"until": [], "max_gen_toks": 5}
    if why == "sampling":
        kwargs.update(do_sample=True, temperature=0.7)
    if why == "generation config":
        fast.model.generation_config.repetition_penalty = 1.3
    seen = []
    real = HFLM.generate_until

    def plain_loop(self, reqs, disable_tqdm=False):
        seen.append(len(reqs))
        return real(self, reqs, disable_tqdm)

    monkeypatch.setattr(HFLM, "generate_until", plain_loop)
    torch.manual_seed(1)
    fast.generate_until(requests(kwargs), disable_tqdm=True)
    assert seen == [len(prompts())]
    assert not fast.fast_stats.get("generated_tokens")
    assert (fast.generator == PLAIN_GENERATOR) == (why == "switched off")


def test_load_model_passes_the_switches(monkeypatch):
    from openvsclosed.config import LocalModelSpec
    from openvsclosed.models import load_model, model_identity

    made = []
    monkeypatch.setattr(HFLM, "create_from_arg_obj",
                        classmethod(lambda cls, args, extra: made.append((cls, extra))
                                    or cls.__new__(cls)))
    spec = LocalModelSpec(id="m", backend="hf", model_args={"pretrained": "x"}, device="cpu")
    load_model(spec.model_copy(update={"fast_scoring": False}))
    load_model(spec.model_copy(update={"fast_generation": False}))
    load_model(spec.model_copy(update={"fast_scoring": False, "fast_generation": False}))
    assert made[0][0] is FastHFLM and made[0][1]["fast_scoring"] is False
    assert made[0][1]["fast_generation"] is True
    assert made[1][0] is FastHFLM and made[1][1]["fast_generation"] is False
    assert made[2][0] is HFLM and "fast_generation" not in made[2][1]
    assert model_identity(spec) == model_identity(
        spec.model_copy(update={"fast_generation": False}))  # not part of job keys


# ---- acceptance on SmolLM2 with the shared mirror (slow) --------------------------------------
@pytest.mark.slow
def test_smollm2_completions_equal_lm_eval_batch_1(smollm2_dir, shared_mirror):
    from lm_eval import simple_evaluate

    from openvsclosed.tasks import build_task_manager

    torch.set_num_threads(2)
    fast = FastHFLM(pretrained=str(smollm2_dir), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
                    device="cpu", batch_size=1)
    assert fast.model.dtype == torch.float32  # the equality below is an fp32 claim
    plain = HFLM(pretrained=fast.model, tokenizer=fast.tokenizer, batch_size=1)
    manager = build_task_manager(data_dir=shared_mirror)
    for task, shots, limit, chat in (("ovc_arc_easy_chat", 0, 8, True), ("gsm8k", 5, 2, False)):
        runs = [simple_evaluate(model=lm, tasks=[task], num_fewshot=shots, limit=limit,
                                apply_chat_template=chat, task_manager=manager,
                                log_samples=True, bootstrap_iters=0) for lm in (fast, plain)]
        got, expected = ({s["doc_id"]: s["resps"][0][0] for s in r["samples"][task]}
                         for r in runs)  # one sample per document and filter
        assert len(got) == limit and got == expected, task
        assert runs[0]["results"][task] == runs[1]["results"][task]
    assert fast.fast_stats["generated_tokens"] > 0 and fast.fast_stats["prefix_tokens"] > 0
