"""The `openvsclosed` command. Thin: parse, call, map outcomes to exit codes (0, 1, 2).

Heavy modules are imported inside commands so `--help` and `report` stay fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    no_args_is_help=True, add_completion=False,
    help="Measure whether open-weight LLMs have caught up with closed API models.",
)


def _console(stderr: bool = False) -> Console:
    """A console for this call's streams; wide when piped, so logs keep whole lines."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def _out() -> Console:
    return _console()


def _err() -> Console:
    return _console(stderr=True)


EXIT_FAILED, EXIT_USAGE = 1, 2


def _usage_error(message: str) -> typer.Exit:
    _err().print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def _data_dir(flag: Path | None, config_value: Path | None) -> Path | None:
    """--data-dir, then OVC_DATA_DIR, then the config's `data_dir`; it must exist."""
    for value, origin in ((flag, "--data-dir"), (os.environ.get("OVC_DATA_DIR"), "OVC_DATA_DIR"),
                          (config_value, "data_dir in the config")):
        if value:
            path = Path(value)
            if not path.is_dir():
                raise _usage_error(f"{origin}: {path} is not a directory; allowed: a local "
                                   "dataset mirror in the layout of shared/benchmarks/README.md.")
            return path
    return None


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
DryRunOpt = Annotated[
    bool, typer.Option(help="Print the plan (finished / to run / skipped) and exit.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Where the files go (default RESULTS_DIR/report).")]


@app.command()
def run(
    config: ConfigArg,
    model: ModelOpt = None,
    task: TaskOpt = None,
    limit: LimitOpt = None,
    force: ForceOpt = False,
    results_dir: ResultsOpt = None,
    data_dir: DataOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Evaluate every model on every task; finished jobs are kept, never redone."""
    from openvsclosed.config import ConfigError, load_config
    from openvsclosed.runner import plan_jobs
    from openvsclosed.store import ResultStore

    try:
        cfg = load_config(config)
        store = ResultStore(results_dir or cfg.results_path)
        mirror = _data_dir(data_dir, cfg.data_dir)
        plan = plan_jobs(cfg, store, model_ids=model, task_names=task, limit=limit,
                         force=force, source=str(config))
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    _print_skips(plan)
    if dry_run:
        _print_plan(plan, store.root)
        return
    if not plan.pending:
        _out().print(f"Nothing to run: {len(plan.finished)} jobs already finished in {store.root}, "
                  f"{len(plan.skipped)} skipped.")
        return
    summary = _execute(cfg, config, plan, store, mirror)
    _out().print(f"{len(summary.done)} finished, {len(summary.failed)} failed, "
              f"{len(plan.finished)} already done, {len(plan.skipped)} skipped; results in "
              f"{store.root}" + (f"; failures logged in {store.failures_path}" if summary.failed
                                 else ""))
    raise typer.Exit(summary.exit_code)


def _execute(cfg, config_path, plan, store, mirror):  # noqa: ANN001, ANN202
    from openvsclosed.config import ConfigError
    from openvsclosed.models import load_model
    from openvsclosed.runner import LmEvalEvaluator, run_jobs
    from openvsclosed.tasks import build_task_manager, check_task_names

    with _err().status("Indexing lm-eval tasks…"):
        manager = build_task_manager(mirror, include_path=cfg.task_paths)
    try:
        check_task_names(cfg, config_path, manager, {job.task.name for job in plan.pending})
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    try:
        return run_jobs(plan, store, evaluate=LmEvalEvaluator(manager), load_model=load_model,
                        console=_err())
    except KeyboardInterrupt:
        _err().print("Interrupted. Every finished job is stored; run the same command to resume.")
        raise typer.Exit(130) from None


def _print_skips(plan) -> None:  # noqa: ANN001
    seen: set[str] = set()
    for job, reason in plan.skipped:
        if job.model.id not in seen:
            seen.add(job.model.id)
            _err().print(f"skipping {job.model.id}: {reason}", highlight=False)


def _print_plan(plan, root: Path) -> None:  # noqa: ANN001
    table = Table(title=f"Plan (results in {root})")
    for col in ("Model", "Task", "Shots", "Limit", "Status"):
        table.add_column(col)
    rows = [(j, "finished") for j in plan.finished] + [(j, "to run") for j in plan.pending]
    rows += [(j, f"skipped: {why}") for j, why in plan.skipped]
    for job, status in rows:
        f = job.key_fields
        table.add_row(job.model.id, job.task.name,
                      "default" if f.num_fewshot is None else str(f.num_fewshot),
                      "all" if f.limit is None else f"{f.limit:g}", status)
    _out().print(table)
    _out().print(f"{len(plan.finished)} finished, {len(plan.pending)} to run, "
              f"{len(plan.skipped)} skipped.")


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config (keys, types, catalog ids, lm-eval task names) without running anything."""
    from openvsclosed.config import ConfigError, load_config
    from openvsclosed.tasks import build_task_manager, check_task_names

    try:
        cfg = load_config(config)
        with _err().status("Indexing lm-eval tasks…"):
            manager = build_task_manager(include_path=cfg.task_paths)
        check_task_names(cfg, config, manager)
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    _out().print(f"{config}: valid ({len(cfg.models)} models x {len(cfg.tasks)} tasks).")


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


@app.command()
def report(
    results_dir: Annotated[Path, typer.Argument(help="A results directory written by `run`.")],
    out_dir: OutOpt = None,
) -> None:
    """Leaderboard and open-vs-closed gap per task, in the terminal and as md/csv/json files."""
    from openvsclosed.report import build_report
    from openvsclosed.report.terminal import print_report
    from openvsclosed.store import StoreError

    if not results_dir.is_dir():
        raise _usage_error(f"{results_dir}: no such results directory; allowed: a directory "
                           "written by `openvsclosed run` (its config's results_dir).")
    try:
        summary = build_report(results_dir, out_dir or results_dir / "report")
    except StoreError as exc:
        raise _usage_error(str(exc)) from None
    print_report(_out(), summary.leaderboard, summary.gap)
    _out().print("Wrote " + ", ".join(str(p) for p in summary.files))


def main() -> None:
    """Console-script entry point."""
    app()
