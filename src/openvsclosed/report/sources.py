"""data/sources/*.yaml (whole source tables) -> one long frame, one row per table cell.

Each file is a table as it was read (data/sources/README.md has the format). Nothing is picked
here: every cell of every file becomes one row, and a cell that cannot enter a comparison keeps
its row with an `excluded` reason, a stated rule from `RULES`, so the report can list what was
left out and why, and a test can check that no cell is lost. A malformed file stops the report
with one paragraph naming the file and the key (never a traceback).

Protocol fields per cell: the row's settings, overridden by the cell's `cells:` entry; the
model's `reasoning` from its column; who ran it (`ran_by`) from the cell, else derived: the
table's publisher is the model's organization -> maker, `kind: independent` -> independent,
otherwise other_maker.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

TRACKED = ("mmlu", "mmlu_pro", "gpqa_diamond", "gpqa_main", "hle", "aime24", "aime25", "aime26",
           "hmmt25", "math500", "math", "gsm8k", "humaneval", "livecodebench",
           "swe_bench_verified", "terminal_bench", "arc_challenge", "hellaswag", "winogrande",
           "truthfulqa")
KINDS = ("model_card", "tech_report", "maker_page", "independent")
RAN_BY = ("maker", "other_maker", "independent")
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TABLE_KEYS = ("id", "title", "url", "table", "kind", "publisher", "published", "read", "models",
              "rows")
MODEL_KEYS = ("id", "name", "organization", "access", "released", "params_b", "reasoning")
ROW_KEYS = ("label", "benchmark", "version", "shots", "prompting", "tools", "scaffold", "metric",
            "scores")
CELL_KEYS = ("ran_by", "reasoning", "metric", "tools", "scaffold", "shots", "note", "prompting",
             "version")
META = ("organization", "access", "released", "params_b", "available")
RULES = {
    "not reported": "not reported in the table (a dash or an empty cell)",
    "not tracked": "benchmark not tracked here",
    "after freeze": "model released after the data's freeze date",
    "never available": "model never publicly available (no weights, no API): on neither side "
                       "of the debate",
}
"""Every reason a cell stays out of the comparison (the report lists each with its count)."""
CELL_COLUMNS = ["table", "title", "url", "kind", "publisher", "published", "read", "row",
                "row_label",
                "model", "label", "organization", "access", "released", "params_b", "available",
                "benchmark",
                "version", "shots", "prompting", "reasoning", "tools", "scaffold", "metric",
                "ran_by", "score", "note", "excluded"]

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where installed: the same documents, read several times faster."""


class SourceError(ValueError):
    """A source file that cannot be read: the message names the file and the key."""


@dataclass
class SourceData:
    """Every cell of every table (excluded ones flagged), the freeze, the tables read."""

    cells: pd.DataFrame
    freeze: dt.date | None
    checked: dt.date | None = None
    tables: list[dict[str, Any]] = field(default_factory=list)

    @property
    def included(self) -> pd.DataFrame:
        """The cells that reach the comparison."""
        return self.cells[self.cells["excluded"].isna()].reset_index(drop=True)

    def exclusions(self) -> pd.DataFrame:
        """Per rule: count and up to three examples (table: model × row)."""
        out = self.cells[self.cells["excluded"].notna()]
        rows = []
        for rule, group in out.groupby("excluded", sort=True):
            examples = "; ".join(f"{r.table}: {r.model} × {r.row_label}"
                                 for r in group.head(3).itertuples())
            rows.append({"rule": rule, "cells": len(group), "examples": examples})
        return pd.DataFrame(rows, columns=["rule", "cells", "examples"])


def sources_dir() -> Path:
    """The package's data/sources folder."""
    return Path(str(resources.files("openvsclosed").joinpath("data/sources")))


def _fail(path: Path, key: str, problem: str, allowed: str) -> SourceError:
    return SourceError(f"{path}: {key}: {problem}; allowed: {allowed} (format in "
                       "data/sources/README.md).")


