"""Result files written by the plain `lm_eval` command (`report --import`) -> our records.

Users have files from lm-eval 0.3 (`results` with bare metric names like "acc", `versions`, one
`config.num_fewshot`, no `n-shot`) and 0.4 ("acc,none" keys, `n-shot`, `group_subtasks`); both
import. Rules, each because a plain file is easy to misread:
- A group's shots come from its subtasks (0.4 files list an MMLU 5-shot group as 0-shot); shots
  nobody wrote down stay unknown (None), never 0.
- Identity comes from the model catalog where the file's model name matches an entry (id, name,
  API model or Hugging Face id): release date, size and openness come with it. Openness never
  comes from lm-eval's model type (`local-chat-completions` can be Gemini); a model the catalog
  does not know needs its openness stated (`--import open:PATH` or `closed:PATH`).
- A file that cannot be read fails naming the file, the task and the format it looked like.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from openvsclosed.harvest import NOT_METRICS, HarvestError, harvest_record, leaf_tasks, to_float
from openvsclosed.schema import JobKeyFields, ModelIdentity, ResultRecord


def split_access(spec: str) -> tuple[str | None, Path]:
    """`open:PATH` / `closed:PATH` / `PATH` -> (stated openness or None, path)."""
    head, sep, rest = spec.partition(":")
    if sep and head in ("open", "closed"):
        return head, Path(rest)
    return None, Path(spec)


def file_format(data: dict[str, Any]) -> str:
    """'lm-eval 0.4' (metric keys carry a filter, or n-shot is present) or 'lm-eval 0.3'."""
    results = data.get("results") or {}
    keyed = any("," in key for entry in results.values() if isinstance(entry, dict)
                for key in entry)
    return "lm-eval 0.4" if keyed or "n-shot" in data else "lm-eval 0.3"


def normalized(data: dict[str, Any]) -> dict[str, Any]:
    """A 0.3 file rewritten in 0.4's shape: bare metric names get the 'none' filter."""
    if file_format(data) == "lm-eval 0.4":
        return data
    results = {task: {(k if k in NOT_METRICS else f"{k},none"): v for k, v in entry.items()}
               for task, entry in data["results"].items()}
    return {**data, "results": results}


def task_shots(data: dict[str, Any], task: str) -> int | None:
    """Shots for `task`: its leaves' common value for a group, else its own; None if unknown."""
    shots = data.get("n-shot")
    if shots is None:  # 0.3: one value for the whole run, when it was written down
        value = (data.get("config") or {}).get("num_fewshot")
        return int(value) if isinstance(value, (int, float)) else None
    leaves = leaf_tasks(data, task)
    if leaves != [task]:
        values = {shots.get(leaf) for leaf in leaves}
        return int(values.pop()) if len(values) == 1 and None not in values else None
    value = shots.get(task)
    return int(value) if isinstance(value, (int, float)) else None


def _names(data: dict[str, Any]) -> tuple[str, dict[str, str], str]:
    config = data.get("config") or {}
    args = config.get("model_args") or {}
    if isinstance(args, str):
        args = dict(kv.split("=", 1) for kv in args.split(",") if "=" in kv)
    model_type = str(config.get("model") or "unknown")
    name = str(data.get("model_name") or args.get("pretrained") or args.get("model")
               or args.get("path") or model_type)
    return name, args, model_type


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def catalog_match(name: str, catalog: dict[str, Any]) -> Any | None:
    """The catalog entry whose id, name, API model or pretrained id matches `name`."""
    wanted = {_key(name), _key(name.rsplit("/", 1)[-1])}
    for entry in catalog.values():
        pretrained = str((entry.model_args or {}).get("pretrained") or "")
        keys = {entry.id, entry.name, entry.api_model or "", pretrained,
                pretrained.rsplit("/", 1)[-1]}
        if wanted & {_key(k) for k in keys if k}:
            return entry
    return None


MAX_IMPORT_BYTES = 256 * 1024 * 1024
READ_ERRORS = (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError,
               RecursionError, OverflowError)
"""What a malformed file raises somewhere inside: each becomes one paragraph naming it."""


