"""Tables -> display rows -> Markdown, LaTeX (booktabs), CSV and JSON, byte-for-byte stable.

Each table is turned into a header and rows of text once (`*_rows` functions); every format,
the HTML page included, renders those same cells, so the numbers cannot drift between formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

MISSING = "—"


@dataclass
class DisplayTable:
    """A titled table of text cells, ready for any format."""

    name: str
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    classes: list[list[str]] = field(default_factory=list)
    """Per-row CSS classes for the HTML page (access and source markers)."""


def missing(value: object) -> bool:
    """None, pandas' NA or NaN."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fmt_score(score: object, stderr: object = None) -> str:
    """`46.0 ± 7.1` in points, one decimal, or a dash when there is nothing."""
    if missing(score):
        return MISSING
    text = f"{float(score):.1f}"
    return text if missing(stderr) else f"{text} ± {float(stderr):.1f}"


def fmt_text(value: object, empty: str = MISSING) -> str:
    """A cell's text, with pandas' missing markers shown as `empty`."""
    return empty if missing(value) else str(value)


def fmt_with_n(score: object, stderr: object, n: object) -> str:
    """A score with its stderr and document count."""
    text = fmt_score(score, stderr)
    return text if missing(n) or text == MISSING else f"{text} (n={int(n)})"


def fmt_num(value: object, digits: int = 1) -> str:
    """A plain number, or a dash."""
    return MISSING if missing(value) else f"{float(value):.{digits}f}"


def leaderboard_rows(board: pd.DataFrame) -> DisplayTable:
    """Models as rows, tasks as columns; reported cells carry their shots."""
    tasks = sorted(board["task"].unique()) if not board.empty else []
    metrics = board.drop_duplicates("task").set_index("task")["metric"] if tasks else {}
    header = ["Model", "Access", "Source",
              *[f"{t} ({str(metrics[t]).split(',')[0]})" for t in tasks]]
    rows, classes = [], []
    board = board.assign(way=board["protocol"].astype(object).where(board["protocol"].notna(), "")
                         if "protocol" in board else "")
    entries = board.drop_duplicates(["model", "source", "way"]) if not board.empty else board
    for _, m in entries.sort_values(["source", "access", "label", "way"],
                                    kind="stable").iterrows():
        cells = [m["label"], m["access"], m["source"] + (f", {m['way']}" if m["way"] else "")]
        for task in tasks:
            hit = board[(board["model"] == m["model"]) & (board["source"] == m["source"])
                        & (board["way"] == m["way"]) & (board["task"] == task)]
            if hit.empty:
                cells.append(MISSING)
                continue
            cell = fmt_score(hit["score"].iloc[0], hit["stderr"].iloc[0])
            if m["source"] == "reported" and not missing(hit["num_fewshot"].iloc[0]):
                cell += f" ({int(hit['num_fewshot'].iloc[0])}-shot)"
            cells.append(cell)
        rows.append(cells)
        classes.append([m["access"], m["source"]])
    note = ("Scores in points (0-100) ± one standard error. Reported rows are published numbers "
            "under their makers' own protocols (shots shown; sources in leaderboard.csv) and are "
            "never mixed with measured ones.")
    return DisplayTable("leaderboard", "Leaderboard", header, rows, note, classes)


def gap_rows(gap: pd.DataFrame) -> DisplayTable:
    """Per task and source: best open vs best closed, gap with its 95% interval."""
    header = ["Task", "Source", "Best open", "Open", "Best closed", "Closed",
              "Gap [95% CI]", "Significant", "Leader", "Protocol"]
    rows, classes = [], []
    for _, r in gap.iterrows():
        ci = "" if missing(r["ci_low"]) else f" [{r['ci_low']:.1f}, {r['ci_high']:.1f}]"
        kind = " paired" if r["paired"] is True else ""
        sig = MISSING if missing(r["significant"]) else ("yes" if r["significant"] else "no")
        rows.append([
            r["task"], r["source"], fmt_text(r["best_open"]),
            fmt_with_n(r["open_score"], r["open_stderr"], r["open_n"]),
            fmt_text(r["best_closed"]),
            fmt_with_n(r["closed_score"], r["closed_stderr"], r["closed_n"]),
            (fmt_num(r["gap"]) + ci + kind) if not missing(r["gap"]) else MISSING,
            sig, fmt_text(r["leader"], "not measured"),
            ("⚠ " if str(r["protocol"]).startswith("mixed") else "") + fmt_text(r["protocol"])
            + (" (like with like)" if r.get("comparison") == "like with like" else ""),
        ])
        classes.append([str(r["leader"]), r["source"]])
    note = ("Gap = best closed - best open in points; positive: closed leads. The interval is a "
            "paired bootstrap over shared documents where marked, else from the two standard "
            "errors; reported numbers have none. ⚠ marks a comparison whose two sides ran under "
            "different protocols (native log-likelihoods vs chat generation); where both sides "
            "also ran under one protocol, a second row marked \"like with like\" compares them "
            "there.")
    return DisplayTable("gap", "Open vs closed gap per task", header, rows, note, classes)


def models_rows(summary: pd.DataFrame) -> DisplayTable:
    """Per model: tasks, mean normalized score, mean win rate."""
    header = ["Model", "Access", "Source", "Tasks", "Mean normalized", "Win rate"]
    rows = [[r["label"], r["access"], r["source"], str(r["tasks"]),
             fmt_num(r["mean_normalized"]), fmt_num(r["win_rate"], 2)]
            for _, r in summary.iterrows()]
    classes = [[r["access"], r["source"]] for _, r in summary.iterrows()]
    note = ("Mean over the model's tasks of (score - chance) / (1 - chance), floored at 0, in "
            "points (Open LLM Leaderboard v2); win rate: share of other models beaten per task, "
            "averaged (HELM). Compare models scored on the same tasks.")
    return DisplayTable("models", "Models", header, rows, note, classes)


