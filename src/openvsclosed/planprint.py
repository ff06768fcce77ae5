"""How a plan is shown before a run: skips, the plan table, spend and GPU-time estimates."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from openvsclosed.cliapp import _err, _out
from openvsclosed.console import say


def print_gpu_estimate(plan, manager) -> None:
    """Rough GPU-hours for the local models' pending jobs (gpu_estimate.py says how)."""
    from openvsclosed.gpu_estimate import estimate_gpu_hours

    rows = estimate_gpu_hours(plan.pending, manager) if plan.pending else []
    if not rows:
        return
    table = Table(title="Estimated GPU time (rough: H100-class, see gpu_estimate.py)")
    for col in ("Model", "GPUs per copy", "Prefill tokens", "Generated tokens", "GPU-hours"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r.model_id, f"{r.gpus:g}", str(r.prefill_tokens), str(r.decode_tokens),
                      "unknown size" if r.hours is None else f"{r.hours:.2f}")
    _out().print(table)
    total = sum(r.hours or 0.0 for r in rows)
    _out().print(f"About {total:.1f} GPU-hours in all (at $2/GPU-hour: ${2 * total:.0f}).")
    for problem in sorted({p for r in rows for p in r.uncounted}):
        say(_err(), ("not counted", "yellow"), f" (its documents could not be loaded): {problem}")


def batch_usd(row, spec) -> float | None:
    """A row's dollars at the model's batch prices (None: no batch price known)."""
    prices = (spec.batch_input_per_m, spec.batch_output_per_m)
    if None in prices:
        return None
    return (row.input_tokens * prices[0] + row.output_tokens * prices[1]) / 1e6


def print_estimate(plan, manager, budget, root: Path) -> None:
    """Upper bounds of API spend per model, at list and batch prices, against the cap.

    A batched model is reserved at its batch price, so the total counts that price for it.
    """
    from openvsclosed.estimate import estimate_jobs

    specs = {j.model.id: j.model for j in plan.pending if j.model.is_api}
    rows = estimate_jobs([j for j in plan.pending if j.model.is_api], manager)
    table = Table(title="Estimated API spend (upper bound: full output allowance per request)")
    for col in ("Model", "Requests", "Input tokens", "Output tokens", "Dollars (list)",
                "Dollars (batch)", "Sent as"):
        table.add_column(col, justify="right")
    total = 0.0
    for r in rows:
        spec = specs[r.model_id]
        batch = batch_usd(r, spec)
        table.add_row(r.model_id, str(r.requests), str(r.input_tokens), str(r.output_tokens),
                      "no price" if r.usd is None else f"{r.usd:.4f}",
                      "no batch price" if batch is None else f"{batch:.4f}",
                      "batch" if spec.batched else "live")
        total += (batch if spec.batched and batch is not None else r.usd) or 0.0
    _out().print(table)
    from openvsclosed.budget import read_ledger

    paid = read_ledger(root)["spent_usd"]
    cap = (f" against a budget of ${budget:g} (${paid:.4f} already spent here, all runs)"
           if budget is not None else "")
    _out().print(f"At most about ${total:.4f}{cap} (batched models at batch prices); cached "
                 "responses cost nothing.")
    for problem in sorted({p for r in rows for p in r.uncounted}):
        say(_err(), ("not counted", "yellow"), f" (its documents could not be loaded): {problem}")


def print_skips(plan) -> None:
    """One line per model and reason (a missing key skips all of a model's jobs at once)."""
    seen: set[str] = set()
    for job, reason in plan.skipped:
        if (job.model.id, reason) not in seen:
            seen.add((job.model.id, reason))
            what = job.model.id if reason.endswith("is not set") else job.label
            _err().print(f"skipping {what}: {reason}", highlight=False, soft_wrap=True)


def print_plan(plan, root: Path) -> None:
    """Every job with its protocol, shots, limit and status; who sees each private task."""
    table = Table(title=f"Plan (results in {root})")
    for col in ("Model", "Task", "Protocol", "Shots", "Limit", "Status"):
        table.add_column(col)
    rows = [(j, "finished") for j in plan.finished] + [(j, "to run") for j in plan.pending]
    rows += [(j, f"skipped: {why}") for j, why in plan.skipped]
    for job, status in rows:
        f = job.key_fields
        table.add_row(job.model.id, job.task.name,
                      job.protocol + ("" if job.lm_eval_task == job.task.name
                                      else f" ({job.lm_eval_task})"),
                      "default" if f.num_fewshot is None else str(f.num_fewshot),
                      "all" if f.limit is None else f"{f.limit:g}", status)
    _out().print(table)
    _out().print(f"{len(plan.finished)} finished, {len(plan.pending)} to run, "
                 f"{len(plan.skipped)} skipped.")
    from openvsclosed.jobs import private_audience

    for task, models in private_audience(plan.pending + plan.finished).items():
        _out().print(f"private task {task}: its rows are seen by {', '.join(models)}",
                     highlight=False, soft_wrap=True)
