"""Model x task jobs: each one's resolved settings, its key and the protocol it runs under.

The same function keys a job before a run and (through `JobKeyFields`) a stored record after
it, so a result is found again only when nothing that changes it has changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version

from openvsclosed.config import ConfigError, ModelSpec, RunConfig, TaskSpec
from openvsclosed.models import identity_args, leaves_machine
from openvsclosed.owntask import own_tasks
from openvsclosed.schema import JobKeyFields, Protocol
from openvsclosed.taskhash import definition_folders, task_definition_hash
from openvsclosed.taskindex import task_files
from openvsclosed.tasks import chat_variant

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


def all_jobs(config: RunConfig, *, limit: float | None = None, source: str = "the config",
             models: list[ModelSpec] | None = None, tasks: list[TaskSpec] | None = None,
             ) -> list[Job]:
    """Every job a config describes (each model x task x protocol it runs under)."""
    defined = task_files(definition_folders(config, source))
    names = {chat_task_name(t) for t in config.tasks} | {t.name for t in config.tasks}
    hashes = {name: task_definition_hash(name, defined) for name in names}
    for name, own in own_tasks(config, source).items():  # keyed by the data's content
        hashes[name] = hashes[own.chat_name] = own.digest
    lm_eval = lm_eval_version()
    return [make_job(model, task, config, limit, lm_eval, protocol, hashes)
            for model in (models if models is not None else config.models)
            for task in (tasks if tasks is not None else config.tasks)
            for protocol in protocols_for(model, task, config)]


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