def lag_rows(lags: pd.DataFrame, summaries: dict[str, dict[str, object]]) -> DisplayTable:
    """Each closed state of the art and the open model that reached it; a summary per source."""
    header = ["Task", "Source", "Closed state of the art", "Released", "Score",
              "First open to reach", "Released", "Score", "Lag (months)"]
    rows = []
    for _, r in lags.iterrows():
        lag = fmt_num(r["lag_months"])
        rows.append([r["benchmark"], fmt_text(r.get("source")), r["closed_model"],
                     str(r["closed_date"]), fmt_num(100 * r["closed_score"]),
                     fmt_text(r["open_model"], "not yet"), fmt_text(r["open_date"]),
                     MISSING if missing(r["open_score"]) else fmt_num(100 * r["open_score"]),
                     f"≥ {lag}" if r["censored"] else lag])
    parts = [f"{source}: mean {fmt_num(s.get('mean_months'))}, median "
             f"{fmt_num(s.get('median_months'))} months over {s.get('reached', 0)} reached, "
             f"{s.get('not_yet_reached', 0)} not yet" for source, s in summaries.items()]
    note = ("Epoch AI's 2024 method: months until an open model released after each new closed "
            "state of the art comes within 0.02 error-rate nats of it (rules in the README; "
            "≥: not reached, months to the data's last date). "
            + ("; ".join(parts) + "." if parts else ""))
    return DisplayTable("lag", "Lag of the open frontier", header, rows, note)


def claims_rows(verdicts: list) -> DisplayTable:
    """The articles' claims with a verdict and the numbers behind it."""
    header = ["Claim", "Who, when", "As of its date", "Evidence then", "Today", "Data",
              "Evidence today"]
    rows = [[v.statement, f"{v.who}, {v.when} ({v.article})", v.then_verdict,
             v.then_evidence or MISSING, v.verdict, v.source or MISSING, v.evidence]
            for v in verdicts]
    classes = [[v.verdict.replace(" ", "-")] for v in verdicts]
    note = ("Claims from seeds/claims.yaml, each judged twice (on the data available at the "
            "claim's date, and today), on one source of scores at a time; published numbers "
            "are compared only under the same shots and method.")
    return DisplayTable("claims", "The debate's claims", header, rows, note, classes)


def efficiency_rows(eff: pd.DataFrame) -> DisplayTable:
    """Pound for pound and dollars per 1,000 questions."""
    header = ["Model", "Access", "Source", "Task", "Score", "Params (B)", "Score per B",
              "$ per 1k questions"]
    rows = [[r["label"], r["access"], r["source"], r["task"], fmt_num(r["score"]),
             fmt_num(r["params_b"], 3), fmt_num(r["score_per_b"], 2), fmt_num(r["usd_per_1k"], 4)]
            for _, r in eff.iterrows()]
    classes = [[r["access"], r["source"]] for _, r in eff.iterrows()]
    note = ("Score per billion parameters where the maker published a size; dollars per 1,000 "
            "questions from API token costs, or local wall time at the GPU-hour price given.")
    return DisplayTable("efficiency", "Pound for pound and cost", header, rows, note, classes)


def to_markdown(table: DisplayTable, level: int = 2) -> str:
    """A titled GitHub-flavoured Markdown table."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    head = f"{'#' * level} {table.title}\n\n" + (f"{table.note}\n\n" if table.note else "")
    if not table.rows:
        return head + "No results yet.\n"
    body = [line(table.header), line(["---"] * len(table.header)), *map(line, table.rows)]
    return head + "\n".join(body) + "\n"


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "±": r"$\pm$", "≥": r"$\geq$", "—": "--",
                "⚠": r"$\triangle$"}


def tex_escape(text: str) -> str:
    """Text safe inside a LaTeX table cell."""
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


def to_latex(table: DisplayTable) -> str:
    """A booktabs table (the document needs the booktabs package)."""
    cols = "l" * len(table.header)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{cols}}}",
             r"\toprule", " & ".join(tex_escape(h) for h in table.header) + r" \\", r"\midrule"]
    lines += [" & ".join(tex_escape(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{tex_escape(table.title)}. "
              rf"{tex_escape(table.note)}}}", rf"\label{{tab:ovc-{table.name}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(frame: pd.DataFrame) -> str:
    """CSV with fixed float formatting and no per-document payloads."""
    frame = frame.drop(columns=[c for c in ("doc_scores",) if c in frame.columns])
    return frame.to_csv(index=False, float_format="%.4f", lineterminator="\n")


def frame_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as plain JSON values (NaN -> null, numbers rounded for stable output)."""
    out = []
    for record in frame.drop(columns=[c for c in ("doc_scores",) if c in frame.columns]).to_dict(
            orient="records"):
        clean = {}
        for k, v in record.items():
            if missing(v):
                clean[k] = None
            elif isinstance(v, float):
                clean[k] = round(v, 6)
            elif hasattr(v, "item"):
                clean[k] = v.item()
            else:
                clean[k] = v if isinstance(v, (str, int, bool, list, dict)) else str(v)
        out.append(clean)
    return out
