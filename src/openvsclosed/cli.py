"""The `openvsclosed` command. Thin: parse, call, map outcomes to exit codes (0, 1, 2).

Heavy modules are imported inside commands so `--help` and `report` stay fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from openvsclosed.console import say

app = typer.Typer(
    no_args_is_help=True, add_completion=False,
    help="Measure whether open-weight LLMs have caught up with closed API models.",
)


def _console(stderr: bool = False, markup: bool = False) -> Console:
    """A console for this call's streams; wide when piped, so logs keep whole lines.

    Markup and highlighting are off: what it prints carries paths, task names and servers'
    words, and "[/x]" in those must print as it is, not raise (our own styles go through
    `console.say`).
    """
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160, markup=markup,
                   highlight=False)


def _out() -> Console:
    return _console()


def _err() -> Console:
    return _console(stderr=True)


EXIT_USAGE = 2


def _usage_error(message: str) -> typer.Exit:
    say(_err(), ("error:", "bold red"), f" {message}")
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
            if config_value and origin != "data_dir in the config" and \
                    Path(config_value).resolve() != path.resolve():
                # a shell's OVC_DATA_DIR silently winning over a config is a puzzle otherwise
                _err().print(f"note: {origin} ({path}) overrides the config's data_dir "
                             f"({config_value})", highlight=False, soft_wrap=True)
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
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Where the files go (default: the folder named report in RESULTS_DIR).")]


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
) -> None:
    """Evaluate every model on every task; finished jobs are kept, never redone."""
    from openvsclosed.config import ConfigError, load_config
    from openvsclosed.plan import plan_jobs
    from openvsclosed.store import ResultStore, StoreError

    if executor is not None and executor not in ("local", "ray"):
        raise _usage_error(f"--executor {executor}: allowed: local, ray.")
    if limit is not None and not 0 < limit < float("inf"):
        raise _usage_error(f"--limit {limit:g}: allowed: a number of documents above 0, or a "
                           "fraction below 1.")
    try:
        cfg = load_config(config)
        store = ResultStore(results_dir or cfg.results_path)
        mirror = _data_dir(data_dir, cfg.data_dir)
        plan = plan_jobs(cfg, store, model_ids=model, task_names=task, limit=limit,
                         force=force, source=str(config))
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    for problem in store.problems:
        say(_err(), ("warning:", "yellow"), f" {problem}")
    budget = max_cost if max_cost is not None else cfg.max_cost_usd
    if plan.pending:  # a dry run refuses what the run would refuse, before any spend
        from openvsclosed.budget import LedgerError, check_ledger

        try:
            store.check_writable(store.path_for(j.model.id, j.task.name, j.key)
                                 for j in plan.pending)
            if any(j.model.is_api for j in plan.pending):
                check_ledger(store.root)
        except (StoreError, LedgerError) as exc:
            raise _usage_error(str(exc)) from None
        unpriced = sorted({j.model.id for j in plan.pending if j.model.is_api
                           and (j.model.input_per_m is None or j.model.output_per_m is None)})
        if budget is not None and unpriced:  # a cap it cannot count against is no cap
            raise _usage_error(
                f"--max-cost {budget:g}: {', '.join(unpriced)} "
                f"{'has' if len(unpriced) == 1 else 'have'} no price, so spending on "
                f"{'it' if len(unpriced) == 1 else 'them'} could not be counted against the "
                "cap; allowed: set input_per_m and output_per_m (dollars per million tokens; "
                "0 for a free local server) on the model in the config, or run without a cap.")
    _check_data(cfg, plan, mirror, dry_run)
    manager = _checked_manager(cfg, config, plan, mirror) if plan.pending else None
    _print_skips(plan)
    if dry_run:
        _print_plan(plan, store.root)
        if any(j.model.is_api for j in plan.pending):
            _print_estimate(plan, manager, budget, store.root)
        _print_gpu_estimate(plan, manager)
        return
    if not plan.pending:
        _out().print(f"Nothing to run: {len(plan.finished)} jobs already finished in "
                     f"{store.root}, {len(plan.skipped)} skipped.")
        return
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(store.lock())
        except (StoreError, OSError) as exc:
            raise _usage_error(str(exc)) from None
        plan.pending = [j for j in plan.pending  # a run that held the folder may have done some
                        if force or not store.has(j.model.id, j.task.name, j.key)]
        from openvsclosed.quiet import library_output

        log = held.enter_context(library_output(store.root / "run.log", verbose=verbose))
        if not verbose:
            _err().print(f"lm-eval's and datasets' logs: {log} (--verbose shows them here)",
                         highlight=False, soft_wrap=True)
        summary = _execute(plan, store, manager, budget, cfg=cfg, mirror=mirror,
                           executor=executor or cfg.executor, ray_address=ray_address)
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
    _out().print(f"{len(summary.done)} finished, {len(summary.failed)} failed, "
                 f"{len(plan.finished)} already done, {len(plan.skipped)} skipped{budget_note}"
                 f"{spent}; results in {store.root}"
                 + (f"; failures logged in {store.failures_path}" if summary.failed else ""),
                 soft_wrap=True)
    raise typer.Exit(summary.exit_code)


def _check_data(cfg, plan, mirror, dry_run: bool) -> None:
    """Before any model loads: every pending task's dataset must be readable from here.

    A run exits 2 naming the fix; a dry run shows those jobs as skipped, with the reason.
    """
    if not plan.pending:
        return
    from openvsclosed.datacheck import SHORT, check_data, missing_splits, reachability_message
    from openvsclosed.owntaskfiles import task_include_paths
    from openvsclosed.taskindex import task_index
    from openvsclosed.tasks import PACKAGE_TASKS

    paths = [str(PACKAGE_TASKS), *(str(p) for p in task_include_paths(cfg))]
    with _err().status("Indexing lm-eval tasks (cached after the first time)…"):
        index = task_index(paths)  # the same key as the run's TaskManager: indexed once
    problems = check_data([job.lm_eval_task for job in plan.pending], index, mirror)
    if problems and not dry_run:
        raise _usage_error(reachability_message(problems, mirror))
    why = {need.task: f"data not reachable ({SHORT[reason]})" for need, reason in problems}
    if dry_run and mirror is not None:  # a split the mirror lacks fails its job in a real run
        lacking = missing_splits([job.lm_eval_task for job in plan.pending], index, mirror)
        for task, message in lacking.items():
            why.setdefault(task, f"would fail: {message}")
    if not why:
        return
    plan.skip([(job, why[job.lm_eval_task]) for job in plan.pending if job.lm_eval_task in why])
    if problems:
        say(_err(), ("warning:", "yellow"), f" {reachability_message(problems, mirror)}")


def _checked_manager(cfg, config_path, plan, mirror):
    """The run's TaskManager, after rejecting unknown tasks; unscorable pairings are skipped."""
    from openvsclosed.config import ConfigError
    from openvsclosed.owntaskfiles import task_include_paths
    from openvsclosed.tasks import (
        build_task_manager,
        check_metrics,
        check_task_names,
        unscorable_jobs,
    )

    with _err().status("Indexing lm-eval tasks…"):
        manager = build_task_manager(mirror, include_path=task_include_paths(cfg))
    try:
        check_task_names(cfg, config_path, manager, {job.task.name for job in plan.pending})
        check_metrics(plan.pending, manager, config_path)
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    plan.skip(unscorable_jobs(plan.pending, manager))
    return manager


