"""The `openvsclosed` command. Thin: parse, call, map outcomes to exit codes (0, 1, 2).

`run` is parse -> plan (`plan.plan_run`, one frozen Plan) -> execute (`executors`) -> print.
Heavy modules are imported inside commands so `--help` and `report` stay fast.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openvsclosed.cli_report import epoch_lag, import_epoch, report
from openvsclosed.cliapp import _data_dir, _err, _out, _usage_error, app
from openvsclosed.console import say
from openvsclosed.planprint import print_estimate, print_gpu_estimate, print_plan, print_skips

__all__ = ["app", "epoch_lag", "import_epoch", "main", "report"]

ConfigArg = Annotated[Path, typer.Argument(help="The YAML run config.")]
ModelOpt = Annotated[
    list[str] | None, typer.Option("--model", help="Only this model id (repeatable).")]
TaskOpt = Annotated[list[str] | None, typer.Option("--task", help="Only this task (repeatable).")]
LimitOpt = Annotated[
    float | None, typer.Option(help="Documents per task, overriding the config.", min=0)]
ForceOpt = Annotated[bool, typer.Option(help="Re-run jobs that already finished.")]
ResultsOpt = Annotated[Path | None, typer.Option(help="Where results go (overrides the config).")]
DataOpt = Annotated[Path | None, typer.Option(
    help="Local dataset mirror (else OVC_DATA_DIR, else the config's data_dir, else the hub).")]
MaxCostOpt = Annotated[float | None, typer.Option(
    "--max-cost", help="Dollars: no API request is sent that would pass it.", min=0)]
DryRunOpt = Annotated[
    bool, typer.Option(help="Print the plan (finished / to run / skipped) and exit.")]
ExecutorOpt = Annotated[str | None, typer.Option(
    "--executor", help="local (this process) or ray (actors on a Ray cluster); default: the "
    "config's executor.")]
RayAddressOpt = Annotated[str | None, typer.Option(
    "--ray-address", envvar="RAY_ADDRESS",
    help="The Ray cluster to join with --executor ray (default: start a local Ray).")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", help="Also show lm-eval's, datasets' and transformers' logs and progress bars "
    "here (they always go to run.log in the results directory).")]
NoWaitOpt = Annotated[bool, typer.Option(
    "--no-wait", help="Models with `batch: true`: submit their provider batches and exit; a "
    "later `run` of the same command collects the results.")]


@app.command()
def run(
    config: ConfigArg,
    model: ModelOpt = None,
    task: TaskOpt = None,
    limit: LimitOpt = None,
    force: ForceOpt = False,
    results_dir: ResultsOpt = None,
    data_dir: DataOpt = None,
    max_cost: MaxCostOpt = None,
    dry_run: DryRunOpt = False,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    verbose: VerboseOpt = False,
    no_wait: NoWaitOpt = False,
) -> None:
    """Evaluate every model on every task; finished jobs are kept, never redone."""
    from openvsclosed.budget import LedgerError
    from openvsclosed.config import ConfigError, load_config
    from openvsclosed.plan import plan_run
    from openvsclosed.store import ResultStore, StoreError

    if executor is not None and executor not in ("local", "ray"):
        raise _usage_error(f"--executor {executor}: allowed: local, ray.")
    if limit is not None and not 0 < limit < float("inf"):
        raise _usage_error(f"--limit {limit:g}: allowed: a number of documents above 0, or a "
                           "fraction below 1.")
    store = None
    try:
        cfg = load_config(config)
        store = ResultStore(results_dir or cfg.results_path)
        mirror = _data_dir(data_dir, cfg.data_dir)
        budget = max_cost if max_cost is not None else cfg.max_cost_usd
        plan = plan_run(cfg, store, source=str(config), model_ids=model, task_names=task,
                        limit=limit, force=force, mirror=mirror, max_cost_usd=budget,
                        dry_run=dry_run, executor=executor or cfg.executor,
                        status=_err().status)
    except (ConfigError, StoreError, LedgerError) as exc:
        _warn_store_problems(store)  # files found damaged on the way
        raise _usage_error(str(exc)) from None
    _warn_store_problems(store)
    if plan.data_problem and not dry_run:
        raise _usage_error(plan.data_problem)
    if plan.data_problem:
        say(_err(), ("warning:", "yellow"), f" {plan.data_problem}")
    print_skips(plan)
    _print_open_batches(store.root)
    if dry_run:
        print_plan(plan, store.root)
        if any(j.model.is_api for j in plan.pending):
            print_estimate(plan, plan.task_manager, budget, store.root)
        print_gpu_estimate(plan, plan.task_manager)
        return
    if not plan.pending:
        _out().print(f"Nothing to run: {len(plan.finished)} jobs already finished in "
                     f"{store.root}, {len(plan.skipped)} skipped.")
        return
    summary, plan = _execute_locked(plan, store, budget, cfg=cfg, mirror=mirror,
                                    executor=executor or cfg.executor, ray_address=ray_address,
                                    verbose=verbose, wait=not no_wait)
    _print_summary(plan, summary, store, budget)
    raise typer.Exit(summary.exit_code)


def _warn_store_problems(store) -> None:
    """Record files found unreadable while planning: each job runs again, and the user is told."""
    for problem in getattr(store, "problems", []):
        say(_err(), ("warning:", "yellow"), f" {problem}")


def _execute_locked(plan, store, budget, *, cfg, mirror, executor, ray_address, verbose,
                    wait):
    """Run the plan holding the results folder's lock, lm-eval's output going to run.log."""
    from openvsclosed.quiet import batch_progress_lines, library_output
    from openvsclosed.store import StoreError

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(store.lock())
        except (StoreError, OSError) as exc:
            raise _usage_error(str(exc)) from None
        plan = plan.still_pending(store)  # a run that held the folder may have done some
        log = held.enter_context(library_output(store.root / "run.log", verbose=verbose))
        held.enter_context(batch_progress_lines())
        if not verbose:
            _err().print(f"lm-eval's and datasets' logs: {log} (--verbose shows them here)",
                         highlight=False, soft_wrap=True)
        return _execute(plan, store, budget, cfg=cfg, mirror=mirror, executor=executor,
                        ray_address=ray_address, wait=wait), plan


def _print_summary(plan, summary, store, budget) -> None:
    """The closing line; skipped jobs listed in the results folder for the report."""
    left_out = [{"model": j.model.id, "task": j.task.name, "protocol": j.protocol,
                 "reason": why} for j, why in plan.skipped]
    left_out += [{"model": j.model.id, "task": j.task.name, "protocol": j.protocol,
                  "reason": f"budget (--max-cost {budget:g}) reached"}
                 for j in summary.over_budget]
    with contextlib.suppress(OSError):  # the results are stored; this list is a courtesy
        store.record_skipped(left_out)
    spent = f"; API spend ${summary.spent_usd:.4f}" if summary.spent_usd else ""
    if summary.ledger_usd is not None and budget is not None:
        spent += (f" (${summary.ledger_usd:.4f} of the ${budget:g} cap spent in this results "
                  "directory, all runs)")
    budget_note = (f"; {len(summary.over_budget)} skipped for budget (--max-cost {budget:g})"
                   if summary.over_budget else "")
    waiting = summary.waiting
    wait_note = (f"; {len(waiting)} waiting in provider batches (run again to collect)"
                 if waiting else "")
    _out().print(f"{len(summary.done)} finished, {len(summary.failed)} failed, "
                 f"{len(plan.finished)} already done, {len(plan.skipped)} skipped{budget_note}"
                 f"{wait_note}{spent}; results in {store.root}"
                 + (f"; failures logged in {store.failures_path}" if summary.failed else ""),
                 soft_wrap=True)


def _print_open_batches(root: Path) -> None:
    """Each provider batch an earlier run submitted and this one will collect."""
    from openvsclosed.models.batch.journal import open_batches

    for line in open_batches(root):
        _err().print(f"open batch: {line}", highlight=False, soft_wrap=True)


def _execute(plan, store, max_cost, *, cfg, mirror, executor, ray_address, wait=True):
    from openvsclosed.executors import ExecutorUnavailable, execute_plan

    try:
        return execute_plan(plan, store, task_manager=plan.task_manager, max_cost_usd=max_cost,
                            cfg=cfg, mirror=mirror, executor=executor, ray_address=ray_address,
                            console=_err(), batch_wait=wait)
    except ExecutorUnavailable as exc:
        raise _usage_error(str(exc)) from None
    except KeyboardInterrupt:
        _err().print("Interrupted. Every finished job is stored; run the same command to resume.")
        raise typer.Exit(130) from None


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config (keys, types, catalog ids, lm-eval task names) without running anything."""
    from openvsclosed.config import ConfigError, load_config
    from openvsclosed.jobs import all_jobs, refuse_private_leaks
    from openvsclosed.planchecks import batch_notes, check_tasks
    from openvsclosed.store import ResultStore, StoreError
    from openvsclosed.tasks import include_paths

    try:
        cfg = load_config(config)
        ResultStore(cfg.results_path).check_writable()  # what `run` refuses, refused here too
        _data_dir(None, cfg.data_dir)
        jobs = all_jobs(cfg, source=str(config))
        refuse_private_leaks(jobs, str(config))  # what `run` refuses, refused here too
        paths = include_paths(cfg, str(config))
        _, unscorable = check_tasks(cfg, str(config), tuple(jobs), None, _err().status, paths)
    except (ConfigError, StoreError) as exc:
        raise _usage_error(str(exc)) from None
    for job, reason in unscorable:
        _err().print(f"note: {job.label} will be skipped: {reason}", highlight=False,
                     soft_wrap=True)
    for note in batch_notes(cfg):
        _err().print(f"note: {note}", highlight=False, soft_wrap=True)
    chat = sum(j.protocol == "chat" for j in jobs)
    _out().print(f"{config}: valid ({len(cfg.models)} models x {len(cfg.tasks)} tasks: "
                 f"{len(jobs)} jobs, {chat} by chat, {len(unscorable)} unscorable).")


