"""A task from the user's own file: checked row by row, turned into lm-eval tasks, keyed by content.

The articles' practical question is whether an open model is good enough on *your* data. Here a
JSONL, CSV or Parquet file becomes two lm-eval tasks written from templates (the native one:
log-likelihood over the choices, or plain generation for short answers; and a chat variant with
the same robust answer extraction as the standard chat tasks). The data itself is never copied:
the tasks read the file where it is, and only column names and the file's path are written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from openvsclosed.config import ConfigError, RunConfig, TaskSpec

MAX_CELL_CHARS = 100_000
MAX_FILE_BYTES = 512 * 1024 * 1024
LETTERS = "ABCDEFGHIJ"
FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


@dataclass(frozen=True)
class OwnTask:
    """What planning needs of an own task: its two lm-eval names and its content hash."""

    spec: TaskSpec
    digest: str
    rows: int

    @property
    def chat_name(self) -> str:
        """The chat variant's lm-eval name."""
        return f"{self.spec.name}_chat"

    def describe(self) -> dict[str, Any]:
        """What a record says of the task (the file's name, never its folder or rows)."""
        return {"file": Path(str(self.spec.file)).name, "sha256": self.digest,
                "kind": self.spec.kind, "rows": self.rows, "private": self.spec.private}


def own_tasks(config: RunConfig, source: str = "the config") -> dict[str, OwnTask]:
    """Every task of the config read from a file, checked; by task name."""
    out = {}
    for index, spec in enumerate(config.tasks):
        if spec.file is not None:
            out[spec.name] = check_own_task(spec, f"{source}: tasks[{index}]")
    return out


def check_own_task(spec: TaskSpec, where: str) -> OwnTask:
    """Read and check every row; a file that does not fit fails naming the row and column."""
    rows = read_rows(Path(str(spec.file)), where)
    if not rows:
        raise ConfigError(f"{where}.file: {spec.file} holds no rows; allowed: one question a "
                          "row with the columns the task maps.")
    for number, row in enumerate(rows, start=1):
        normalize_row(row, spec, f"{where}.file: {spec.file}: row {number}")
    fewshot = []
    if spec.fewshot_file is not None:
        fewshot = read_rows(Path(str(spec.fewshot_file)), f"{where}.fewshot_file")
        for number, row in enumerate(fewshot, start=1):
            normalize_row(row, spec, f"{where}.fewshot_file: {spec.fewshot_file}: row {number}")
    digest = hashlib.sha256()
    for path in filter(None, (spec.file, spec.fewshot_file)):
        digest.update(Path(str(path)).read_bytes())
    columns = spec.columns.model_dump() if spec.columns else {}
    digest.update(json.dumps({"kind": spec.kind, "columns": columns}, sort_keys=True).encode())
    return OwnTask(spec=spec, digest=digest.hexdigest()[:16], rows=len(rows))


def read_rows(path: Path, where: str) -> list[dict[str, Any]]:
    """The file's rows as dicts, by its suffix; unreadable input names the file (and row)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"{where}: {path}: unknown format {suffix or '(none)'}; allowed: "
                          ".jsonl, .csv, .parquet.")
    if not path.is_file():
        raise ConfigError(f"{where}: {path} is not a file (relative to the current folder).")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{where}: {path} is larger than {MAX_FILE_BYTES:,} bytes.")
    if suffix in (".jsonl", ".json"):
        return _jsonl_rows(path, where)
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False) if suffix == ".csv" \
            else pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001  (pandas raises many kinds; each is bad input)
        raise ConfigError(f"{where}: {path}: not a readable {suffix[1:]} file "
                          f"({type(exc).__name__}: {str(exc)[:160]}).") from None
    return [_plain(row) for row in frame.to_dict(orient="records")]


def _jsonl_rows(path: Path, where: str) -> list[dict[str, Any]]:
    rows = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise ConfigError(f"{where}: {path}: row {number} is not a JSON object "
                                  f"({type(exc).__name__}); allowed: one JSON object a line."
                                  ) from None
            if not isinstance(row, dict):
                raise ConfigError(f"{where}: {path}: row {number} is a {type(row).__name__}, "
                                  "not a JSON object.")
            rows.append(row)
    return rows


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Numpy arrays and scalars from Parquet as lists and Python values."""
    out = {}
    for key, value in row.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        out[str(key)] = value
    return out