def _date(path: Path, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _fail(path, key, f"{str(value)[:40]!r} is not a date", "YYYY-MM-DD") from None


def read_freeze(folder: Path) -> tuple[dt.date | None, dt.date | None]:
    """(covers_through, checked) from `_freeze.yaml`, or (None, None) when there is none."""
    path = folder / "_freeze.yaml"
    if not path.is_file():
        return None, None
    data = _yaml(path)
    if not isinstance(data, dict) or "covers_through" not in data:
        raise _fail(path, "covers_through", "missing", "a mapping with covers_through, checked")
    checked = data.get("checked")
    return (_date(path, "covers_through", data["covers_through"]),
            _date(path, "checked", checked) if checked is not None else None)


def _yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text("utf-8"), Loader=SAFE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SourceError(f"{path}: not readable YAML ({reason}); allowed: one source table "
                          "as data/sources/README.md describes.") from None


def _models(path: Path, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(data["models"], list) or not data["models"]:
        raise _fail(path, "models", "not a list of model columns", "a list of mappings")
    out = {}
    for i, m in enumerate(data["models"]):
        where = f"models[{i}]"
        if not isinstance(m, dict):
            raise _fail(path, where, "not a mapping", ", ".join(MODEL_KEYS))
        lacking = [k for k in MODEL_KEYS if k not in m]
        if lacking:
            raise _fail(path, where, f"missing {', '.join(lacking)}", ", ".join(MODEL_KEYS))
        if not SLUG.match(str(m["id"])):
            raise _fail(path, f"{where}.id", f"{str(m['id'])[:40]!r} is not a slug",
                        "^[a-z0-9][a-z0-9._-]*$")
        if m["access"] not in ("open", "closed"):
            raise _fail(path, f"{where}.access", repr(m["access"]), "open, closed")
        reasoning = str(m["reasoning"])
        if not (reasoning in ("off", "on") or reasoning.startswith("on:")):
            raise _fail(path, f"{where}.reasoning", repr(reasoning), "off, on, on:<effort>")
        if m["params_b"] is not None and not isinstance(m["params_b"], (int, float)):
            raise _fail(path, f"{where}.params_b", repr(m["params_b"]), "a number or null")
        if m["id"] in out:
            raise _fail(path, f"{where}.id", f"{m['id']} appears twice", "one column per model")
        if not isinstance(m.get("available", True), bool):
            raise _fail(path, f"{where}.available", repr(m["available"]), "true, false")
        out[m["id"]] = {**m, "reasoning": reasoning, "available": m.get("available", True),
                        "released": _date(path, f"{where}.released", m["released"])}
    return out


def read_table(path: Path) -> list[dict[str, Any]]:
    """One source file -> one dict per cell (every model column × every row)."""
    data = _yaml(path)
    if not isinstance(data, dict):
        raise SourceError(f"{path}: the top level is a {type(data).__name__}; allowed: a "
                          "mapping with " + ", ".join(TABLE_KEYS) + ".")
    lacking = [k for k in TABLE_KEYS if k not in data]
    if lacking:
        raise _fail(path, ", ".join(lacking), "missing", ", ".join(TABLE_KEYS))
    if data["id"] != path.stem:
        raise _fail(path, "id", f"{str(data['id'])[:60]!r} differs from the file name",
                    f"{path.stem!r}")
    if data["kind"] not in KINDS:
        raise _fail(path, "kind", repr(data["kind"]), ", ".join(KINDS))
    models = _models(path, data)
    head = {"table": data["id"], "title": data["title"], "url": data["url"],
            "kind": data["kind"], "publisher": data["publisher"],
            "published": _date(path, "published", data["published"]),
            "read": _date(path, "read", data["read"])}
    if not isinstance(data["rows"], list):
        raise _fail(path, "rows", "not a list", "a list of benchmark rows")
    cells = []
    for i, row in enumerate(data["rows"]):
        cells += [{**c, "row": i} for c in _row_cells(path, f"rows[{i}]", row, models, head)]
    return cells


def _row_cells(path: Path, where: str, row: Any, models: dict[str, dict[str, Any]],
               head: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(row, dict):
        raise _fail(path, where, "not a mapping", ", ".join(ROW_KEYS))
    lacking = [k for k in ROW_KEYS if k not in row]
    if lacking:
        raise _fail(path, f"{where} ({row.get('label')})", f"missing {', '.join(lacking)}",
                    ", ".join(ROW_KEYS))
    scores, extra = row["scores"] or {}, row.get("cells") or {}
    if not isinstance(scores, dict) or not isinstance(extra, dict):
        raise _fail(path, f"{where}.scores", "not a mapping", "model id -> percent or null")
    for mid in [*scores, *extra]:
        if mid not in models:
            raise _fail(path, f"{where} ({row['label']})", f"names unknown model {mid!r}",
                        "the ids under models:")
    out = []
    for mid, m in models.items():
        value = scores.get(mid)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _fail(path, f"{where}.scores.{mid}", repr(value)[:40],
                        "a number in percent, or null")
        cell = extra.get(mid) or {}
        if not isinstance(cell, dict) or set(cell) - set(CELL_KEYS):
            raise _fail(path, f"{where}.cells.{mid}", str(cell)[:60], ", ".join(CELL_KEYS))
        ran_by = cell.get("ran_by") or ("independent" if head["kind"] == "independent" else
                                        "maker" if _org(head["publisher"]) == _org(
                                            m["organization"]) else "other_maker")
        if ran_by not in RAN_BY:
            raise _fail(path, f"{where}.cells.{mid}.ran_by", repr(ran_by), ", ".join(RAN_BY))
        reasoning = str(cell.get("reasoning", m["reasoning"]))
        if not (reasoning in ("off", "on") or reasoning.startswith("on:")):
            raise _fail(path, f"{where}.cells.{mid}.reasoning", repr(reasoning),
                        "off, on, on:<effort>")
        settings = {k: cell.get(k, row.get(k)) for k in ("version", "shots", "prompting",
                                                         "tools", "scaffold", "metric")}
        out.append({**head, "row_label": str(row["label"]), "model": mid, "label": m["name"],
                    **{k: m[k] for k in META}, "benchmark": str(row["benchmark"]), **settings,
                    "reasoning": reasoning, "ran_by": ran_by,
                    "score": None if value is None else float(value),
                    "note": cell.get("note"), "excluded": None})
    return out


def _org(name: object) -> str:
    """Organization names compared loosely ('Z.ai (Zhipu AI)' = 'Z.ai'): the first word."""
    text = re.sub(r"[^a-z0-9 ]+", " ", str(name).lower()).split()
    return text[0] if text else ""


def load_sources(folder: Path | None = None) -> SourceData:
    """Every table in `folder` (default: the package's), cells flagged by the exclusion rules.

    Raises SourceError for a malformed file, or a model whose metadata differs between tables.
    """
    folder = Path(folder) if folder is not None else sources_dir()
    freeze, checked = read_freeze(folder)
    cells, tables, seen = [], [], {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        found = read_table(path)
        for c in found:
            meta = tuple(c[k] for k in META)
            first = seen.setdefault(c["model"], (meta, path.name))
            if first[0] != meta:
                raise SourceError(
                    f"{path}: model {c['model']}: organization/access/released/params_b/available "
                    f"{meta} differ from {first[1]}'s {first[0]}; allowed: the same metadata "
                    "for one model in every table.")
        cells += found
        if found:
            tables.append({k: found[0][k] for k in ("table", "title", "url", "kind",
                                                     "publisher", "published", "read")})
    frame = pd.DataFrame(cells, columns=CELL_COLUMNS)
    frame["excluded"] = [_exclusion(c, freeze) for c in cells]
    frame["shots"] = frame["shots"].astype("Int64") if len(frame) else frame["shots"]
    return SourceData(frame, freeze, checked, tables)


def _exclusion(cell: dict[str, Any], freeze: dt.date | None) -> str | None:
    if cell["benchmark"] not in TRACKED:
        return RULES["not tracked"]
    if cell["score"] is None:
        return RULES["not reported"]
    if freeze is not None and cell["released"] > freeze:
        return RULES["after freeze"]
    if not cell["available"]:
        return RULES["never available"]
    return None


__all__ = ["RULES", "TRACKED", "SourceData", "SourceError", "load_sources", "read_freeze"]
