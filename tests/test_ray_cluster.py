"""A simulated three-node Ray cluster (`ray.cluster_utils.Cluster`, one CPU each) spreads jobs.

Its own module: one Ray per process at a time, and this one joins by address like a real
cluster (`--ray-address`), with the provider cap declared on one node only.
"""

import pytest

from tests.conftest import require_module
from tests.helpers import run_config
from tests.ray_helpers import contained_ray_env, run_on_ray, scores

pytestmark = pytest.mark.slow  # a real Ray cluster: the slow tier

ray = require_module("ray")


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory):
    from ray.cluster_utils import Cluster

    temp = tmp_path_factory.mktemp("ray3")
    with contained_ray_env(temp):
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "temp_dir": str(temp), "include_dashboard": False})
        for _ in range(2):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        try:
            yield cluster
        finally:
            ray.shutdown()
            cluster.shutdown()


def test_three_models_run_on_three_nodes_at_once(three_nodes, toy_mirror, tmp_path):
    models = [{"id": f"open-{n}", "backend": "fake", "model_args": {"seed": n}}
              for n in range(3)]
    cfg = run_config(models=models, tasks=[{"name": "ovc_toy_mc"}, {"name": "ovc_toy_gen"}])
    plan, summary, store = run_on_ray(cfg, tmp_path, toy_mirror)
    assert summary.exit_code == 0 and len(summary.done) == 6 == len(plan.pending)
    where = summary.placements
    nodes = {job.model.id: where[job.model.id, job.key]["node"] for job in summary.done}
    assert len(set(nodes.values())) == 3  # one CPU per node: each model on its own node
    by_model = {}
    for job in summary.done:
        by_model.setdefault(job.model.id, set()).add(where[job.model.id, job.key]["pid"])
    assert all(len(pids) == 1 for pids in by_model.values())  # each model loaded once
    assert len(scores(store)) == 6