def normalize_row(row: dict[str, Any], spec: TaskSpec, where: str) -> dict[str, Any]:
    """The row's question, choices and answer in the fields the generated tasks read."""
    columns = spec.columns or _default_columns()

    def cell(column: str) -> Any:
        if column not in row:
            raise ConfigError(f"{where}: no column {column!r}; the file has "
                              f"{', '.join(map(repr, list(row)[:20]))}. Map yours with "
                              "`columns:` (question, choices, answer).")
        value = row[column]
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise ConfigError(f"{where}, column {column!r}: {len(value):,} characters, over "
                              f"the {MAX_CELL_CHARS:,} allowed in one cell.")
        return value

    question = cell(columns.question)
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"{where}, column {columns.question!r}: the question must be "
                          f"non-empty text (got {type(question).__name__}).")
    answer = cell(columns.answer)
    out = {"ovc_question": question.strip(), "ovc_choices": [], "ovc_gold": 0, "ovc_answer": ""}
    if spec.kind == "multiple_choice":
        choices = _choices(row, columns, cell, where)
        out["ovc_choices"] = choices
        out["ovc_gold"] = _gold(answer, choices, f"{where}, column {columns.answer!r}")
        out["ovc_answer"] = choices[out["ovc_gold"]]
    elif spec.kind == "numeric":
        number = number_text(answer)
        if number is None:
            raise ConfigError(f"{where}, column {columns.answer!r}: {str(answer)[:40]!r} is not "
                              "a number; allowed for kind numeric: a number.")
        out["ovc_answer"] = number
    else:
        if isinstance(answer, bool) or not isinstance(answer, (str, int, float)) \
                or not str(answer).strip():
            raise ConfigError(f"{where}, column {columns.answer!r}: the answer must be "
                              "non-empty text or a number.")
        out["ovc_answer"] = str(answer).strip()
    return out


def _default_columns() -> Any:
    from openvsclosed.config import OwnColumns

    return OwnColumns()


def _choices(row: dict[str, Any], columns: Any, cell: Any, where: str) -> list[str]:
    if isinstance(columns.choices, list):
        values = [cell(c) for c in columns.choices]
        label = ", ".join(columns.choices)
    else:
        values, label = cell(columns.choices), columns.choices
        if isinstance(values, str) and values.strip().startswith("["):
            with contextlib.suppress(ValueError):
                values = json.loads(values)
    if not isinstance(values, list) or not 2 <= len(values) <= len(LETTERS) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip()
            for v in values):
        raise ConfigError(f"{where}, column {label!r}: choices must be 2 to {len(LETTERS)} "
                          "non-empty texts (a list, or one column each).")
    return [str(v).strip() for v in values]


def _gold(answer: Any, choices: list[str], where: str) -> int:
    """The right choice's index from an index, a letter or the choice's text."""
    if isinstance(answer, bool):
        answer = None
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    if isinstance(answer, str) and answer.strip().isdigit():
        answer = int(answer.strip())
    if isinstance(answer, int) and 0 <= answer < len(choices):
        return answer
    if isinstance(answer, str):
        text = answer.strip()
        if len(text) == 1 and text.upper() in LETTERS[:len(choices)]:
            return LETTERS.index(text.upper())
        if text in choices:
            return choices.index(text)
    raise ConfigError(f"{where}: {str(answer)[:40]!r} names none of the {len(choices)} choices; "
                      "allowed: a 0-based index, a letter (A, B…) or a choice's exact text.")


def number_text(value: Any) -> str | None:
    """A number as canonical text ('1,200.50' -> '1200.5'), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        found = _NUMBER.fullmatch(str(value).strip())
        if not found:
            return None
        number = float(found.group(0).replace(",", ""))
    if not math.isfinite(number):
        return None
    return str(int(number)) if number.is_integer() else repr(number)


# ---- used by the generated tasks (process_docs and filters)
def normalize_docs(dataset: Any, columns: dict[str, Any], kind: str) -> Any:
    """lm-eval `process_docs`: every document with the fields the templates read."""
    from openvsclosed.config import OwnColumns

    spec = TaskSpec(name="own", file=Path("x.jsonl"), kind=kind, columns=OwnColumns(**columns))
    return dataset.map(lambda doc: normalize_row(dict(doc), spec, "document"))


def extract_number(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval filter: the last number a reply states, canonical, after any reasoning."""
    from openvsclosed.models.wire import strip_reasoning

    out = []
    for replies in resps:
        row = []
        for reply in replies:
            found = _NUMBER.findall(strip_reasoning(reply or ""))
            row.append(number_text(found[-1]) if found else "[no answer]")
        out.append(row)
    return out


