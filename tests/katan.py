"""Real llm-katan servers on 127.0.0.1 for the API tests (started, awaited, stopped)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def export_hf_checkpoint(gguf_dir: Path, out: Path) -> Path:
    """A plain HF folder from the SmolLM2 GGUF (llm-katan cannot read GGUF)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=GGUF,
                                                  torch_dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = LlamaForCausalLM(config)
    plain.load_state_dict(loaded.state_dict())
    plain.save_pretrained(out)
    AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF).save_pretrained(out)
    return out


def stats(base: str) -> int:
    """Requests the server has answered, by its own Prometheus counter."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(r"^llm_katan_requests_total\{[^}]*\} (\d+)", text, re.MULTILINE)
    if not found:
        raise RuntimeError(f"no request counter in {base}/metrics")
    return int(found.group(1))


@contextmanager
def katan(model: str, *extra: str, log: Path, ready_s: float = 180):
    """Run `llm-katan` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    exe = shutil.which("llm-katan", path=str(Path(sys.executable).parent)) or "llm-katan"
    cmd = [exe, "--model", model, "--host", "127.0.0.1", "--port", str(port),
           "--providers", "openai,anthropic", "--stats-file", str(log.with_suffix(".stats")),
           "--disable-dashboard", "--log-level", "warning", *extra]
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llm-katan exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llm-katan not ready: {log.read_text()[-2000:]}") from None
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def api_model(model_id: str, base: str, backend: str = "openai", **extra: object) -> dict:
    """A closed-model spec pointing at a llm-katan (or proxy) base URL, key from OVC_KATAN_KEY."""
    path = "/v1/messages" if backend == "anthropic" else "/v1/chat/completions"
    return {"id": model_id, "backend": backend, "access": "closed", "api_model": "smollm2",
            "api_key_env": "OVC_KATAN_KEY", "base_url": base + path, "input_per_m": 2.5,
            "output_per_m": 10.0, "backoff_s": 0.01, "max_backoff_s": 0.05, **extra}