def import_lm_eval_file(spec: str | Path, catalog: dict[str, Any] | None = None
                        ) -> list[ResultRecord]:
    """Records from one plain lm-eval results file (`open:`/`closed:` prefix states openness).

    Whatever is wrong inside a file, the error names the file (and the task where one was
    being read) in one paragraph; nothing reaches the user as a traceback.
    """
    try:
        return _import(spec, catalog)
    except HarvestError:
        raise
    except READ_ERRORS as exc:
        _, path = split_access(str(spec))
        reason = "nested too deeply" if isinstance(exc, RecursionError) else \
            f"{type(exc).__name__}: {str(exc)[:160]}"
        raise HarvestError(f"{path}: not a readable lm-eval results file (lm-eval 0.3 or 0.4 "
                           f"JSON: 'results' mapping task -> metrics, 'config', 'n-shot', "
                           f"'n-samples'); {reason}") from None


def _import(spec: str | Path, catalog: dict[str, Any] | None) -> list[ResultRecord]:
    if catalog is None:
        from openvsclosed.catalog import load_catalog

        catalog = load_catalog()
    access, path = split_access(str(spec))
    try:
        if path.is_file() and path.stat().st_size > MAX_IMPORT_BYTES:
            raise ValueError(f"larger than {MAX_IMPORT_BYTES:,} bytes")
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data.get("results"), dict) or not data["results"]:
            raise KeyError("results")
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise HarvestError(f"{path}: not an lm_eval results file (lm-eval 0.3 or 0.4 JSON with "
                           f"a 'results' mapping): {exc!r}") from None
    fmt = file_format(data)
    name, args, model_type = _names(data)
    entry = catalog_match(name, catalog)
    identity = _identity(path, name, args, model_type, entry, access)
    data = normalized(data)
    children = {c for kids in data.get("group_subtasks", {}).values() for c in kids}
    when = datetime.fromtimestamp(float(data.get("date") or 0), tz=timezone.utc)
    seconds = to_float(data.get("total_evaluation_time_seconds")) or 0.0
    config = data.get("config") or {}
    seed = [int(config.get(k, d)) for k, d in (("random_seed", 0), ("numpy_seed", 1234),
                                               ("torch_seed", 1234), ("fewshot_seed", 1234))]
    version = str(data.get("lm_eval_version") or ("0.3" if fmt == "lm-eval 0.3" else "unknown"))
    records = []
    names = set(data["results"]) | set(data.get("groups") or {})
    for task in sorted(t for t in names if t not in children):
        shots = task_shots(data, task)
        fields = JobKeyFields(
            key_scheme=0, model={"backend": model_type, "args": {"name": identity.label}},
            task=task, num_fewshot=shots, limit=to_float(config.get("limit")), seed=seed,
            protocol="native", lm_eval_version=version)
        try:
            record = harvest_record(data, task=task, key=fields.key(), key_fields=fields,
                                    model=identity, metric=None,
                                    started_at=when - timedelta(seconds=seconds),
                                    finished_at=when)
        except (HarvestError, *READ_ERRORS) as exc:
            raise HarvestError(f"{path}: task {task!r} could not be read as a {fmt} results "
                               f"entry: {str(exc)[:200]}") from None
        records.append(record.model_copy(update={"num_fewshot": shots}))
    return records


def _identity(path: Path, name: str, args: dict[str, str], model_type: str, entry: Any,
              access: str | None) -> ModelIdentity:
    kept = {k: v for k, v in args.items() if k in ("gguf_file",)}
    if entry is not None:
        return ModelIdentity(id=entry.id, label=entry.name, access=access or entry.access,
                             organization=entry.organization, backend=model_type, args=kept,
                             released=entry.released.isoformat(), params_b=entry.params_b)
    if access is None:
        raise HarvestError(
            f"{path}: model {name!r} is not in the model catalog, so its openness is unknown "
            f"(lm-eval's model type {model_type!r} does not tell); allowed: add it to "
            f"data/catalog.yaml, or state it with --import open:{path} or closed:{path}.")
    short = Path(name).name if Path(name).is_absolute() else name
    model_id = re.sub(r"[^a-z0-9._-]+", "-", short.lower()).strip("-.") or "imported"
    return ModelIdentity(id=model_id, label=short, access=access, backend=model_type, args=kept)
