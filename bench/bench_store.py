"""Bookkeeping on a large store: "is this job finished" for every job, and the report.

Usage: `.venv/bin/python bench/bench_store.py [--records 5000] [--samples 100]`
Builds a store of made-up records (models x tasks, each with per-document samples) in a temp
folder, then times, each in a fresh child process (peak RSS is that child's):
- `has`: a plan's check of every job (twice, as a run does: before and under the lock);
- `report`: `openvsclosed report` on the store, published scores off.
Run it against another checkout with PYTHONPATH=<that>/src to compare before and after.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HAS = """
import sys, time
from openvsclosed.store import ResultStore
store = ResultStore(sys.argv[1])
records = [(p.parts[-3], p.parts[-2], p.stem) for p in store.root.glob("records/*/*/*.json")]
keys = {}
for rec in store.records():
    keys[(rec.model.id, rec.task)] = rec.key
start = time.perf_counter()
for _ in range(2):
    assert all(store.has(m, t, k) for (m, t), k in keys.items())
print(time.perf_counter() - start)
"""


def build(root: Path, n_records: int, n_samples: int, max_samples: int | None = None) -> None:
    """Made-up records (50 tasks per model) with `n_samples` per document, up to `max_samples`.

    With `max_samples`, record i holds a deterministic count in [n_samples, max_samples], so
    file sizes vary the way real tasks' do.
    """
    from openvsclosed.schema import (
        JobKeyFields,
        MetricRecord,
        ModelIdentity,
        ResultRecord,
        SampleRecord,
    )
    from openvsclosed.store import ResultStore

    store = ResultStore(root)
    tasks = 50
    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    for i in range(n_records):
        model, task = f"model-{i // tasks:03d}", f"task_{i % tasks:02d}"
        access = "open" if (i // tasks) % 2 else "closed"
        count = n_samples if max_samples is None else \
            n_samples + (i * 7919) % (max_samples - n_samples + 1)
        fields = JobKeyFields(key_scheme=2, model={"backend": "fake", "args": {"seed": i}},
                              task=task, num_fewshot=0, limit=None, seed=[0, 1, 2, 3],
                              protocol="native", lm_eval_version="0.4.13", lm_eval_task=task,
                              chat_template=False, task_hash=None)
        samples = [SampleRecord(task=task, doc_id=d, doc_hash=f"h{d}", filter="none",
                                target="A", scores={"acc": float((d * 7 + i) % 3 == 0)},
                                resps=[["A"]], filtered_resps=["A"])
                   for d in range(count)]
        store.put(ResultRecord(
            key=fields.key(), key_fields=fields, task=task, n=count,
            model=ModelIdentity(id=model, label=model, access=access, organization="Org",
                                backend="fake", released=f"2024-{1 + (i // tasks) % 12:02d}-01"),
            metrics=[MetricRecord(name="acc", filter="none", value=0.5, stderr=0.05)],
            primary_metric="acc,none", num_fewshot=0, lm_eval_version="0.4.13",
            seed=[0, 1, 2, 3], started_at=when, finished_at=when, duration_s=1.0,
            samples=samples))


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and last output line of `cmd` run in a fresh child."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "out = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "usage = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(out.stdout.strip().splitlines()[-1:] or [''], file=sys.stderr); "
             "print(time.perf_counter() - t, usage.ru_maxrss, out.returncode, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True)
    *_, last = done.stderr.strip().splitlines()
    wall, rss, rc = last.split()
    if rc != "0":
        raise SystemExit(f"{cmd} failed:\n{done.stderr[-2000:]}")
    return float(wall), int(rss) / 1024, done.stderr.strip().splitlines()[-2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        start = time.perf_counter()
        build(root, args.records, args.samples)
        print(f"built {args.records} records x {args.samples} samples in "
              f"{time.perf_counter() - start:.1f} s")
        wall, rss, out = timed([sys.executable, "-c", HAS, str(root)])
        print(f"| has() x2 for every job | {wall:.1f} s (checks alone {out}) | {rss:.0f} MiB |")
        report = [str(Path(sys.executable).parent / "openvsclosed"), "report", str(root),
                  "--no-reported", "--out", str(Path(tmp) / "report")]
        wall, rss, _ = timed(report)
        print(f"| report | {wall:.1f} s | {rss:.0f} MiB |")


if __name__ == "__main__":
    main()
