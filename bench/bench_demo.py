"""The demo end to end: `openvsclosed run configs/small.yaml` timed as a newcomer runs it.

Each run goes into a fresh results folder. `--cold` also points the cache folder
(`OVC_CACHE_DIR`: lm-eval's task index, the GGUF model's de-quantized copy) and the datasets
cache (`HF_DATASETS_CACHE`) at empty folders, as on a first run with nothing built;
`--after-setup` does the same, then runs `make setup`'s last step (`python -m
openvsclosed.warm`, timed apart) before the timed run: a newcomer's `make demo`. Reports the
wall time, the child's user + system CPU time (moves less with other people's load), peak
memory, the load average before and after, each job's own time as the run printed it, the sum
of the jobs and the rest (imports, task index, model load), and the scores, so a
faster run can be checked to score the same.

    OVC_DATA_DIR=../shared/benchmarks .venv/bin/python bench/bench_demo.py
        [--cold | --after-setup] [--runs 1]
        [--config configs/small.yaml] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JOB_LINE = re.compile(r"✓ (?P<job>.+?): (?P<metric>\S+) (?P<score>[0-9.]+).*?(?P<secs>[0-9.]+) s\)")


def one_run(config: Path, cold: bool, after_setup: bool = False) -> dict:
    """One `openvsclosed run` in fresh folders; its times, peak memory, job lines and scores."""
    with tempfile.TemporaryDirectory(prefix="ovc-demo-") as tmp:
        env = dict(os.environ)
        setup_s = None
        if cold or after_setup:
            env["OVC_CACHE_DIR"] = str(Path(tmp) / "cache")
            env["HF_DATASETS_CACHE"] = str(Path(tmp) / "hf-datasets")
        if after_setup:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "openvsclosed.warm", str(config)], cwd=REPO,
                           env=env, check=True, capture_output=True)
            setup_s = round(time.perf_counter() - start, 1)
        command = [str(Path(sys.executable).with_name("openvsclosed")), "run", str(config),
                   "--results-dir", str(Path(tmp) / "results")]
        load_before = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env,
                              check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = (done.stdout + done.stderr).splitlines()  # the job lines' stream depends on a TTY
    jobs = [(m["job"], float(m["score"]), float(m["secs"])) for m in map(JOB_LINE.search, lines)
            if m]
    job_s = sum(secs for _, _, secs in jobs)
    return {
        "exit_code": done.returncode, "cold": cold, "after_setup": after_setup,
        "setup_warm_s": setup_s, "wall_s": round(wall, 1),
        "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1),
        "peak_rss_mb": round(after.ru_maxrss / 1024),
        "load_avg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "jobs_s": round(job_s, 1), "outside_jobs_s": round(wall - job_s, 1),
        "jobs": {job: {"score": score, "s": secs} for job, score, secs in jobs},
        "terminal_lines": len(lines),
        "stderr_tail": done.stderr[-1500:] if done.returncode else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "small.yaml")
    parser.add_argument("--cold", action="store_true", help="empty caches, nothing built")
    parser.add_argument("--after-setup", action="store_true",
                        help="empty caches, then make setup's warm step (timed apart)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for _ in range(args.runs):
        rows.append(one_run(args.config.resolve(), args.cold, args.after_setup))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        part = args.out.with_name(args.out.name + ".part")  # atomic: temp file, then rename
        part.write_text(json.dumps({"runs": rows, "cpus": os.cpu_count()}, indent=1))
        os.replace(part, args.out)


if __name__ == "__main__":
    main()
