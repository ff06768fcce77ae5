"""Soak: kill -9 a run at random moments, resume, and count what was lost, redone or corrupt.

Usage (repo root, after `make setup`): `.venv/bin/python bench/bench_soak.py [--kills 30]`
Two runs, each killed `--kills` times at random moments after evaluation started, then resumed
to the end:
- fake: the deterministic fake backend on made-up toy tasks (tests/fixtures), 4 models;
- api: an API model against llm-katan's echo backend on 127.0.0.1 with 30% injected errors and
  a dollar cap that binds (`--max-cost`), on the shared mirror's ARC-Easy.
Reports jobs lost (not finished after the final resume), redone (a job reported finished twice),
corrupt (records that do not read back) and, for the API run, dollars in the budget ledger vs
the cap. Targets: 0, 0, 0, <= cap.
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
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
DONE = re.compile(r"✓ (\S+ × \S+)")


def run_killed(config: Path, results: Path, env: dict[str, str], kills: int, window_s: float,
               extra: list[str]) -> tuple[Counter, int]:
    """Run, kill -9 `kills` times once evaluation is under way, then run to the end.

    "Under way": a new record appeared since the attempt started (or 90 s passed); the kill
    then lands at a random moment within `window_s`, mid-job or mid-write.
    """
    finished: Counter = Counter()
    killed = 0
    cmd = [str(BIN / "openvsclosed"), "run", str(config), *extra]
    rng = random.Random(7)

    def count() -> int:
        return len(list((results / "records").glob("*/*/*.json")))

    while killed < kills:
        with tempfile.TemporaryFile("w+") as log:
            before = count()
            proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=log)
            deadline = time.monotonic() + 90
            while proc.poll() is None and count() == before and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(rng.uniform(0.0, window_s))
            if proc.poll() is None:
                proc.kill()
                killed += 1
            proc.wait()
            log.seek(0)
            text = log.read()
        finished.update(DONE.findall(text))
        if proc.returncode == 0 and killed < kills and count() == before:
            break  # nothing left to do: the run finished before it could be killed
    final = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    finished.update(DONE.findall(final.stdout + final.stderr))
    return finished, killed


def audit(results: Path, expected: int) -> dict[str, int]:
    """Records that read back, and files that do not."""
    from openvsclosed.store import ResultStore

    store = ResultStore(results)
    records = list(store.records())
    return {"records": len(records), "corrupt": len(store.problems),
            "lost": max(expected - len(records), 0)}


def fake_soak(kills: int, tmp: Path) -> dict:
    from tests.helpers import build_toy_mirror

    mirror = build_toy_mirror(tmp / "mirror")
    config = tmp / "fake.yaml"
    models = [{"id": f"fake-{i}", "backend": "fake", "model_args": {"seed": i}}
              for i in range(4)]
    tasks = ["ovc_toy", "ovc_toy_gen", "ovc_toy_mc"]
    config.write_text(json.dumps({
        "name": "soak", "results_dir": str(tmp / "fake-results"), "data_dir": str(mirror),
        "task_paths": [str(REPO / "tests" / "fixtures" / "tasks")],
        "defaults": {"num_fewshot": 0}, "models": models, "tasks": tasks}))
    finished, killed = run_killed(config, tmp / "fake-results", dict(os.environ), kills, 4.0,
                                  [])
    counts = audit(tmp / "fake-results", len(models) * len(tasks))
    return {"run": "fake", "kills": killed, "redone": sum(n - 1 for n in finished.values()
                                                          if n > 1), **counts}


def api_soak(kills: int, tmp: Path, mirror: Path, cap: float) -> dict:
    from openvsclosed.budget import read_ledger
    from tests.katan import katan

    config = tmp / "api.yaml"
    env = {**os.environ, "OVC_SOAK_KEY": "sk-ovc-soak"}
    with katan("echo", "--backend", "echo", "--error-rate", "0.3",
               log=tmp / "katan.log") as base:
        config.write_text(json.dumps({
            "name": "soak-api", "results_dir": str(tmp / "api-results"), "data_dir": str(mirror),
            "defaults": {"num_fewshot": 0, "limit": 30},
            "models": [{"id": f"echo-{i}", "backend": "openai", "access": "closed",
                        "api_model": "echo", "api_key_env": "OVC_SOAK_KEY",
                        "base_url": f"{base}/v1/chat/completions", "input_per_m": 300.0,
                        "output_per_m": 900.0, "attempts": 12, "backoff_s": 0.01,
                        "max_backoff_s": 0.05, "num_concurrent": 4} for i in range(3)],
            "tasks": ["arc_easy", "arc_challenge"]}))
        finished, killed = run_killed(config, tmp / "api-results", env, kills, 3.0,
                                      ["--max-cost", str(cap)])
    ledger = read_ledger(tmp / "api-results")
    counts = audit(tmp / "api-results", 6)
    return {"run": "api (30% errors)", "kills": killed,
            "redone": sum(n - 1 for n in finished.values() if n > 1), **counts,
            "ledger_usd": round(ledger["spent_usd"], 4), "cap_usd": cap}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--cap", type=float, default=0.5)
    args = parser.parse_args()
    mirror = Path(os.environ.get("OVC_DATA_DIR") or REPO.parent / "shared" / "benchmarks")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        print("| run | kills | records | lost | redone | corrupt | ledger $ | cap $ |", flush=True)
        print("|---|---|---|---|---|---|---|---|", flush=True)
        for soak in (lambda: fake_soak(args.kills, tmp),
                     lambda: api_soak(args.kills, tmp, mirror, args.cap)):
            r = soak()
            print(f"| {r['run']} | {r['kills']} | {r['records']} | {r['lost']} | {r['redone']} "
                  f"| {r['corrupt']} | {r.get('ledger_usd', '-')} | {r.get('cap_usd', '-')} |",
                  flush=True)


if __name__ == "__main__":
    main()