def _execute(plan, store, manager, max_cost, *, cfg=None, mirror=None,
             executor="local", ray_address=None):
    import importlib.util

    from openvsclosed.budget import Budget
    from openvsclosed.executors import loglikelihood_models
    from openvsclosed.models import load_model
    from openvsclosed.runner import LmEvalEvaluator, run_jobs

    budget = Budget(max_usd=max_cost, root=store.root)
    scored_by_loglikelihood = loglikelihood_models(plan.pending, manager)

    def load(spec):
        return load_model(spec, cache_dir=store.root / "cache", budget=budget,
                          loglikelihood=spec.id in scored_by_loglikelihood)

    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise _usage_error("--executor ray needs Ray; install it with "
                           "pip install 'openvsclosed[ray]'.")
    try:
        if executor == "ray":
            from openvsclosed.executors.ray_cluster import RayUnavailable, executor_for_run

            try:
                summary = executor_for_run(cfg, mirror, store, budget, scored_by_loglikelihood,
                                           ray_address).run(plan, store, console=_err())
            except RayUnavailable as exc:
                raise _usage_error(str(exc)) from None
        else:
            summary = run_jobs(plan, store, evaluate=LmEvalEvaluator(manager),
                               load_model=load, console=_err())
        summary.ledger_usd = budget.spent_usd if budget.spent_usd else None
        return summary
    except KeyboardInterrupt:
        _err().print("Interrupted. Every finished job is stored; run the same command to resume.")
        raise typer.Exit(130) from None