@app.command()
def models() -> None:
    """List the model catalog: who made each model, open or closed, when, how big, how reached."""
    from openvsclosed.catalog import load_catalog

    table = Table(title="Model catalog")
    for col in ("id", "organization", "access", "released", "params (B)", "license", "backend"):
        table.add_column(col)
    for e in load_catalog().values():
        params = "undisclosed" if e.params_b is None else f"{e.params_b:g}"
        if e.active_params_b:
            params += f" ({e.active_params_b:g} active)"
        table.add_row(e.id, e.organization, e.access, e.released.isoformat(), params, e.license,
                      e.backend)
    _out().print(table)


def main() -> None:
    """Console-script entry point; a run that loaded torch ends without the slow teardown."""
    try:
        app()
    except SystemExit as done:
        _exit_now(done.code)
        raise
    _exit_now(0)


def _exit_now(code: int | str | None) -> None:
    """End the process once everything is written, skipping the interpreter's teardown.

    After a run has loaded torch and transformers, tearing the interpreter down (module by
    module, then C++ destructors) takes ~1 s on 2 cores, after the answer is already out.
    Exit handlers still run (logging, temporary folders, multiprocessing); the teardown is
    skipped only when no other non-daemon thread is alive, so no pending work is cut short.
    """
    import atexit
    import os
    import sys
    import threading

    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon]
    if "torch" not in sys.modules or run_exitfuncs is None or others:
        return
    if isinstance(code, str):  # sys.exit("message"): printed, status 1, as Python does
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code if isinstance(code, int) else 0)
