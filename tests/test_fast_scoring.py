"""Fast scoring gives lm-eval `hf`'s answers: tiny random models here, SmolLM2 on the mirror (slow).

The tiny models (random LLaMA weights, a tokenizer trained on made-up sentences) need no
download and run in seconds; they exercise shared prefixes, shared continuations on different
contexts, truncation, empty contexts without a BOS token, the cache hook, request order, the
rolling path and the fall-back. The slow test compares per-question answers, per-choice
log-likelihoods and aggregate metrics with plain `HFLM` on five real tasks.
"""

from __future__ import annotations

import math

import pytest
import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from openvsclosed.models.fast_hf import FAST_SCORER, PLAIN_SCORER, FastHFLM

TOL = 1e-4
WORDS = ["the", "red", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "green",
         "birds", "sing", "about", "rivers,", "mountains", "and", "small", "blue", "boats;",
         "question", "answer", "choice", "true", "false", "maybe"]
CORPUS = [" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(12)) for i in range(200)]


def tiny_tokenizer(bos: bool) -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    if bos:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A",
                                                           special_tokens=[("<s>", 0)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>" if bos else None,
                                   eos_token="</s>", pad_token="<pad>")


def tiny_model(vocab: int, attn: str = "sdpa") -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, initializer_range=0.3,
                         attn_implementation=attn)
    return LlamaForCausalLM(config).eval()


def made_up_requests() -> list[Instance]:
    """Questions sharing a few-shot block, multi-token choices, a shared continuation, etc."""
    shots = "".join(f"Question: {CORPUS[i]}?\nAnswer: {WORDS[i % 9]}\n\n" for i in range(6))
    args: list[tuple[str, str]] = []
    for q in range(5):
        ctx = shots + f"Question: {CORPUS[40 + q]}?\nAnswer:"
        args += [(ctx, " " + c) for c in ("red", "blue boats sing", "a lazy dog while", "fox")]
    for option in ("the fox", "the dog"):  # winogrande-like: contexts differ, continuation same
        args.append((f"{CORPUS[3]} because {option}", " jumps over seven green birds"))
    args += [("true or false? ", "true"), ("", "maybe the river sings"),
             (CORPUS[5], " red"), (CORPUS[5], " red")]  # trailing space, empty context, twice
    return [Instance("loglikelihood", {}, a, i) for i, a in enumerate(args)]


class RecordingHook:
    def __init__(self) -> None:
        self.calls: dict[tuple, tuple[float, bool]] = {}

    def add_partial(self, attr: str, req: tuple, res: tuple[float, bool]) -> None:
        self.calls[(attr, *req)] = res


def assert_same(fast: list, plain: list) -> None:
    assert len(fast) == len(plain)
    for i, ((a, ga), (b, gb)) in enumerate(zip(fast, plain, strict=True)):
        assert math.isclose(a, b, abs_tol=TOL), (i, a, b)
        assert ga == gb, (i, ga, gb)


def pair(bos: bool = True, attn: str = "sdpa", **fast_args) -> tuple[FastHFLM, HFLM]:
    tok = tiny_tokenizer(bos)
    model = tiny_model(len(tok), attn)
    plain = HFLM(pretrained=model, tokenizer=tok, batch_size=3, max_length=fast_args.pop(
        "max_length", None))
    fast = FastHFLM(pretrained=model, tokenizer=tok, max_length=plain._max_length,
                    fast_self_check=False, **fast_args)
    return fast, plain


def test_batch_tokenization_gives_lm_eval_tokens(monkeypatch):
    for bos in (True, False):
        fast, plain = pair(bos=bos)
        seen = {}
        for name, lm in (("fast", fast), ("plain", plain)):
            def capture(reqs, disable_tqdm=False, n=name, s=seen):
                return s.setdefault(n, reqs)

            monkeypatch.setattr(lm, "_loglikelihood_tokens", capture)
            lm.loglikelihood(made_up_requests(), disable_tqdm=True)
        assert seen["fast"] == seen["plain"]


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_same_loglikelihoods_greedy_flags_and_order_as_plain_hf(attn):
    fast, plain = pair(attn=attn, fast_batch_tokens=96)
    requests = made_up_requests()
    assert_same(fast.loglikelihood(requests, disable_tqdm=True),
                plain.loglikelihood(requests, disable_tqdm=True))
    assert fast.fast_stats["prefix_tokens"] > 0  # the shared few-shot block ran once
    assert fast.fast_stats["forward_calls"] > 2  # the budget split the rows into batches
    assert fast.scorer == FAST_SCORER


def test_truncation_to_max_length_matches_plain_hf():
    fast, plain = pair(max_length=40)
    requests = made_up_requests()
    assert_same(fast.loglikelihood(requests, disable_tqdm=True),
                plain.loglikelihood(requests, disable_tqdm=True))


def test_model_without_bos_token():
    fast, plain = pair(bos=False)
    assert fast.tokenizer.bos_token_id is None
    requests = made_up_requests()
    assert_same(fast.loglikelihood(requests, disable_tqdm=True),
                plain.loglikelihood(requests, disable_tqdm=True))


def test_cache_hook_gets_every_request():
    fast, plain = pair()
    fast.cache_hook, plain.cache_hook = RecordingHook(), RecordingHook()
    requests = made_up_requests()
    fast.loglikelihood(requests, disable_tqdm=True)
    plain.loglikelihood(requests, disable_tqdm=True)
    assert fast.cache_hook.calls.keys() == plain.cache_hook.calls.keys()
    assert len(fast.cache_hook.calls) == len({r.args for r in requests})
    for key, (value, greedy) in plain.cache_hook.calls.items():
        assert math.isclose(fast.cache_hook.calls[key][0], value, abs_tol=TOL)
        assert fast.cache_hook.calls[key][1] == greedy


