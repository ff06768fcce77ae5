"""Model x task jobs, their keys and protocol routing; what is finished, pending or skipped.

Planning is apart from execution (runner) so that every executor sees the same jobs and keys,
and so that `validate` and `--dry-run` tell the truth about a run without running it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from openvsclosed.config import ConfigError, ModelSpec, RunConfig, TaskSpec, suggest
from openvsclosed.models import UnusableKey, identity_args, leaves_machine, unrunnable_reason
from openvsclosed.owntask import own_tasks
from openvsclosed.schema import JobKeyFields, Protocol
from openvsclosed.store import ResultStore
from openvsclosed.tasks import PACKAGE_TASKS, chat_variant, task_definition_hash, task_files

KEY_SCHEME = 2
"""Bumped when what goes into a job key changes, so old results are re-run, never mixed in.

2: the effective protocol, the task actually run, the chat template, the task definition's
hash and each API model's generation settings joined the key."""


def lm_eval_version() -> str:
    """The installed lm-eval's version, read without importing it."""
    return version("lm_eval")


@dataclass(frozen=True)
class Job:
    """One model on one task under one protocol, with every setting resolved."""

    model: ModelSpec
    task: TaskSpec
    key_fields: JobKeyFields
    key: str

    @property
    def protocol(self) -> Protocol:
        """The protocol this job is scored under (stored with its result)."""
        return self.key_fields.protocol

    @property
    def label(self) -> str:
        """How progress lines name the job (the protocol where a model runs both ways)."""
        way = " (chat)" if self.protocol == "chat" and not self.model.is_api else ""
        return f"{self.model.id} × {self.task.name}{way}"

    @property
    def lm_eval_task(self) -> str:
        """The task lm-eval runs: the chat variant under protocol chat."""
        return self.key_fields.lm_eval_task or self.task.name

    @property
    def metric(self) -> str | None:
        """The primary metric asked for; a chat variant keeps its own (exact match)."""
        return self.task.metric if self.lm_eval_task == self.task.name else None

    @property
    def chat(self) -> bool:
        """Whether prompts go through the chat template."""
        return self.key_fields.chat_template


def protocols_for(model: ModelSpec, task: TaskSpec, config: RunConfig) -> list[Protocol]:
    """The protocols a model runs a task under.

    A chat API can only be scored by chat, whatever the config says: under `native` that is
    its own best way, and its result says `chat` so the report can mark mixed comparisons.
    """
    choice = task.protocol or config.protocol
    if model.is_api:
        return ["chat"]
    return {"native": ["native"], "chat": ["chat"], "both": ["native", "chat"]}[choice]


def make_job(model: ModelSpec, task: TaskSpec, config: RunConfig, limit: float | None,
             lm_eval: str, protocol: Protocol | None = None,
             task_hashes: Mapping[str, str | None] | None = None) -> Job:
    """Resolve a job's settings (task over defaults, --limit over both) and its key."""
    protocol = protocol or protocols_for(model, task, config)[0]
    run_task = (chat_task_name(task) if protocol == "chat" else task.name)
    fields = JobKeyFields(
        key_scheme=KEY_SCHEME,
        model={"backend": model.backend, "args": identity_args(model)},
        task=task.name,
        num_fewshot=(task.num_fewshot if task.num_fewshot is not None
                     else config.defaults.num_fewshot),
        limit=limit if limit is not None else (task.limit or config.defaults.limit),
        seed=list(config.defaults.seeds),
        protocol=protocol,
        lm_eval_version=lm_eval,
        lm_eval_task=run_task,
        chat_template=protocol == "chat" or model.is_api,
        task_hash=(task_hashes or {}).get(run_task),
    )
    return Job(model=model, task=task, key_fields=fields, key=fields.key())


def chat_task_name(task: TaskSpec) -> str:
    """The task a chat-protocol job runs: an own task's generated variant, else the known one."""
    return f"{task.name}_chat" if task.file is not None else chat_variant(task.name)


def include_paths(config: RunConfig, source: str = "the config") -> list[Path]:
    """Our task variants plus the user's task folders, which must exist."""
    for i, folder in enumerate(config.task_paths):
        if not Path(folder).is_dir():
            raise ConfigError(f"{source}: task_paths[{i}]: {folder} is not a folder (relative "
                              f"to {Path.cwd()}); allowed: folders of lm-eval task YAMLs.")
    return [PACKAGE_TASKS, *config.task_paths]


