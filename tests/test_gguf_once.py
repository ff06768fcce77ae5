"""A GGUF parsed once loads the same model, tokenizer and config as transformers' four parses."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_smollm2_gguf_loads_the_same_model_faster(smollm2_dir):
    import contextlib
    import time

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from openvsclosed.models.gguf_once import gguf_parsed_once

    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    loads = {}
    for once in (True, False):
        start = time.process_time()
        with gguf_parsed_once() if once else contextlib.nullcontext():
            tok = AutoTokenizer.from_pretrained(smollm2_dir, gguf_file=gguf)
            model = AutoModelForCausalLM.from_pretrained(smollm2_dir, gguf_file=gguf)
        loads[once] = (tok, model, time.process_time() - start)
    (tok_a, model_a, cpu_a), (tok_b, model_b, cpu_b) = loads[True], loads[False]
    a, b = model_a.state_dict(), model_b.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert model_a.config.to_dict() == model_b.config.to_dict()
    assert tok_a.get_vocab() == tok_b.get_vocab() and tok_a.chat_template == tok_b.chat_template
    assert cpu_a < cpu_b  # SmolLM2: ~3x less CPU time


def test_patches_are_undone():
    gguf = pytest.importorskip("gguf")
    import transformers.modeling_gguf_pytorch_utils as utils

    from openvsclosed.models.gguf_once import gguf_parsed_once

    before = (gguf.GGUFReader, gguf.get_tensor_name_map, utils.load_gguf_checkpoint)
    with gguf_parsed_once():
        assert gguf.GGUFReader is not before[0]
    assert (gguf.GGUFReader, gguf.get_tensor_name_map, utils.load_gguf_checkpoint) == before
