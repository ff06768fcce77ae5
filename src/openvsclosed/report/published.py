"""Published scores, derived from whole source tables, as `source: reported` result rows.

Every included cell of data/sources/*.yaml (report/sources.py) becomes one row: nothing is
picked here, a model keeps every number it has on a task (several tables, several settings).
Comparisons pick their pairs among them, like with like (report/protocol.py). Each row carries
its structured protocol fields, its table, and `protocol`: the series key text, so two rows with
equal `protocol` text are like with like. The data's freeze date comes from
data/sources/_freeze.yaml (`freeze_date`), never from a constant in the code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from openvsclosed.report.protocol import Protocol, family_of, series_key
from openvsclosed.report.sources import SourceData, load_sources, sources_dir

PROTOCOL_COLUMNS = ["table", "row_label", "version", "shots", "prompting", "reasoning", "tools",
                    "scaffold", "ran_by", "runner", "url", "same_key", "family", "series",
                    "same_series"]
"""Columns a reported row carries beside a measured one's: `same_key` (table / row), `runner`
(who actually ran the number: the table's publisher, or the model's maker for a number the
table copied), `series` (like with like across tables) and `same_series` (one table row, one
runner, equal settings apart from who ran it: the strongest pairing)."""


def freeze_date(folder: Path | None = None) -> dt.date | None:
    """The date the published data run to (data/sources/_freeze.yaml's covers_through)."""
    from openvsclosed.report.sources import read_freeze

    return read_freeze(Path(folder) if folder is not None else sources_dir())[0]


def reported_rows(data: SourceData) -> pd.DataFrame:
    """The included cells as result rows (scores as fractions, like measured ones)."""
    cells = data.included
    if cells.empty:
        return pd.DataFrame(columns=["model", "task", "score", "source", *PROTOCOL_COLUMNS])
    series = [series_key(r) for _, r in cells.iterrows()]
    runner = [r["organization"] if r["ran_by"] == "maker" else r["publisher"]
              for _, r in cells.iterrows()]
    same = [same_series(r, who) for (_, r), who in zip(cells.iterrows(), runner, strict=True)]
    return pd.DataFrame({
        "model": cells["model"], "label": cells["label"], "access": cells["access"],
        "organization": cells["organization"],
        "released": [d.isoformat() for d in cells["released"]],
        "params_b": cells["params_b"], "task": cells["benchmark"],
        "metric": cells["metric"].fillna("reported"), "score": cells["score"] / 100,
        "stderr": None, "n": pd.array([pd.NA] * len(cells), "Int64"),
        "num_fewshot": cells["shots"].astype("Int64"), "limit": None, "protocol": series,
        "cost_usd": None, "duration_s": None, "finished_at": None, "key": None,
        "source": "reported", "doc_scores": None, "note": cells.apply(_note, axis=1),
        "table": cells["table"], "row_label": cells["row_label"], "version": cells["version"],
        "shots": cells["shots"].astype("Int64"), "prompting": cells["prompting"],
        "reasoning": cells["reasoning"], "tools": cells["tools"], "scaffold": cells["scaffold"],
        "ran_by": cells["ran_by"], "runner": runner, "url": cells["url"],
        "same_key": cells["table"] + " / " + cells["row"].astype(str) + " / "
        + cells["row_label"],
        "family": cells["benchmark"].map(family_of), "series": series, "same_series": same,
    }).reset_index(drop=True)


def same_series(row: pd.Series, runner: str) -> str:
    """One table row's series: its settings (who ran it aside), the row, and the runner.

    Two cells of one row run by one organization are the strongest like-with-like pair; a
    column the table copied from its maker's page has another runner, so another series.
    """
    proto = Protocol.of({**row.to_dict(), "ran_by": None})
    text = " · ".join(p for p in proto.text().split(" · ") if not p.startswith("run by"))
    return (f"{text} · table {row['table']}, row {row['row'] + 1} ({row['row_label']}) · run "
            f"by {runner}")


def load_reported(folder: Path | None = None) -> pd.DataFrame:
    """Published scores as result rows, every included cell of every source table."""
    return reported_rows(load_sources(folder))


def _note(row: pd.Series) -> str:
    effort = str(row["reasoning"]).partition(":")[2]
    extra = f", effort {effort}" if effort else ""
    note = f"; {row['note']}" if isinstance(row.get("note"), str) and row["note"] else ""
    return (f"{row['title']} ({row['table']}, {row['published']}), run by "
            f"{str(row['ran_by']).replace('_', ' ')}{extra}{note}")


def protocol_text(row: pd.Series | dict) -> str:
    """A reported row's protocol as text (Protocol.text), for tables and claims."""
    return Protocol.of(row).text()


__all__ = ["freeze_date", "load_reported", "protocol_text", "reported_rows"]