def all_jobs(config: RunConfig, *, limit: float | None = None, source: str = "the config",
             models: list[ModelSpec] | None = None, tasks: list[TaskSpec] | None = None,
             ) -> list[Job]:
    """Every job a config describes (each model x task x protocol it runs under)."""
    defined = task_files(include_paths(config, source))
    names = {chat_task_name(t) for t in config.tasks} | {t.name for t in config.tasks}
    hashes = {name: task_definition_hash(name, defined) for name in names}
    for name, own in own_tasks(config, source).items():  # keyed by the data's content
        hashes[name] = hashes[own.chat_name] = own.digest
    lm_eval = lm_eval_version()
    return [make_job(model, task, config, limit, lm_eval, protocol, hashes)
            for model in (models if models is not None else config.models)
            for task in (tasks if tasks is not None else config.tasks)
            for protocol in protocols_for(model, task, config)]


@dataclass
class Plan:
    """What a run will do: finished jobs stay untouched, skipped ones say why."""

    finished: list[Job] = field(default_factory=list)
    pending: list[Job] = field(default_factory=list)
    skipped: list[tuple[Job, str]] = field(default_factory=list)

    def skip(self, jobs: list[tuple[Job, str]]) -> None:
        """Move pending jobs to skipped, each with its reason."""
        keys = {job.key for job, _ in jobs}
        self.pending = [job for job in self.pending if job.key not in keys]
        self.skipped.extend(jobs)


def plan_jobs(
    config: RunConfig,
    store: ResultStore,
    *,
    model_ids: list[str] | None = None,
    task_names: list[str] | None = None,
    limit: float | None = None,
    force: bool = False,
    env: Mapping[str, str] | None = None,
    source: str = "the config",
) -> Plan:
    """Every selected model x task x protocol, sorted into finished / pending / skipped."""
    env = os.environ if env is None else env
    models = _select(config.models, model_ids, lambda m: m.id, "--model", source)
    tasks = _select(config.tasks, task_names, lambda t: t.name, "--task", source)
    plan = Plan()
    try:
        reasons = {model.id: unrunnable_reason(model, env) for model in models}
    except UnusableKey as exc:
        raise ConfigError(f"{source}: {exc}.") from None
    jobs = all_jobs(config, limit=limit, source=source, models=models, tasks=tasks)
    refuse_private_leaks(jobs, source)
    for job in jobs:
        if not force and store.has(job.model.id, job.task.name, job.key):
            plan.finished.append(job)
        elif reasons[job.model.id]:
            plan.skipped.append((job, reasons[job.model.id]))
        else:
            plan.pending.append(job)
    return plan


def refuse_private_leaks(jobs: list[Job], source: str) -> None:
    """A private task's rows go to no API off this machine unless the task allows it."""
    leaks = sorted({(job.task.name, job.model.id) for job in jobs
                    if job.task.private and not job.task.allow_closed
                    and leaves_machine(job.model)})
    if leaks:
        pairs = ", ".join(f"{model} × {task}" for task, model in leaks)
        raise ConfigError(
            f"{source}: private task data would be sent to an API off this machine ({pairs}). "
            "Allowed: models that run here (or behind a server on 127.0.0.1); to send the rows "
            "anyway, set `allow_closed: true` on that task, or drop those models with --model.")


def private_audience(jobs: list[Job]) -> dict[str, list[str]]:
    """For each private task, the models that would see its rows (for the plan)."""
    seen: dict[str, list[str]] = {}
    for job in jobs:
        if job.task.private:
            where = "API, allowed" if leaves_machine(job.model) else "this machine"
            entry = f"{job.model.id} ({where})"
            if entry not in seen.setdefault(job.task.name, []):
                seen[job.task.name].append(entry)
    return seen


def _select(items: list[Any], wanted: list[str] | None, name: Callable[[Any], str],
            option: str, source: str) -> list[Any]:
    if not wanted:
        return list(items)
    names = [name(i) for i in items]
    for w in wanted:
        if w not in names:
            raise ConfigError(
                f"{option} {w!r} is not in {source}.{suggest(w, names)} "
                f"Allowed: {', '.join(names)}."
            )
    return [i for i in items if name(i) in wanted]