def _print_gpu_estimate(plan, manager) -> None:
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


def _print_estimate(plan, manager, budget, root: Path) -> None:
    from openvsclosed.estimate import estimate_jobs

    rows = estimate_jobs([j for j in plan.pending if j.model.is_api], manager)
    table = Table(title="Estimated API spend (upper bound: full output allowance per request)")
    for col in ("Model", "Requests", "Input tokens", "Output tokens", "Dollars"):
        table.add_column(col, justify="right")
    for r in rows:
        dollars = "no price" if r.usd is None else f"{r.usd:.4f}"
        table.add_row(r.model_id, str(r.requests), str(r.input_tokens), str(r.output_tokens),
                      dollars)
    _out().print(table)
    total = sum(r.usd or 0.0 for r in rows)
    from openvsclosed.budget import read_ledger

    paid = read_ledger(root)["spent_usd"]
    cap = (f" against a budget of ${budget:g} (${paid:.4f} already spent here, all runs)"
           if budget is not None else "")
    _out().print(f"At most about ${total:.4f}{cap}; cached responses cost nothing.")
    for problem in sorted({p for r in rows for p in r.uncounted}):
        say(_err(), ("not counted", "yellow"), f" (its documents could not be loaded): {problem}")


def _print_skips(plan) -> None:
    seen: set[str] = set()
    for job, reason in plan.skipped:
        if (job.model.id, reason) not in seen:
            seen.add((job.model.id, reason))
            what = job.model.id if reason.endswith("is not set") else job.label
            _err().print(f"skipping {what}: {reason}", highlight=False, soft_wrap=True)


