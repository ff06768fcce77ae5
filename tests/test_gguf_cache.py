"""A GGUF model's de-quantized copy: the same model, read back instead of re-converted.

Fast tests use a tiny random LLaMA and a stand-in GGUF file (the cache rules only read its
path, size and time); the slow test converts SmolLM2's real GGUF and compares everything a run
depends on (weights bit for bit, config, generation config, tokenizer, lm-eval's settings)
with a fresh GGUF load, then breaks the copy to check it is discarded and rebuilt.
"""

from __future__ import annotations

import os
import time

import pytest
import torch
from lm_eval.models.huggingface import HFLM

from openvsclosed.models import gguf_cache
from tests.test_fast_scoring import tiny_model, tiny_tokenizer


def stand_in(tmp_path, size=64):
    folder = tmp_path / "weights"
    folder.mkdir(exist_ok=True)
    (folder / "m.gguf").write_bytes(b"G" * size)
    return {"pretrained": str(folder), "gguf_file": "m.gguf"}


def test_only_a_plain_local_load_is_cached(tmp_path):
    args = stand_in(tmp_path)
    folder = gguf_cache.cached_folder(tmp_path / "c", args)
    assert folder is not None and folder.parent == tmp_path / "c"
    assert gguf_cache.cached_folder(tmp_path / "c", dict(args)) == folder  # stable
    for changed in ({"peft": "adapter"}, {"revision": "v2"}, {"tokenizer": "other"},
                    {"subfolder": "x"}, {"trust_remote_code": True}, {"delta": "d"},
                    {"gguf_file": "missing.gguf"}, {"pretrained": "org/hub-repo"}):
        assert gguf_cache.cached_folder(tmp_path / "c", {**args, **changed}) is None, changed
    assert gguf_cache.cached_folder(tmp_path / "c", {"pretrained": args["pretrained"]}) is None


def test_the_key_follows_the_file_and_the_dtype(tmp_path):
    args = stand_in(tmp_path)
    first = gguf_cache.cached_folder(tmp_path, args)
    assert gguf_cache.cached_folder(tmp_path, {**args, "dtype": "bfloat16"}) != first
    gguf = tmp_path / "weights" / "m.gguf"
    os.utime(gguf, ns=(time.time_ns(), time.time_ns() + 10**9))
    touched = gguf_cache.cached_folder(tmp_path, args)
    assert touched != first
    gguf.write_bytes(b"G" * 65)
    assert gguf_cache.cached_folder(tmp_path, args) not in (first, touched)


def test_a_saved_copy_loads_as_the_same_model(tmp_path):
    tok = tiny_tokenizer(bos=True)
    model = tiny_model(len(tok))
    folder = gguf_cache.cached_folder(tmp_path / "c", stand_in(tmp_path))
    assert not gguf_cache.is_complete(folder)
    assert gguf_cache.save(model, tok, folder, "weights/m.gguf")
    assert gguf_cache.is_complete(folder)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp-")]
    loaded = HFLM(pretrained=str(folder), device="cpu", batch_size=1)
    before, after = model.state_dict(), loaded.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    text = "the quick fox sings"
    assert loaded.tokenizer(text)["input_ids"] == tok(text)["input_ids"]


def test_a_second_writer_keeps_the_first_copy(tmp_path, monkeypatch):
    """Two runs converting at once: the rename of the second fails, its folder is dropped."""
    tok = tiny_tokenizer(bos=True)
    model = tiny_model(len(tok))
    folder = gguf_cache.cached_folder(tmp_path / "c", stand_in(tmp_path))
    assert gguf_cache.save(model, tok, folder, "a")
    mark = (folder / gguf_cache.MARK).read_text()
    assert gguf_cache.save(model, tok, folder, "b")  # a whole copy is there: fine
    assert (folder / gguf_cache.MARK).read_text() == mark
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_too_large_or_no_room_is_not_copied(tmp_path, monkeypatch):
    tok = tiny_tokenizer(bos=True)
    model = tiny_model(len(tok))
    folder = gguf_cache.cached_folder(tmp_path / "c", stand_in(tmp_path))
    monkeypatch.setattr(gguf_cache, "MAX_BYTES", 1000)
    assert not gguf_cache.save(model, tok, folder, "a") and not folder.exists()
    monkeypatch.setattr(gguf_cache, "MAX_BYTES", 4 << 30)

    class Full:
        free = 10

    monkeypatch.setattr(gguf_cache.shutil, "disk_usage", lambda _: Full())
    assert not gguf_cache.save(model, tok, folder, "a") and not folder.exists()


