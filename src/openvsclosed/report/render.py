"""Tables -> files: Markdown, CSV and JSON, byte-for-byte reproducible (golden-tested)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from openvsclosed.store import write_atomic

MISSING = "—"


def fmt_score(score: object, stderr: object = None) -> str:
    """`46.0 ± 7.1` in points, one decimal, or a dash when there is nothing."""
    if _missing(score):
        return MISSING
    text = f"{float(score):.1f}"
    return text if _missing(stderr) else f"{text} ± {float(stderr):.1f}"


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fmt_text(value: object, empty: str = MISSING) -> str:
    """A cell's text, with pandas' missing markers shown as `empty`."""
    return empty if _missing(value) else str(value)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table; `|` in cells escaped."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)]) + "\n"


def leaderboard_markdown(board: pd.DataFrame) -> str:
    """Models as rows, tasks as columns, each cell the primary metric ± stderr in points."""
    title = ("# Leaderboard\n\nScores in points (0-100), ± one standard error; "
             "n per cell in the CSV.\n\n")
    if board.empty:
        return title + "No results yet.\n"
    tasks = sorted(board["task"].unique())
    metrics = board.drop_duplicates("task").set_index("task")["metric"]
    header = ["Model", "Access", *[f"{t} ({metrics[t].split(',')[0]})" for t in tasks]]
    models = board.drop_duplicates("model").sort_values(["access", "label"], kind="stable")
    rows = []
    for _, m in models.iterrows():
        cells = [m["label"], m["access"]]
        for task in tasks:
            hit = board[(board["model"] == m["model"]) & (board["task"] == task)]
            cells.append(fmt_score(hit["score"].iloc[0], hit["stderr"].iloc[0]) if len(hit)
                         else MISSING)
        rows.append(cells)
    return title + markdown_table(header, rows)


def gap_markdown(gap: pd.DataFrame) -> str:
    """Per task: best open vs best closed and the gap (closed - open) in points."""
    title = ("# Open vs closed gap\n\nGap = best closed - best open, in points, ± one standard "
             "error (independent samples). Positive: closed leads.\n\n")
    if gap.empty:
        return title + "No results yet.\n"
    header = ["Task", "Metric", "Best open", "Open score", "Best closed", "Closed score", "Gap",
              "Leader"]
    rows = []
    for _, r in gap.iterrows():
        rows.append([
            r["task"], r["metric"], fmt_text(r["best_open"]),
            fmt_with_n(r["open_score"], r["open_stderr"], r["open_n"]),
            fmt_text(r["best_closed"]),
            fmt_with_n(r["closed_score"], r["closed_stderr"], r["closed_n"]),
            fmt_score(r["gap"], r["gap_stderr"]), fmt_text(r["leader"], "not measured"),
        ])
    return title + markdown_table(header, rows)


def fmt_with_n(score: object, stderr: object, n: object) -> str:
    """A score with its stderr and document count."""
    text = fmt_score(score, stderr)
    return text if _missing(n) or text == MISSING else f"{text} (n={int(n)})"


def frame_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as plain JSON values (NaN -> null, numbers rounded for stable output)."""
    out = []
    for record in frame.to_dict(orient="records"):
        clean = {}
        for k, v in record.items():
            if _missing(v):
                clean[k] = None
            elif isinstance(v, float):
                clean[k] = round(v, 6)
            elif hasattr(v, "item"):
                clean[k] = v.item()
            else:
                clean[k] = v
        out.append(clean)
    return out


def write_outputs(out_dir: Path, board: pd.DataFrame, gap: pd.DataFrame) -> list[Path]:
    """Write leaderboard.md/.csv, gap.md/.csv and report.json, each atomically."""
    out_dir = Path(out_dir)
    files = {
        "leaderboard.md": leaderboard_markdown(board),
        "leaderboard.csv": board.to_csv(index=False, float_format="%.4f", lineterminator="\n"),
        "gap.md": gap_markdown(gap),
        "gap.csv": gap.to_csv(index=False, float_format="%.4f", lineterminator="\n"),
        "report.json": json.dumps(
            {"leaderboard": frame_json(board), "gap": frame_json(gap)}, indent=1,
            ensure_ascii=False) + "\n",
    }
    for name, text in files.items():
        write_atomic(out_dir / name, text)
    return [out_dir / name for name in files]
