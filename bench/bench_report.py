"""The report and a plan's bookkeeping on a 5,000-record store (issue 19: report under 10 s).

Usage: `.venv/bin/python bench/bench_report.py [--records 5000] [--samples 100]
[--max-samples 1000] [--store DIR] [--profile]`

Builds a store of made-up records (bench_store.build: 100 models x 50 tasks, each record with
between --samples and --max-samples per-document samples) in a temp folder, or reuses the
store in --store DIR when one was built there before (so before/after compare the same bytes).
Then, each in a fresh child process (peak RSS is that child's):
- `has`: "is this job finished" for all keys, once cold and once more (the memo);
- `report`: `openvsclosed report DIR --out ...` with published scores (the default report),
  and with --no-reported (the measured side alone).
`--profile` also prints the report's top cProfile entries (cumulative). Run it against another
checkout with PYTHONPATH=<that>/src to compare before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_store import build, timed

HAS = """
import sys, time
from openvsclosed.store import ResultStore
root = sys.argv[1]
jobs = [tuple(line.split("\\t")) for line in open(sys.argv[2]).read().splitlines()]
store = ResultStore(root)
start = time.perf_counter()
assert all(store.has(m, t, k) for m, t, k in jobs)
cold = time.perf_counter() - start
start = time.perf_counter()
assert all(store.has(m, t, k) for m, t, k in jobs)
print(f"{cold:.2f} {time.perf_counter() - start:.2f}")
"""

PROFILE = """
import cProfile, pstats, sys
from openvsclosed.cli import app
sys.argv = ["openvsclosed", *sys.argv[1:]]
profile = cProfile.Profile()
try:
    profile.runcall(app)
except SystemExit:
    pass
pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
"""


def job_list(root: Path, into: Path) -> int:
    """Every stored job's (model, task, key), read once here so the timed child only asks."""
    from openvsclosed.store import ResultStore

    lines = [f"{r.model.id}\t{r.task}\t{r.key}" for r in ResultStore(root).records()]
    into.write_text("\n".join(lines))
    return len(lines)


def main() -> None:
    """Build or reuse the store, then time `has` and the report in fresh children."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--max-samples", type=int, default=1000)
    parser.add_argument("--store", type=Path, help="keep the store here and reuse it")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OVC_EPOCH_HUB", "/nonexistent")  # the shipped hub, never a user's
    with tempfile.TemporaryDirectory() as tmp:
        root = args.store or Path(tmp) / "store"
        built = root / ".bench-built"
        if not built.is_file():
            shutil.rmtree(root, ignore_errors=True)
            start = time.perf_counter()
            build(root, args.records, args.samples, args.max_samples)
            built.write_text(f"{args.records} {args.samples} {args.max_samples}")
            print(f"built {args.records} records x {args.samples}-{args.max_samples} samples in "
                  f"{time.perf_counter() - start:.1f} s")
        size = sum(p.stat().st_size for p in root.glob("records/*/*/*.json")) / 2**20
        jobs = Path(tmp) / "jobs.tsv"
        count = job_list(root, jobs)
        print(f"store {root}: {count} records, {size:.0f} MiB\n")
        print("| what | wall (s) | peak RSS (MiB) |\n|---|---|---|")
        wall, rss, out = timed([sys.executable, "-c", HAS, str(root), str(jobs)])
        cold, warm = out.strip("[]'").split()
        print(f"| has() for {count} jobs, cold / memo (checks alone {cold} / {warm} s) | "
              f"{wall:.1f} | {rss:.0f} |")
        cli = str(Path(sys.executable).parent / "openvsclosed")
        for flags in ([], ["--no-reported"]):
            out_dir = Path(tmp) / "report"
            shutil.rmtree(out_dir, ignore_errors=True)
            wall, rss, _ = timed([cli, "report", str(root), "--out", str(out_dir), *flags])
            print(f"| report {' '.join(flags) or '(published scores on)'} | {wall:.1f} | "
                  f"{rss:.0f} |")
        if args.profile:
            shutil.rmtree(Path(tmp) / "report", ignore_errors=True)
            subprocess.run([sys.executable, "-c", PROFILE, "report", str(root), "--out",
                            str(Path(tmp) / "report")], stdout=subprocess.DEVNULL, check=False)


if __name__ == "__main__":
    main()