def test_rolling_loglikelihood_matches_plain_hf():
    fast, plain = pair(max_length=32)
    requests = [Instance("loglikelihood_rolling", {}, (" ".join(CORPUS[i:i + 4]),), i)
                for i in range(3)]
    for a, b in zip(fast.loglikelihood_rolling(requests, disable_tqdm=True),
                    plain.loglikelihood_rolling(requests, disable_tqdm=True), strict=True):
        assert math.isclose(a, b, abs_tol=10 * TOL)


def test_self_check_passes_then_mismatch_falls_back_to_plain(monkeypatch):
    fast, plain = pair()
    fast.fast_self_check = True
    requests = made_up_requests()
    expected = plain.loglikelihood(requests, disable_tqdm=True)
    assert_same(fast.loglikelihood(requests, disable_tqdm=True), expected)
    assert fast.fast_disabled is None and fast.scorer == FAST_SCORER

    broken, _ = pair()
    broken.fast_self_check = True
    real = FastHFLM._fast_scores

    def off_by_one(self, reqs, disable_tqdm, count=True):
        return [(ll + 1.0, g) for ll, g in real(self, reqs, disable_tqdm, count)]

    monkeypatch.setattr(FastHFLM, "_fast_scores", off_by_one)
    assert_same(broken.loglikelihood(requests, disable_tqdm=True), expected)
    assert broken.fast_disabled and broken.scorer == PLAIN_SCORER


def test_prompts_longer_than_a_sliding_window_are_scored_plainly():
    fast, plain = pair()
    fast.model.config.sliding_window = 16  # our full causal mask would look past the window
    requests = made_up_requests()
    assert_same(fast.loglikelihood(requests, disable_tqdm=True),
                plain.loglikelihood(requests, disable_tqdm=True))
    assert not fast.fast_stats  # nothing went through the fast path


def test_load_model_picks_the_scorer_from_the_spec(monkeypatch):
    from openvsclosed.config import LocalModelSpec
    from openvsclosed.models import load_model, model_identity

    made = []
    monkeypatch.setattr(HFLM, "create_from_arg_obj",
                        classmethod(lambda cls, args, extra: made.append(cls) or cls.__new__(cls)))
    fast_spec = LocalModelSpec(id="m", backend="hf", model_args={"pretrained": "x"}, device="cpu")
    plain_spec = fast_spec.model_copy(update={"fast_scoring": False, "fast_generation": False})
    assert load_model(fast_spec).scorer == FAST_SCORER
    assert load_model(plain_spec).scorer == PLAIN_SCORER
    assert made[0] is FastHFLM and made[1] is HFLM
    assert model_identity(fast_spec) == model_identity(plain_spec)  # not part of job keys


# ---- acceptance on SmolLM2 with the shared mirror (slow) --------------------------------------
ACCEPTANCE = [  # (tasks, shots, limit)
    (["arc_easy", "winogrande", "piqa"], 0, 5),
    (["arc_challenge"], 25, 3),
    (["mmlu_anatomy", "mmlu_astronomy", "mmlu_college_physics"], 5, 3),
]


@pytest.fixture(scope="module")
def smollm2_pair(smollm2_dir):
    torch.set_num_threads(2)
    fast = FastHFLM(pretrained=str(smollm2_dir), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
                    device="cpu", batch_size=1)
    assert fast.model.dtype == torch.float32
    plain = HFLM(pretrained=fast.model, tokenizer=fast.tokenizer, batch_size=1)
    return fast, plain


@pytest.fixture(scope="module")
def mirror_tasks(shared_mirror):
    from openvsclosed.tasks import build_task_manager

    return build_task_manager(data_dir=shared_mirror)


@pytest.mark.slow
@pytest.mark.parametrize(("tasks", "shots", "limit"), ACCEPTANCE,
                         ids=[t[0][0] for t in ACCEPTANCE])
def test_smollm2_answers_equal_plain_lm_eval(smollm2_pair, mirror_tasks, tasks, shots, limit):
    from lm_eval import simple_evaluate

    runs = {}
    for name, lm in zip(("fast", "plain"), smollm2_pair, strict=True):
        runs[name] = simple_evaluate(model=lm, tasks=tasks, num_fewshot=shots, limit=limit,
                                     task_manager=mirror_tasks, log_samples=True,
                                     bootstrap_iters=0)
    assert smollm2_pair[0].fast_disabled is None
    for task in tasks:
        fast, plain = runs["fast"]["samples"][task], runs["plain"]["samples"][task]
        assert len(fast) == len(plain) == limit
        for f, p in zip(fast, plain, strict=True):
            assert f["doc_id"] == p["doc_id"]
            for metric in ("acc", "acc_norm"):
                assert f.get(metric) == p.get(metric), (task, f["doc_id"], metric)
            lls_f = [r[0] for r in f["filtered_resps"]]
            lls_p = [r[0] for r in p["filtered_resps"]]
            assert max(abs(a - b) for a, b in zip(lls_f, lls_p, strict=True)) <= TOL
            assert lls_f.index(max(lls_f)) == lls_p.index(max(lls_p))  # the chosen answer
        for metric in ("acc,none", "acc_norm,none"):
            assert runs["fast"]["results"][task].get(metric) == \
                runs["plain"]["results"][task].get(metric), (task, metric)
