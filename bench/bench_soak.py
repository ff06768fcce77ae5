"""Soak: kill -9 a run at random moments, resume, and count what was lost, redone or corrupt.

Usage (repo root, after `make setup`):
`OVC_DATA_DIR=../shared/benchmarks .venv/bin/python bench/bench_soak.py [--kills 30]`

The kills are split between two runs; each run is killed at random moments once evaluation is
under way (mid-job, mid-request or mid-write), then resumed to the end:
- fake: the deterministic fake backend on made-up toy tasks (tests/fixtures), 10 models x 3 tasks;
- api: six API models against llm-katan's echo backend on 127.0.0.1 with 30% injected errors,
  200 ms latency and a dollar cap that binds (`--max-cost`), on the shared mirror's ARC.
Counted after the final resume:
- lost: jobs neither recorded, nor failed, nor stopped for budget;
- redone: records of finished jobs that a later attempt wrote again (file identity changed);
- corrupt: record files that do not read back; orphan .tmp files left behind;
- key files: files under the results directory holding the API key;
- dollars: the budget ledger vs the cap, and what the server billed (its own token counters
  at the configured prices), which the ledger must cover.
Targets: lost 0, redone 0, corrupt 0, key files 0, server-billed <= ledger <= cap.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
STARTED = ("Overwriting default num_fewshot", "Requesting API", "✓ ")
KEY = "sk-ovc-soak-0123456789"
PRICE_IN, PRICE_OUT = 20.0, 80.0  # $ per million tokens, high so that the cap binds


def snapshot(results: Path) -> dict[str, tuple[int, int]]:
    """Each record file's identity: a rewrite gives a new inode (atomic rename)."""
    found = {}
    for path in (results / "records").glob("*/*/*.json"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        found[str(path)] = (stat.st_ino, stat.st_mtime_ns)
    return found


def attempt(cmd: list[str], env: dict[str, str], log: Path, window_s: float,
            rng: random.Random) -> int | None:
    """Start a run; kill -9 it at a random moment after evaluation starts. None: it ended."""
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if any(marker in log.read_text(errors="replace") for marker in STARTED):
            break
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, window_s))
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        return proc.returncode
    return None


def soak_run(config: Path, results: Path, env: dict[str, str], kills: int, window_s: float,
             extra: list[str], seed: int) -> dict:
    """Kill `kills` times (fewer if the run ends first), then resume to the end."""
    cmd = [str(BIN / "openvsclosed"), "run", str(config), *extra]
    rng = random.Random(seed)
    log = results.parent / f"{results.name}.log"
    killed = redone = 0
    started = time.monotonic()
    while killed < kills:
        before = snapshot(results)
        code = attempt(cmd, env, log, window_s, rng)
        after = snapshot(results)
        redone += sum(1 for path, ident in before.items() if after.get(path, ident) != ident)
        if code is None:
            break  # the run finished before the kill landed: nothing left to kill
        killed += 1
    before = snapshot(results)
    final = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    after = snapshot(results)
    redone += sum(1 for path, ident in before.items() if after.get(path, ident) != ident)
    text = final.stdout + final.stderr
    summary = re.search(r"(\d+) finished, (\d+) failed, (\d+) already done, (\d+) skipped"
                        r"(?:; (\d+) skipped for budget)?", text)
    if not summary and re.search(r"Nothing to run: \d+ jobs already finished", text):
        return {"kills": killed, "redone": redone, "final_exit": final.returncode,
                "failed": 0, "budget_stopped": 0,  # every job finished under the kills
                "wall_s": round(time.monotonic() - started, 1)}
    if not summary:
        raise RuntimeError(f"final resume printed no summary (exit {final.returncode}):\n"
                           f"{text[-3000:]}")
    return {"kills": killed, "redone": redone, "final_exit": final.returncode,
            "failed": int(summary[2]), "budget_stopped": int(summary[5] or 0),
            "wall_s": round(time.monotonic() - started, 1)}


