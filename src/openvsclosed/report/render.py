"""Tables -> display rows -> Markdown, LaTeX (booktabs), CSV and JSON, byte-for-byte stable.

Each table is turned into a header and rows of text once (`*_rows` functions; the leaderboard's
in report/board.py); every format, the HTML page included, renders those same cells, so the
numbers cannot drift between formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

MISSING = "—"
SOURCE_ORDER = {"measured": 0, "imported": 1, "independent": 2, "reported": 3}
PUBLISHED = ("reported", "independent")
"""Sources whose numbers someone else ran under their own stated protocol (not re-measured)."""


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
    empty: str = "No results yet."
    """What an empty table says instead of rows."""


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


def fmt_who(label: object, released: object) -> str:
    """A model with its release date, `Llama 3 70B (2024-04-18)`, never the date twice.

    Catalog names of API snapshots often carry their date already ("GPT-4o (2024-08-06)").
    """
    text = fmt_text(label)
    if missing(released) or missing(label) or str(released)[:10] in text:
        return text
    return f"{text} ({str(released)[:10]})"


_who = fmt_who


def gap_rows(gap: pd.DataFrame) -> DisplayTable:
    """Per task and source: best open vs best closed (released), gap with its 95% interval."""
    header = ["Task", "Source", "Comparison", "Best open (released)", "Open",
              "Best closed (released)", "Closed", "Gap [95% CI]", "Significant", "Leader",
              "Protocol"]
    rows, classes = [], []
    for _, r in gap.iterrows():
        ci = "" if missing(r["ci_low"]) else f" [{r['ci_low']:.1f}, {r['ci_high']:.1f}]"
        kind = " paired" if r["paired"] is True else ""
        sig = MISSING if missing(r["significant"]) else ("yes" if r["significant"] else "no")
        mixed = str(r["protocol"]).startswith("mixed")
        rows.append([
            r["task"], r["source"], ("⚠ " if mixed else "") + fmt_text(r.get("comparison")),
            _who(r["best_open"], r.get("open_released")),
            fmt_with_n(r["open_score"], r["open_stderr"], r["open_n"]),
            _who(r["best_closed"], r.get("closed_released")),
            fmt_with_n(r["closed_score"], r["closed_stderr"], r["closed_n"]),
            (fmt_num(r["gap"]) + ci + kind) if not missing(r["gap"]) else MISSING,
            sig, fmt_text(r["leader"], "not measured"), fmt_text(r["protocol"]),
        ])
        classes.append([str(r["leader"]), r["source"]])
    note = ("Gap = best closed - best open in points; positive: closed leads. The interval is a "
            "paired bootstrap over shared documents where marked, else from the two standard "
            "errors; published numbers have none. Best way: each side's best score under any "
            "protocol (⚠ when the two sides ran differently: native log-likelihoods vs chat "
            "generation, or different shots or methods); like with like: both under the "
            "protocol named.")
    return DisplayTable("gap", "Open vs closed gap per task", header, rows, note, classes)


def models_rows(summary: pd.DataFrame) -> DisplayTable:
    """Per model: its tasks, rank among models scored on the same tasks, normalized, win rate."""
    header = ["Model", "Access", "Source", "Tasks", "Rank (same tasks)", "Mean normalized",
              "Win rate"]
    rows = [[r["label"], r["access"], r["source"], str(r["tasks"]),
             f"{int(r['rank'])} of {int(r['peers'])}" if r["peers"] > 1 else "alone",
             fmt_num(r["mean_normalized"]), fmt_num(r["win_rate"], 2)]
            for _, r in summary.iterrows()]
    classes = [[r["access"], r["source"]] for _, r in summary.iterrows()]
    note = ("Models are ranked only against models scored on exactly the same tasks (rank "
            "\"alone\": no other model has that task set); rows are grouped by source, most "
            "tasks first. Mean normalized: over the model's tasks, (score - chance) / (1 - "
            "chance), floored at 0, in points (Open LLM Leaderboard v2); win rate: share of "
            "other models beaten per task, averaged (HELM).")
    return DisplayTable("models", "Models", header, rows, note, classes)


def km_text(summary: dict[str, object]) -> str:
    """The censoring-aware lag of one source (lag.lag_summary): the Kaplan-Meier median."""
    from openvsclosed.report.lag import KM_NAME

    median, low, high = (summary.get(k) for k in ("km_median", "km_ci_low", "km_ci_high"))
    records, censored = summary.get("km_records", 0), summary.get("km_censored", 0)
    if missing(median):
        bound = summary.get("km_lower_bound")
        value = ("not estimable yet" if missing(bound)
                 else f"at least {fmt_num(bound)} months (under half reached)")
    else:
        top = "more" if missing(high) or float(high) == float("inf") else fmt_num(high)
        value = f"{fmt_num(median)} months" + (
            "" if missing(low) else f" (95% {fmt_num(low)} to {top})")
    return (f"{KM_NAME} {value} over {records} records, {censored} not yet reached "
            "(censored)")


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
    parts = [f"{source}: {km_text(s)}; over the {s.get('reached', 0)} reached only (biased "
             f"down), mean {fmt_num(s.get('mean_months'))}, median "
             f"{fmt_num(s.get('median_months'))}" for source, s in summaries.items()]
    note = ("Epoch AI's 2024 method: months until an open model released after each new closed "
            "state of the art comes within 0.02 error-rate nats of it (rules in the README; "
            "≥: not reached, months to the series' last date, censored). "
            + ("; ".join(parts) + "." if parts else ""))
    return DisplayTable("lag", "Lag of the open frontier", header, rows, note)


def today_evidence(evidence: str) -> str:
    """The "today" part of a verdict's evidence (claims.py appends the dated one after ||)."""
    text = str(evidence or "").split(" || ")[0].strip()
    return text.removeprefix("today: ") or MISSING