def _print_plan(plan, root: Path) -> None:
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
    from openvsclosed.plan import private_audience

    for task, models in private_audience(plan.pending + plan.finished).items():
        _out().print(f"private task {task}: its rows are seen by {', '.join(models)}",
                     highlight=False, soft_wrap=True)


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config (keys, types, catalog ids, lm-eval task names) without running anything."""
    from openvsclosed.config import ConfigError, load_config
    from openvsclosed.owntaskfiles import task_include_paths
    from openvsclosed.plan import all_jobs, refuse_private_leaks
    from openvsclosed.store import ResultStore, StoreError
    from openvsclosed.tasks import (
        build_task_manager,
        check_metrics,
        check_task_names,
        unscorable_jobs,
    )

    try:
        cfg = load_config(config)
        ResultStore(cfg.results_path).check_writable()  # what `run` refuses, refused here too
        _data_dir(None, cfg.data_dir)
        jobs = all_jobs(cfg, source=str(config))
        refuse_private_leaks(jobs, str(config))  # what `run` refuses, refused here too
        with _err().status("Indexing lm-eval tasks…"):
            manager = build_task_manager(include_path=task_include_paths(cfg))
        check_task_names(cfg, config, manager)
        check_metrics(jobs, manager, config)
    except (ConfigError, StoreError) as exc:
        raise _usage_error(str(exc)) from None
    unscorable = unscorable_jobs(jobs, manager)
    for job, reason in unscorable:
        _err().print(f"note: {job.label} will be skipped: {reason}", highlight=False,
                     soft_wrap=True)
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


ReportDirArg = Annotated[Path | None, typer.Argument(
    help="A results directory written by `run` (omit with --published-only).")]
ReportedOpt = Annotated[bool, typer.Option(
    "--reported/--no-reported", help="Show published scores beside measured ones (marked).")]
ImportOpt = Annotated[list[Path] | None, typer.Option(
    "--import", help="A results JSON written by the plain lm_eval command, 0.3 or 0.4 "
    "(repeatable); prefix open: or closed: for a model the catalog does not know.")]
ClaimsOpt = Annotated[Path | None, typer.Option(
    help="Structured claims to judge (default: seeds/claims.yaml when present).")]
GpuOpt = Annotated[float, typer.Option(
    help="Dollars per GPU-hour, to price local models per 1,000 questions.", min=0)]
PublishedOpt = Annotated[bool, typer.Option(
    "--published-only",
    help="Build the report from published scores only (no results directory).")]
SiteOpt = Annotated[Path | None, typer.Option(
    "--site", help="A site folder: the report goes into DIR/<date>/ as a dated snapshot, "
    "earlier ones are kept, and DIR/index.html (what changed, the answer over time) and "
    "DIR/feed.json are rebuilt. Instead of --out.")]
SnapshotDateOpt = Annotated[str | None, typer.Option(
    "--snapshot-date", help="The snapshot's date with --site, YYYY-MM-DD (default: today, "
    "UTC); the same date again replaces that snapshot.")]
HubOpt = Annotated[Path | None, typer.Option(
    "--epoch-hub", help="Epoch AI's benchmark_data.zip, or a folder written by import-epoch "
    "(default: the folder import-epoch writes, when present).")]
DEFAULT_CLAIMS = Path("seeds/claims.yaml")


@app.command()
def report(
    results_dir: ReportDirArg = None,
    out_dir: OutOpt = None,
    reported: ReportedOpt = True,
    import_paths: ImportOpt = None,
    claims: ClaimsOpt = None,
    gpu_hour_usd: GpuOpt = 2.0,
    published_only: PublishedOpt = False,
    epoch_hub: HubOpt = None,
    site: SiteOpt = None,
    snapshot_date: SnapshotDateOpt = None,
) -> None:
    """Leaderboard, gap per task with CIs, lag, claims' verdicts: terminal, md/csv/tex/json/html."""
    from openvsclosed.harvest import HarvestError
    from openvsclosed.imported import import_lm_eval_file
    from openvsclosed.report import ReportError, build_report
    from openvsclosed.report.terminal import print_report
    from openvsclosed.store import StoreError

    if published_only:
        if results_dir is not None:
            raise _usage_error("--published-only takes no RESULTS_DIR; allowed: one or the other.")
        if not reported:
            raise _usage_error("--published-only and --no-reported leave nothing to report.")
        if out_dir is None and site is None:
            raise _usage_error("--published-only needs --out DIR or --site DIR (where the "
                               "report goes).")
    elif results_dir is None:
        raise _usage_error("RESULTS_DIR is missing; allowed: a directory written by "
                           "`openvsclosed run`, or --published-only with --out DIR.")
    elif not results_dir.is_dir():
        raise _usage_error(f"{results_dir}: no such results directory; allowed: a directory "
                           "written by `openvsclosed run` (its config's results_dir).")
    if claims is not None and not claims.is_file():
        raise _usage_error(f"--claims: {claims} is not a file; allowed: a claims YAML like "
                           "seeds/claims.yaml.")
    claims = claims or (DEFAULT_CLAIMS if DEFAULT_CLAIMS.is_file() else None)
    day = None
    if site is not None or snapshot_date is not None:
        from openvsclosed.report.site import snapshot_date as checked_date

        if site is None:
            raise _usage_error("--snapshot-date without --site; allowed: --snapshot-date "
                               "YYYY-MM-DD together with --site DIR.")
        if out_dir is not None:
            raise _usage_error("--site DIR and --out DIR: allowed: one or the other (--site "
                               "writes the report into DIR/<date>/).")
        from openvsclosed.report.write import check_out_dir

        try:
            day = checked_date(snapshot_date)
            out_dir = check_out_dir(site / day, "--site")  # named as the user gave it
        except ReportError as exc:
            raise _usage_error(str(exc)) from None
    imported = []
    for path in import_paths or []:
        try:
            imported += import_lm_eval_file(path)
        except HarvestError as exc:
            raise _usage_error(str(exc)) from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise _usage_error(f"--import: {path}: not a results JSON written by lm_eval "
                               f"({type(exc).__name__}: {str(exc)[:160]}); allowed: the "
                               "results_*.json of `lm_eval --output_path`, 0.3 or 0.4.") from None
    try:
        tables = build_report(results_dir, out_dir or results_dir / "report", reported=reported,
                              imported=imported, claims_path=claims, gpu_hour_usd=gpu_hour_usd,
                              epoch_hub=epoch_hub)
    except (StoreError, ReportError) as exc:
        raise _usage_error(str(exc)) from None
    if site is not None:
        from openvsclosed.report.site import finish_snapshot

        try:
            finish_snapshot(site, tables, "Open vs closed LLMs", day)
        except OSError as exc:
            raise _usage_error(f"--site: {site}: the index could not be written ({exc}); "
                               "the snapshot's report is in place.") from None
    print_report(_console(), tables)
    _out().print(f"Wrote {len(tables.files)} files into "
                 f"{tables.files[0].parent}: index.html and report.md open with the answer; "
                 "md/csv/tex tables, PNG plots, lag_<source>.md with the three lag estimators.",
                 highlight=False, soft_wrap=True)
    if site is not None:
        _out().print(f"Site: {site / 'index.html'} (what changed, the answer over time) and "
                     f"{site / 'feed.json'} rebuilt from every dated snapshot in {site}.",
                     highlight=False, soft_wrap=True)


