"""Ray executor bench: what Ray costs on one small machine, and what more nodes buy API work.

    # 1. configs/small.yaml through `openvsclosed run`, --executor local vs ray (fresh dirs);
    #    --task NAME (repeatable) and --limit N pass through to `run`
    OVC_DATA_DIR=../shared/benchmarks .venv/bin/python bench/bench_ray.py small

    # 2. API-bound work: llm-katan echo (--latency-ms 200), four models x 200 requests,
    #    one simulated node vs three (ray.cluster_utils.Cluster, 1 CPU per node)
    OVC_DATA_DIR=../shared/benchmarks .venv/bin/python bench/bench_ray.py api

Part 2 runs the executor in this process against the mirror's ARC questions through our chat
variants (`ovc_arc_easy_chat`, `ovc_arc_challenge_chat`), each model's 200 requests split over
two tasks of 100, `replicas` actors per model, one request in flight per actor. Nothing is
asserted; figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def bench_small(mirror: str, work: Path, extra: list[str]) -> None:
    """The embedded default through the CLI, each executor in a fresh results directory."""
    exe = str(Path(sys.executable).with_name("openvsclosed"))
    env = {**os.environ, "OVC_DATA_DIR": mirror, "RAY_AUTH_MODE": "disabled",
           "RAY_TMPDIR": str(work)}
    print("| executor | wall (s) | exit | finished |")
    print("|---|---|---|---|")
    for executor in ("local", "ray"):
        out = work / f"small-{executor}"
        start = time.perf_counter()
        done = subprocess.run([exe, "run", "configs/small.yaml", "--results-dir", str(out),
                               "--executor", executor, *extra], cwd=REPO, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
        print(f"| {executor} | {wall:.1f} | {done.returncode} | {last[:60]} |", flush=True)


def api_config(base: str, models: int, docs: int, replicas: int):
    from openvsclosed.config import RunConfig

    return RunConfig.model_validate({
        "name": "bench-ray", "protocol": "chat",
        "defaults": {"num_fewshot": 0, "limit": docs // 2},
        "models": [{"id": f"echo-{n}", "backend": "openai", "access": "closed",
                    "api_model": "echo", "api_key_env": "OVC_BENCH_KEY",
                    "base_url": f"{base}/v1/chat/completions", "input_per_m": 1.0,
                    "output_per_m": 1.0, "num_cpus": 1, "replicas": replicas}
                   for n in range(models)],
        "tasks": [{"name": "arc_easy"}, {"name": "arc_challenge"}],
    })


def bench_api(mirror: str, work: Path, nodes_list: list[int], replicas: int, docs: int,
              models: int) -> None:
    """Same API work on a simulated cluster of 1 and of 3 one-CPU nodes."""
    import ray
    from ray.cluster_utils import Cluster
    from rich.console import Console

    from openvsclosed.executors.ray_cluster import RayExecutor, load_on_worker, worker_evaluator
    from openvsclosed.plan import plan_jobs
    from openvsclosed.store import ResultStore
    from tests.katan import katan, stats

    os.environ.update(OVC_BENCH_KEY="bench", RAY_AUTH_MODE="disabled",
                      PYTHONPATH=str(REPO), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    print("| nodes | jobs | requests sent | wall (s) | requests/s | distinct nodes used |")
    print("|---|---|---|---|---|---|")
    with katan("echo", "--backend", "echo", "--latency-ms", "200", "--max-concurrent", "64",
               log=work / "echo.log") as base:
        for nodes in nodes_list:
            temp = Path(tempfile.mkdtemp(dir=work, prefix=f"ray{nodes}-"))
            cluster = Cluster(initialize_head=True, head_node_args={
                "num_cpus": 1, "temp_dir": str(temp), "include_dashboard": False})
            for _ in range(nodes - 1):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False)
            store = ResultStore(work / f"api-{nodes}")
            plan = plan_jobs(api_config(base, models, docs, replicas), store, env=os.environ)
            before = stats(base)
            executor = RayExecutor(
                load_model=partial(load_on_worker, cache_dir=None),
                make_evaluate=partial(worker_evaluator, mirror, [], False))
            start = time.perf_counter()
            summary = executor.run(plan, store, console=Console(file=open(os.devnull, "w")))  # noqa: SIM115
            wall = time.perf_counter() - start
            sent = stats(base) - before
            used = len({p["node"] for p in summary.placements.values()})
            print(f"| {nodes} | {len(summary.done)}/{len(plan.pending)} | {sent} | {wall:.1f} | "
                  f"{sent / wall:.1f} | {used} |", flush=True)
            ray.shutdown()
            cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["small", "api"])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200, help="per model")
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--task", action="append", default=[], help="small: only this task")
    parser.add_argument("--limit", type=int, help="small: documents per task")
    args = parser.parse_args()
    mirror = os.environ.get("OVC_DATA_DIR") or str(REPO.parent / "shared" / "benchmarks")
    with tempfile.TemporaryDirectory(prefix="ovc-bench-ray-") as tmp:
        if args.part == "small":
            extra = [a for t in args.task for a in ("--task", t)]
            bench_small(mirror, Path(tmp), extra + (["--limit", str(args.limit)]
                                                    if args.limit else []))
        else:
            bench_api(mirror, Path(tmp), args.nodes, args.replicas, args.requests, args.models)


if __name__ == "__main__":
    main()
