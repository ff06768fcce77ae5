"""One API budget for every Ray actor of a run: a budget actor on the driver's machine.

Each worker's API model asks this actor for every reservation and settlement, so `--max-cost`
holds across machines. The actor runs on the driver's node and keeps the results directory's
ledger (`budget.Budget` with its file lock), so a local run next to this one shares the cap as
well. A driver that is not a node of the cluster (Ray client, `ray://`) gets an in-memory
budget seeded with the ledger's spend, and writes the run's spend into the ledger at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openvsclosed.budget import Budget, BudgetExceeded, read_ledger


class BudgetService:
    """The budget actor's body (wrapped with `ray.remote` at run time, so Ray stays optional)."""

    def __init__(self, max_usd: float | None, root: str | None, spent_usd: float = 0.0) -> None:
        self.budget = Budget(max_usd=max_usd, root=Path(root) if root else None,
                             spent_usd=spent_usd)

    def reserve(self, usd: float) -> str | None:
        """Hold `usd`; the refusal comes back as text (exceptions change shape crossing Ray)."""
        try:
            self.budget.reserve(usd)
        except BudgetExceeded as exc:
            return str(exc)
        return None

    def settle(self, reserved: float, actual: float) -> None:
        """Replace a reservation by what the request cost."""
        self.budget.settle(reserved, actual)

    def spent(self) -> tuple[float, float]:
        """(paid against the ledger in total, paid through this actor)."""
        return self.budget.spent_usd, self.budget.spent_here_usd


class RemoteBudget:
    """What a worker's API model holds in place of a `Budget`: the same two calls, remote."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def reserve(self, usd: float) -> None:
        """Ask the budget actor; raise `BudgetExceeded` here when it refuses."""
        import ray

        refusal = ray.get(self.handle.reserve.remote(usd))
        if refusal:
            raise BudgetExceeded(refusal)

    def settle(self, reserved: float, actual: float) -> None:
        """Report what a request cost (waited for, so the ledger is current before the next)."""
        import ray

        ray.get(self.handle.settle.remote(reserved, actual))


def start_budget_actor(budget: Budget) -> tuple[Any, bool]:
    """The run's budget actor and whether it keeps the ledger file itself."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    actor_class = ray.remote(num_cpus=0, max_restarts=0)(BudgetService)
    client = ray.util.client.ray.is_connected()
    if client or budget.root is None:
        seed = read_ledger(budget.root)["spent_usd"] if budget.root else budget.spent_usd
        return actor_class.remote(budget.max_usd, None, seed), False
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    handle = actor_class.options(scheduling_strategy=here).remote(
        budget.max_usd, str(Path(budget.root).absolute()))
    return handle, True


def close_budget_actor(handle: Any, budget: Budget, keeps_ledger: bool) -> None:
    """Bring the actor's totals back into the driver's `Budget` (and its ledger, if needed)."""
    import ray

    try:
        total, here = ray.get(handle.spent.remote(), timeout=30)
    except Exception:
        return
    if keeps_ledger:
        budget.spent_usd, budget.spent_here_usd = total, budget.spent_here_usd + here
    elif here:
        budget.settle(0.0, here)  # the client driver records what the cluster paid
    ray.kill(handle, no_restart=True)