HubZipArg = Annotated[Path, typer.Argument(help="Epoch AI's benchmark_data.zip (one CSV per "
                                            "benchmark, from epoch.ai/data/benchmark_data.zip).")]


@app.command("import-epoch")
def import_epoch(zip_path: HubZipArg, out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write (default: $OVC_EPOCH_HUB, else "
        "~/.local/share/openvsclosed/epoch_hub, which `report` reads).")] = None) -> None:
    """Import Epoch AI's Benchmarking Hub zip: independent open and closed scores for `report`."""
    from openvsclosed.report.epochhub import HubError, import_zip

    try:
        path, rows = import_zip(zip_path, out_dir)
    except HubError as exc:
        raise _usage_error(str(exc)) from None
    _out().print(f"Imported {rows} scores into {path}; `openvsclosed report` reads them as the "
                 "independent source (or pass --epoch-hub).", highlight=False, soft_wrap=True)


EpochArg = Annotated[Path, typer.Argument(help="Epoch AI's epoch_open_model_trends.csv.")]
ToleranceOpt = Annotated[float, typer.Option(
    help="Error-rate nats, -ln(1-acc), below a record that still count as reaching it "
         "(Epoch's 0.02; 0 is strict).", min=0)]
TrustedOpt = Annotated[bool, typer.Option(
    "--trusted-only", help="Drop every row Epoch flags as suspect (-1) on every benchmark; "
    "default: Epoch's own rule (suspect rows dropped on MMLU, and on GPQA from November 2023).")]


EpochOutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Folder for epoch_lag.md, one CSV per estimator and two PNG plots "
    "(default: none; the tables are printed and nothing is written).")]


@app.command("epoch-lag")
def epoch_lag(csv: EpochArg, out_dir: EpochOutOpt = None, tolerance: ToleranceOpt = 0.02,
              trusted_only: TrustedOpt = False) -> None:
    """Reproduce Epoch AI's open-vs-closed lag analysis from their data file (three estimators)."""
    from openvsclosed.report.epoch import epoch_lag as run_epoch_lag
    from openvsclosed.report.lagfiles import records_rows, summary_rows, write_lag_files
    from openvsclosed.report.plots import frontier_plot
    from openvsclosed.report.render import to_csv, to_markdown
    from openvsclosed.store import write_atomic

    if not csv.is_file():
        raise _usage_error(f"{csv}: no such file; allowed: Epoch's open-model trends CSV.")
    try:
        result = run_epoch_lag(csv, tolerance=tolerance,
                               trust="no-suspect" if trusted_only else "epoch")
    except (KeyError, ValueError) as exc:
        raise _usage_error(f"{csv}: not Epoch's trends file (missing column {exc}).") from None
    estimates = result["estimates"]
    _out().print(to_markdown(summary_rows(estimates["summary"], "Epoch's file")), highlight=False,
                 soft_wrap=True)
    _out().print(to_markdown(records_rows(result["records"])), highlight=False, soft_wrap=True)
    comparison = result["comparison"]
    _out().print("Per benchmark, ours vs Epoch's notebook: " + "; ".join(
        f"{r.benchmark} {r.ours} (Epoch {r.epoch})" for r in comparison.itertuples()),
        highlight=False, soft_wrap=True)
    if out_dir is not None:
        write_lag_files(estimates, out_dir, "epoch_lag", "Epoch's file")
        write_atomic(out_dir / "epoch_lag_vs_epoch.csv", to_csv(comparison))
        frontier_plot(result["points"], out_dir / "epoch_frontiers.png")
        _out().print(f"Wrote {out_dir}/epoch_lag.md, epoch_lag_*.csv, epoch_lag_over_time.png, "
                     "epoch_frontiers.png")


def main() -> None:
    """Console-script entry point."""
    app()