def extract_short(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval filter: a short answer without reasoning, 'The answer is' or trailing dots."""
    from openvsclosed.models.wire import strip_reasoning

    def clean(text: str) -> str:
        text = strip_reasoning(text or "").strip()
        stated = re.findall(r"answer\s*(?:is|:)\s*(.+)", text, re.IGNORECASE)
        text = stated[-1] if stated else (text.splitlines() or [""])[0]
        return text.strip().strip("*").rstrip(".").strip() or "[no answer]"

    return [[clean(r) for r in replies] for replies in resps]


def extract_choice(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval filter: the stated letter, as for the standard chat tasks."""
    from openvsclosed.models.wire import strip_reasoning

    letter = _chat_utils().choice_letter
    return [[letter(strip_reasoning(r or "")) for r in rs] for rs in resps]


@lru_cache(maxsize=1)
def _chat_utils() -> Any:
    """The standard chat tasks' answer extraction (a module beside their YAMLs)."""
    import importlib.util

    from openvsclosed.tasks import PACKAGE_TASKS

    found = importlib.util.spec_from_file_location("ovc_chat_utils", PACKAGE_TASKS / "utils.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


# ---- writing the lm-eval tasks
def task_include_paths(config: RunConfig, source: str = "the config") -> list[Path]:
    """The user's task folders plus one holding the config's own tasks, written if needed."""
    tasks = own_tasks(config, source)
    if not tasks:
        return list(config.task_paths)
    key = hashlib.sha256("".join(sorted(t.digest + t.spec.name for t in tasks.values()))
                         .encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "openvsclosed-own-tasks" / key
    for task in tasks.values():
        write_task_files(task, folder)
    return [*config.task_paths, folder]


def write_task_files(task: OwnTask, folder: Path) -> None:
    """The native and chat lm-eval tasks for one own task, and the module they call."""
    from openvsclosed.store import write_atomic

    spec = task.spec
    module = f"ovc_own_{spec.name}"
    columns = (spec.columns or _default_columns()).model_dump()
    write_atomic(folder / f"{module}.py", (
        '"""Generated by openvsclosed for an own task; the data is read where it is."""\n'
        "from openvsclosed.owntask import extract_choice, extract_number, extract_short, "
        "normalize_docs  # noqa: F401\n\n"
        f"COLUMNS = {columns!r}\nKIND = {spec.kind!r}\n\n\n"
        "def process_docs(dataset):\n    return normalize_docs(dataset, COLUMNS, KIND)\n"))
    data = {"test": str(Path(str(spec.file)).resolve())}
    if spec.fewshot_file is not None:
        data["train"] = str(Path(str(spec.fewshot_file)).resolve())
    common = {
        "dataset_path": FORMATS[Path(str(spec.file)).suffix.lower()],
        "dataset_kwargs": {"data_files": data}, "test_split": "test",
        "process_docs": f"!function {module}.process_docs",
        "metadata": {"version": 1.0, "ovc_own_task": task.describe()},
    }
    if spec.fewshot_file is not None:
        common["fewshot_split"] = "train"
    native, chat = _templates(spec.kind, module)
    for name, body in ((spec.name, native), (task.chat_name, chat)):
        text = yaml.safe_dump({"task": name, **common, **body}, sort_keys=False, width=1000)
        text = re.sub(r"'(!function [\w.]+)'", r"\1", text)
        write_atomic(folder / f"{name}.yaml", text)


def _templates(kind: str, module: str) -> tuple[dict, dict]:
    letter_list = ("{% for t in ovc_choices %}\n{{ 'ABCDEFGHIJ'[loop.index0] }}. {{t}}"
                   "{% endfor %}")
    chat_mc = {
        "output_type": "generate_until",
        "doc_to_text": ("Given the following question and candidate answers, choose the best "
                        "answer.\nQuestion: {{ovc_question}}" + letter_list + "\nYour response "
                        "should end with \"The best answer is [the_answer_letter]\" where the "
                        "[the_answer_letter] is one of {{ 'ABCDEFGHIJ'[:ovc_choices|length]|list"
                        "|join(', ') }}."),
        "doc_to_target": "{{ 'ABCDEFGHIJ'[ovc_gold] }}",
        "fewshot_delimiter": "\n\n",
        "generation_kwargs": {"max_gen_toks": 64, "until": ["\n\n"], "do_sample": False,
                              "temperature": 0.0},
        "metric_list": [{"metric": "exact_match", "aggregation": "mean",
                         "higher_is_better": True}],
        "filter_list": [{"name": "get-answer", "filter": [
            {"function": "custom", "filter_fn": f"!function {module}.extract_choice"},
            {"function": "take_first"}]}],
    }
    if kind == "multiple_choice":
        native = {"output_type": "multiple_choice",
                  "doc_to_text": "Question: {{ovc_question}}\nAnswer:",
                  "doc_to_choice": "ovc_choices", "doc_to_target": "ovc_gold",
                  "metric_list": [{"metric": "acc", "aggregation": "mean",
                                   "higher_is_better": True},
                                  {"metric": "acc_norm", "aggregation": "mean",
                                   "higher_is_better": True}]}
        return native, chat_mc
    extract = "extract_number" if kind == "numeric" else "extract_short"
    metric = {"metric": "exact_match", "aggregation": "mean", "higher_is_better": True,
              "ignore_case": kind != "numeric", "ignore_punctuation": kind != "numeric"}
    generative = {
        "output_type": "generate_until",
        "doc_to_text": "Question: {{ovc_question}}\nAnswer:",
        "doc_to_target": "ovc_answer",
        "generation_kwargs": {"max_gen_toks": 64, "until": ["\n\n"], "do_sample": False,
                              "temperature": 0.0},
        "metric_list": [metric],
        "filter_list": [{"name": "get-answer", "filter": [
            {"function": "custom", "filter_fn": f"!function {module}.{extract}"},
            {"function": "take_first"}]}],
    }
    chat = {**generative, "doc_to_text": ("{{ovc_question}}\nReply with the answer alone"
                                           + (" (a number)" if kind == "numeric" else "")
                                           + ".")}
    return generative, chat