def claims_rows(verdicts: list) -> DisplayTable:
    """The articles' claims with a verdict and the numbers behind it.

    Each verdict cell is coloured by its own verdict (classes `then-…` and `now-…`): the "as
    of its date" column once took today's colour.
    """
    header = ["Claim", "Who, when", "As of its date", "Evidence then", "Today", "Data",
              "Evidence today"]
    rows = [[v.statement, f"{v.who}, {v.when} ({v.article})", v.then_verdict,
             v.then_evidence or MISSING, v.verdict, v.source or MISSING,
             today_evidence(v.evidence)]
            for v in verdicts]
    classes = [[f"then-{str(v.then_verdict).replace(' ', '-')}",
                f"now-{str(v.verdict).replace(' ', '-')}"] for v in verdicts]
    note = ("Claims from seeds/claims.yaml, each judged twice (on the data available at the "
            "claim's date, and today), on one source of scores at a time; published numbers "
            "are compared only under the same shots and method.")
    return DisplayTable("claims", "The debate's claims", header, rows, note, classes)


def efficiency_rows(eff: pd.DataFrame) -> DisplayTable:
    """Size as the catalog states it, and dollars per 1,000 questions where they are known."""
    header = ["Model", "Access", "Source", "Task", "Score", "Params (B)",
              "$ per 1k questions", "How the cost is known"]
    rows = [[r["label"], r["access"], r["source"], r["task"], fmt_num(r["score"]),
             fmt_params(r["params_b"], r.get("active_params_b")),
             fmt_num(r["usd_per_1k"], 4), fmt_text(r["cost_basis"])]
            for _, r in eff.iterrows()]
    classes = [[r["access"], r["source"]] for _, r in eff.iterrows()]
    note = ("Rows with a cost only. API models: their responses' tokens × the provider's dated "
            "list price. Local models: their tokens × a GPU's price per token from a stated "
            "throughput model (report/cost.py), never this machine's wall time; a local job "
            "whose tokens were not recorded has no cost here.")
    return DisplayTable("efficiency", "Cost per 1,000 questions", header, rows, note, classes,
                        empty="No job has a known cost yet: API jobs record their tokens' "
                              "list price; local jobs need their token counts recorded.")


def fmt_params(total: object, active: object = None) -> str:
    """Parameters in billions as the catalog states them (`70`, `0.135`, `671 (37 active)`)."""
    if missing(total):
        return "undisclosed"
    text = f"{float(total):g}"
    return text + ("" if missing(active) else f" ({float(active):g} active)")


def markdown_body(table: DisplayTable) -> str:
    """The rows of a table as GitHub-flavoured Markdown (no title, no note)."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    body = [line(table.header), line(["---"] * len(table.header)), *map(line, table.rows)]
    return "\n".join(body) + "\n"


def to_markdown(table: DisplayTable, level: int = 2) -> str:
    """A titled GitHub-flavoured Markdown table."""
    head = f"{'#' * level} {table.title}\n\n" + (f"{table.note}\n\n" if table.note else "")
    return head + (markdown_body(table) if table.rows else f"{table.empty}\n")


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