def audit(results: Path, expected: int, run: dict) -> dict:
    """Records that read back, files that do not, and jobs unaccounted for."""
    from openvsclosed.store import ResultStore

    store = ResultStore(results)
    records = list(store.records())
    accounted = len(records) + run["failed"] + run["budget_stopped"]
    orphans = [p for p in results.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]
    key_files = [p for p in results.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    return {"records": len(records), "corrupt": len(store.problems), "orphan_tmp": len(orphans),
            "lost": max(expected - accounted, 0), "key_files": len(key_files)}


def fake_soak(kills: int, tmp: Path) -> dict:
    from tests.helpers import build_toy_mirror

    mirror = build_toy_mirror(tmp / "mirror")
    config = tmp / "fake.yaml"
    models = [{"id": f"fake-{i}", "backend": "fake", "model_args": {"seed": i}}
              for i in range(10)]
    tasks = ["ovc_toy", "ovc_toy_gen", "ovc_toy_mc"]
    results = tmp / "fake-results"
    config.write_text(json.dumps({
        "name": "soak", "results_dir": str(results), "data_dir": str(mirror),
        "task_paths": [str(REPO / "tests" / "fixtures" / "tasks")],
        "defaults": {"num_fewshot": 0}, "models": models, "tasks": tasks}))
    env = {k: v for k, v in os.environ.items() if k != "OVC_DATA_DIR"}  # it overrides data_dir
    run = soak_run(config, results, env, kills, 2.0, [], seed=7)
    return {"run": "fake backend", **run, **audit(results, len(models) * len(tasks), run)}


def server_billed(base: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()

    def total(name: str) -> int:
        return sum(int(n) for n in re.findall(rf"^llm_katan_{name}_total\{{[^}}]*\}} (\d+)",
                                              text, re.MULTILINE))

    return (total("prompt_tokens") * PRICE_IN + total("completion_tokens") * PRICE_OUT) / 1e6


def api_soak(kills: int, tmp: Path, mirror: Path, cap: float) -> dict:
    from openvsclosed.budget import read_ledger
    from tests.katan import katan

    config = tmp / "api.yaml"
    results = tmp / "api-results"
    env = {**os.environ, "OVC_SOAK_KEY": KEY}
    models = 6
    with katan("echo", "--backend", "echo", "--error-rate", "0.3", "--latency-ms", "200",
               log=tmp / "katan.log") as base:
        config.write_text(json.dumps({
            "name": "soak-api", "results_dir": str(results), "data_dir": str(mirror),
            "defaults": {"num_fewshot": 0, "limit": 40},
            "models": [{"id": f"echo-{i}", "backend": "openai", "access": "closed",
                        "api_model": "echo", "api_key_env": "OVC_SOAK_KEY",
                        "base_url": f"{base}/v1/chat/completions", "input_per_m": PRICE_IN,
                        "output_per_m": PRICE_OUT, "attempts": 12, "backoff_s": 0.01,
                        "max_backoff_s": 0.05, "num_concurrent": 4,
                        "max_output_tokens": 400} for i in range(models)],
            "tasks": ["arc_easy", "arc_challenge"]}))
        run = soak_run(config, results, env, kills, 3.0, ["--max-cost", str(cap)], seed=11)
        billed = server_billed(base)
    ledger = read_ledger(results)
    return {"run": "llm-katan, 30% errors", **run, **audit(results, models * 2, run),
            "ledger_usd": round(ledger["spent_usd"], 4), "billed_usd": round(billed, 4),
            "cap_usd": cap}


COLUMNS = ["run", "kills", "records", "failed", "budget_stopped", "lost", "redone", "corrupt",
           "orphan_tmp", "key_files", "billed_usd", "ledger_usd", "cap_usd", "wall_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30, help="split between the two runs")
    parser.add_argument("--cap", type=float, default=3.0, help="--max-cost of the API run")
    args = parser.parse_args()
    mirror = Path(os.environ.get("OVC_DATA_DIR") or REPO.parent / "shared" / "benchmarks")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        print("| " + " | ".join(COLUMNS) + " |", flush=True)
        print("|" + "---|" * len(COLUMNS), flush=True)
        fake_kills = args.kills // 2
        for soak in (lambda: fake_soak(fake_kills, tmp),
                     lambda: api_soak(args.kills - fake_kills, tmp, mirror, args.cap)):
            row = soak()
            print("| " + " | ".join(str(row.get(c, "-")) for c in COLUMNS) + " |", flush=True)


if __name__ == "__main__":
    main()
