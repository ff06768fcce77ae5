"""What every first run would build, built once at setup: `python -m openvsclosed.warm [CONFIG]`.

Two results depend only on what is installed, never on a run: lm-eval's task index (~15k YAML
files parsed; `indexcache`) and, for each local GGUF model of the config, its de-quantized copy
(`models/gguf_cache`). `make setup` builds both for the embedded default (`configs/small.yaml`)
so that the demo's first `run` spends its time on the jobs; a run that finds them missing
builds them itself, so this step only moves work, it changes no result. Best effort: a model
that cannot load here is left for the run to report.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def warm(config: Path) -> list[str]:
    """Build the task index and the config's GGUF copies; one line per thing done."""
    from openvsclosed.config import ConfigError, load_config
    from openvsclosed.indexcache import warm as warm_index
    from openvsclosed.specs import LocalModelSpec

    lines = []
    start = time.perf_counter()
    warm_index()
    lines.append(f"lm-eval's task index ready ({time.perf_counter() - start:.1f} s)")
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        return [*lines, f"no model copies: {exc}"]
    for spec in cfg.models:
        if isinstance(spec, LocalModelSpec) and spec.backend == "hf" and (
                spec.model_args.get("gguf_file")) and (spec.fast_scoring or spec.fast_generation):
            lines.append(_warm_model(spec))
    return lines


def _warm_model(spec) -> str:
    from openvsclosed.indexcache import cache_dir
    from openvsclosed.models import load_model, unrunnable_reason
    from openvsclosed.quiet import library_output

    why = unrunnable_reason(spec, {})
    if why:
        return f"{spec.id}: not loaded ({why})"
    start = time.perf_counter()
    try:
        with library_output(cache_dir() / "warm.log"):  # the libraries' bars: a log, not here
            lm = load_model(spec)
    except Exception as exc:  # any failure: the caller goes on as without this step
        return f"{spec.id}: not loaded ({type(exc).__name__}: {exc})"
    done = {"read": "copy already there", "written": "de-quantized copy written"}.get(
        getattr(lm, "gguf_copy", None), "not cached (see models/gguf_cache.py)")
    return f"{spec.id}: {done} ({time.perf_counter() - start:.1f} s)"


def main() -> None:
    """`python -m openvsclosed.warm [CONFIG]` (default: configs/small.yaml)."""
    config = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("configs/small.yaml")
    for line in warm(config):
        print(f"warm: {line}", flush=True)


if __name__ == "__main__":
    main()
