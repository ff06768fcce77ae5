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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openvsclosed.config import ConfigError, RunConfig, TaskSpec
from openvsclosed.harvest import NO_ANSWER, chat_answer_filters
from openvsclosed.ownfile import iter_rows

MAX_CELL_CHARS = 100_000
LETTERS = "ABCDEFGHIJ"
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
            shots = spec.num_fewshot if spec.num_fewshot is not None \
                else config.defaults.num_fewshot
            out[spec.name] = check_own_task(spec, f"{source}: tasks[{index}]", shots)
    return out


_CHECKED: dict[tuple, OwnTask] = {}
"""Checks already made in this process, keyed by the files' identity (path, size, mtime) and
the spec: planning, the data check and the task folder all ask, and a file is read once."""


def check_own_task(spec: TaskSpec, where: str, num_fewshot: int | None = None) -> OwnTask:
    """Read and check every row, streaming; a file that does not fit fails naming the row.

    Memory stays bounded whatever the file's size: rows are checked as they are read and
    never kept. The data is read the way lm-eval's `datasets` loader will read it (CSV cells
    such as NA, null, None or nothing become missing values), so a file that passes here does
    not fail on its first document at run time.
    """
    files = [Path(str(p)) for p in (spec.file, spec.fewshot_file) if p is not None]
    memo = (spec, num_fewshot, tuple(_identity(p) for p in files))
    if memo in _CHECKED:
        return _CHECKED[memo]
    rows = _check_rows(Path(str(spec.file)), spec, f"{where}.file")
    if not rows:
        raise ConfigError(f"{where}.file: {spec.file} holds no rows; allowed: one question a "
                          "row with the columns the task maps.")
    shots = num_fewshot or 0
    if spec.fewshot_file is not None:
        fewshot = _check_rows(Path(str(spec.fewshot_file)), spec, f"{where}.fewshot_file")
        if fewshot < shots:
            raise ConfigError(f"{where}.fewshot_file: {spec.fewshot_file} holds {fewshot} "
                              f"row(s), fewer than the {shots} few-shot examples asked for "
                              "(num_fewshot); allowed: at least as many rows, or fewer shots.")
    elif shots >= rows:
        raise ConfigError(f"{where}: num_fewshot {shots} needs more than {shots} rows in "
                          f"{spec.file} (examples are drawn from the other rows; it has "
                          f"{rows}); allowed: fewer shots, or a fewshot_file.")
    digest = hashlib.sha256()
    for path in files:
        with path.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    columns = spec.columns.model_dump() if spec.columns else {}
    digest.update(json.dumps({"kind": spec.kind, "columns": columns}, sort_keys=True).encode())
    task = OwnTask(spec=spec, digest=digest.hexdigest()[:16], rows=rows)
    _CHECKED[memo] = task
    return task


def _identity(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _check_rows(path: Path, spec: TaskSpec, where: str) -> int:
    count = 0
    for number, row in iter_rows(path, where):
        normalize_row(row, spec, f"{where}: {path}: row {number}")
        count += 1
    return count


def normalize_row(row: dict[str, Any], spec: TaskSpec, where: str) -> dict[str, Any]:
    """The row's question, choices and answer in the fields the generated tasks read."""
    columns = spec.columns or _default_columns()

    def cell(column: str) -> Any:
        if column not in row:
            raise ConfigError(f"{where}: no column {column!r}; the file has "
                              f"{', '.join(map(repr, list(row)[:20]))}. Map yours with "
                              "`columns:` (question, choices, answer).")
        value = row[column]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise ConfigError(f"{where}, column {column!r}: the cell is empty (a missing "
                              "value: nothing, or a word such as NA, null or None, which the "
                              "data loader reads as missing); allowed: a value in every cell "
                              "the task maps.")
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise ConfigError(f"{where}, column {column!r}: {len(value):,} characters, over "
                              f"the {MAX_CELL_CHARS:,} allowed in one cell.")
        return value

    question = cell(columns.question)
    if isinstance(question, (int, float)) and not isinstance(question, bool):
        question = number_text(question) or str(question)  # a numbers-only column reads typed
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
            row.append(number_text(found[-1]) if found else NO_ANSWER)
        out.append(row)
    return out


def extract_short(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval filter: a short answer without reasoning, 'The answer is' or trailing dots."""
    from openvsclosed.models.wire import strip_reasoning

    def clean(text: str) -> str:
        text = strip_reasoning(text or "").strip()
        stated = re.findall(r"answer\s*(?:is|:)\s*(.+)", text, re.IGNORECASE)
        text = stated[-1] if stated else (text.splitlines() or [""])[0]
        return text.strip().strip("*").rstrip(".").strip() or NO_ANSWER

    return [[clean(r) for r in replies] for replies in resps]


def extract_choice(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval filter: the stated letter, as for the standard chat tasks."""
    from openvsclosed.models.wire import strip_reasoning

    letter = chat_answer_filters().choice_letter
    return [[letter(strip_reasoning(r or "")) for r in rs] for rs in resps]