def test_a_failing_save_leaves_nothing_and_never_fails_the_load(tmp_path):
    tok = tiny_tokenizer(bos=True)
    model = tiny_model(len(tok))

    class Odd:
        def save_pretrained(self, _folder):
            raise AttributeError("made-up tokenizer without files")

    folder = gguf_cache.cached_folder(tmp_path / "c", stand_in(tmp_path))
    assert not gguf_cache.save(model, Odd(), folder, "a")
    assert not folder.exists() and list(folder.parent.iterdir()) == []


def test_old_copies_and_stale_temporary_folders_are_pruned(tmp_path, monkeypatch):
    tok = tiny_tokenizer(bos=True)
    model = tiny_model(len(tok))
    monkeypatch.setattr(gguf_cache, "KEEP", 2)
    root = tmp_path / "c"
    stale = root / ".tmp-killed"
    stale.mkdir(parents=True)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = root / ".tmp-running"
    fresh.mkdir()
    made = []
    for size in (10, 11, 12):
        folder = gguf_cache.cached_folder(root, stand_in(tmp_path, size))
        assert gguf_cache.save(model, tok, folder, str(size))
        made.append(folder)
        time.sleep(0.01)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [made[1].name, made[2].name, ".tmp-running"])


# ---- the real GGUF (slow) ----------------------------------------------------------------------
@pytest.mark.slow
def test_smollm2_copy_is_the_model_the_gguf_gives(tmp_path, smollm2_dir):
    from openvsclosed.models.fast_hf import FastHFLM

    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    args = {"pretrained": str(smollm2_dir), "gguf_file": gguf, "device": "cpu",
            "batch_size": 1}
    fresh = HFLM(**args)
    first = FastHFLM(**args, gguf_cache=str(tmp_path / "c"))
    second = FastHFLM(**args, gguf_cache=str(tmp_path / "c"))
    assert (first.gguf_copy, second.gguf_copy) == ("written", "read")

    a, b = fresh.model.state_dict(), second.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert {v.dtype for v in b.values()} == {torch.float32}
    ca, cb = fresh.model.config.to_dict(), second.model.config.to_dict()
    differ = {k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k)}
    assert differ <= {"_name_or_path", "quantization_config"}
    assert fresh.model.generation_config.to_dict() == second.model.generation_config.to_dict()
    ta, tb = fresh.tokenizer, second.tokenizer
    assert ta.get_vocab() == tb.get_vocab() and ta.all_special_tokens == tb.all_special_tokens
    texts = ["Made-up question: how many blue boats sail past seven green birds?\nAnswer:",
             "  spaces\n\nand\ttabs", "accents é ü and a robot 🤖", " B", "", "<|im_end|>"]
    for text in texts:
        for special in (True, False):
            assert ta(text, add_special_tokens=special)["input_ids"] == tb(
                text, add_special_tokens=special)["input_ids"], text
    chat = [{"role": "user", "content": "Which made-up colour is the fox?"}]
    assert ta.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) == (
        tb.apply_chat_template(chat, tokenize=False, add_generation_prompt=True))
    for name in ("max_length", "eot_token_id", "prefix_token_id", "add_bos_token",
                 "max_gen_toks"):
        assert getattr(fresh, name) == getattr(second, name), name

    folder = gguf_cache.cached_folder(tmp_path / "c", args)
    (folder / "model.safetensors").write_bytes(b"broken")  # a damaged copy
    third = FastHFLM(**args, gguf_cache=str(tmp_path / "c"))
    assert third.gguf_copy == "written"  # discarded, the GGUF loaded, a new copy written
    assert all(torch.equal(a[k], third.model.state_dict()[k]) for k in a)


def test_setup_warm_step_builds_the_index_and_reports_a_model_it_cannot_load(tmp_path,
                                                                            monkeypatch):
    """`make setup`'s last step is best effort: a model that fails is named, never fatal."""
    from openvsclosed.warm import warm

    monkeypatch.setenv("OVC_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "weights").mkdir()
    config = tmp_path / "c.yaml"
    config.write_text(f"""name: w
results_dir: {tmp_path / 'results'}
models:
  - id: made-up-local
    backend: hf
    model_args: {{pretrained: {tmp_path / 'weights'}, gguf_file: absent.gguf}}
  - id: made-up-fake
    backend: fake
tasks: [arc_easy]
""")
    lines = warm(config)
    assert lines[0].startswith("lm-eval's task index ready")
    assert len(lines) == 2 and lines[1].startswith("made-up-local: not loaded (")
    assert list((tmp_path / "cache").glob("task-index-*.pickle"))
    assert warm(tmp_path / "missing.yaml")[1].startswith("no model copies: ")
