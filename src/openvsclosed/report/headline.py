"""The answer first: who leads per task family, by how much, since when, and how far behind.

Every report (terminal, report.md, index.html) opens with this, built once here from the
report's tables so the formats cannot disagree. Sources stay apart (measured here, imported,
published): one sentence, one lag line and one set of rows each, never pooled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from openvsclosed.report.render import MISSING, DisplayTable, fmt_num, markdown_body, missing

SOURCE_NAMES = {"measured": "Measured here", "imported": "Imported lm_eval results",
                "reported": "Published scores"}
FAMILIES = [("ARC", ("arc_",)), ("MMLU", ("mmlu",)), ("GPQA", ("gpqa",)), ("AIME", ("aime",)),
            ("MATH", ("math", "hendrycks_math", "minerva_math")), ("GSM8K", ("gsm8k",)),
            ("HumanEval", ("humaneval",)), ("SWE-bench", ("swe_bench",)),
            ("LiveCodeBench", ("livecodebench",)), ("HellaSwag", ("hellaswag",)),
            ("WinoGrande", ("winogrande",))]
"""Task-name prefixes per family: published scores get one row per family (the task with the
newest releases), so the headline stays one screen; gap.md has every task."""
LAG_NAMES = {"records": "closed records reached", "distance": "frontier distance",
             "thresholds": "threshold crossing"}
KEY_HINT = ("OPENAI_API_KEY (OpenAI), ANTHROPIC_API_KEY (Anthropic), GEMINI_API_KEY (Google)")


def family_of(task: str) -> str:
    """The family a task belongs to by name (the task itself when none is known)."""
    for name, prefixes in FAMILIES:
        if str(task).startswith(prefixes):
            return name
    return str(task)


@dataclass
class Headline:
    """The answer at a glance: sentences per source, one row per family, notes to act on."""

    answers: list[str] = field(default_factory=list)
    rows: DisplayTable | None = None
    notes: list[str] = field(default_factory=list)


def pick_rows(rows: pd.DataFrame, per_family: bool) -> pd.DataFrame:
    """Best-way rows with both sides; one per family (the newest releases) when asked."""
    both = rows[(rows["comparison"] == "best way") & rows["gap"].notna()].copy()
    if both.empty or not per_family:
        return both
    both["family"] = both["task"].map(family_of)
    both["newest"] = both[["open_released", "closed_released"]].max(axis=1)
    both = both.sort_values(["family", "newest", "task"], ascending=[True, False, True])
    return both.drop_duplicates("family")


def _like_with_like(gap: pd.DataFrame, row: pd.Series) -> pd.Series | None:
    """The like-with-like row of a mixed comparison (newest releases first), if any."""
    same = gap[(gap["task"] == row["task"]) & (gap["source"] == row["source"])
               & (gap["comparison"] == "like with like") & gap["gap"].notna()]
    if same.empty:
        return None
    newest = same[["open_released", "closed_released"]].max(axis=1)
    return same.loc[newest.sort_values(ascending=False, kind="stable").index[0]]


def _side(label: object, released: object, score: object) -> str:
    when = "" if missing(released) else f" ({released})"
    return f"{label}{when}: {fmt_num(score)}"


def _gap_text(row: pd.Series) -> str:
    text = f"{row['gap']:+.1f}"
    if not missing(row.get("ci_low")):
        text += f" [{row['ci_low']:+.1f}, {row['ci_high']:+.1f}]"
    return text


def _comparison(gap: pd.DataFrame, row: pd.Series) -> str:
    """Like with like, or best way (⚠ mixed) with the like-with-like gap where there is one."""
    way = "" if missing(row["protocol"]) else str(row["protocol"])
    if not way.startswith("mixed"):
        return "like with like" + (f" ({way})" if way else "")
    text = f"best way, ⚠ {way}"
    like = _like_with_like(gap, row)
    if like is not None:
        text += (f"; like with like ({like['protocol']}): {like['gap']:+.1f}, "
                 f"{like['best_open']} vs {like['best_closed']}")
    return text


def family_rows(gap: pd.DataFrame, sources: list[str]) -> DisplayTable:
    """Per source and task family: best open, best closed (released, score), gap, comparison."""
    header = ["Source", "Task", "Best open (released): score", "Best closed (released): score",
              "Gap", "Comparison"]
    rows, classes = [], []
    for source in sources:
        picked = pick_rows(gap[gap["source"] == source], per_family=source == "reported")
        for _, r in picked.iterrows():
            task = r["task"] if source != "reported" else f"{family_of(r['task'])} ({r['task']})"
            rows.append([source, task, _side(r["best_open"], r["open_released"], r["open_score"]),
                         _side(r["best_closed"], r["closed_released"], r["closed_score"]),
                         _gap_text(r), _comparison(gap, r)])
            classes.append([str(r["leader"]), source])
    note = ("Gap = best closed − best open, in points (positive: closed leads), with its 95% "
            "interval where measured. Published scores: one task per family, the one with the "
            "newest releases (every task in the gap table). \"Like with like\": both sides ran "
            "under one protocol; \"best way\": each side's best score under any protocol.")
    return DisplayTable("families", "Best open vs best closed per task family", header, rows,
                        note, classes)


def _range(results: pd.DataFrame) -> tuple[str, str] | None:
    dates = pd.to_datetime(results["released"], errors="coerce").dropna()
    if dates.empty:
        return None
    return dates.min().date().isoformat(), dates.max().date().isoformat()


def _lag_sentence(estimates: dict | None) -> str:
    """Each estimator's mean lag with its 95% interval, or why there is none."""
    if (not estimates or estimates.get("summary") is None or estimates["summary"].empty
            or estimates["summary"]["mean_months"].isna().all()):
        return "No lag estimate yet (it needs dated open and closed scores on one task)."
    parts = []
    for _, s in estimates["summary"].iterrows():
        name = LAG_NAMES.get(s["estimator"], s["estimator"])
        if missing(s["mean_months"]):
            parts.append(f"{name}: none yet")
            continue
        ci = ("no interval: too few models" if missing(s["ci_low"])
              else f"95% {fmt_num(s['ci_low'])} to {fmt_num(s['ci_high'])}")
        parts.append(f"{fmt_num(s['mean_months'])} by {name} ({ci})")
    records = estimates["summary"].set_index("estimator")["censored"].get("records", 0)
    open_leads = (f"; {int(records)} closed record(s) not yet reached by an open model"
                  if records else "")
    as_of = estimates["summary"]["as_of"].iloc[0]
    return (f"The open side trails by (months): {'; '.join(parts)}{open_leads}; "
            f"as of {as_of}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _answer(source: str, results: pd.DataFrame, gap: pd.DataFrame,
            estimates: dict | None) -> str:
    """One paragraph per source: who leads where, the lag by each estimator, the coverage."""
    on = results[results["source"] == source]
    span = _range(on)
    models = on.drop_duplicates("model")
    picked = pick_rows(gap[gap["source"] == source], per_family=source == "reported")
    unit = "task families" if source == "reported" else "tasks"
    if picked.empty:
        lead = "no task has both an open and a closed score, so there is no gap yet."
    else:
        closed = picked[picked["leader"] == "closed"]
        opened = picked[picked["leader"] == "open"]
        def names(rows: pd.DataFrame) -> str:
            return ", ".join(family_of(t) if source == "reported" else t for t in rows["task"])
        lead = f"closed leads on {len(closed)} of {len(picked)} {unit}"
        lead += f" ({names(closed)})" if len(closed) else ""
        lead += f", open on {len(opened)}" + (f" ({names(opened)})" if len(opened) else "")
        if source != "reported" and picked["significant"].notna().any():
            sig = picked[picked["significant"] == True]  # noqa: E712  (nullable column)
            lead += f"; {len(sig)} of {len(picked)} gaps significant at 95%"
        lead += "."
    released = "" if not span else (f", released {span[0]}" if span[0] == span[1]
                                     else f", released {span[0]} to {span[1]}")
    scope = (f"Data: {_count(len(on), 'score')} of {_count(len(models), 'model')} "
             f"({int((models['access'] == 'open').sum())} open, "
             f"{int((models['access'] == 'closed').sum())} closed), "
             f"{_count(on['task'].nunique(), 'task')}{released}")
    scope += ("; makers' own numbers under their own protocols, not re-measured here."
              if source == "reported" else ".")
    return (f"{SOURCE_NAMES.get(source, source)}: {lead} {_lag_sentence(estimates)} {scope}")


def closed_key_hint() -> str:
    """The key variables the catalog's closed models read (a fixed list if it cannot load)."""
    try:
        from openvsclosed.catalog import load_catalog

        keys: dict[str, set[str]] = {}
        for e in load_catalog().values():
            if e.access == "closed" and e.api_key_env:
                keys.setdefault(e.api_key_env, set()).add(e.organization)
        return ", ".join(f"{k} ({', '.join(sorted(v))})" for k, v in sorted(keys.items()))
    except Exception:  # noqa: BLE001  (a hint must never break the report)
        return KEY_HINT


def fill_note(results: pd.DataFrame, measured_dir: bool) -> str | None:
    """How to fill the measured side, when a results directory holds no closed model."""
    if not measured_dir:
        return None
    measured = results[results["source"] == "measured"] if not results.empty else results
    if not measured.empty and (measured["access"] == "closed").any():
        return None
    keys = (f"set {closed_key_hint()} (or the `api_key_env` a config names), then run the same "
            "config again: finished jobs are kept and only the missing ones run "
            "(`openvsclosed run CONFIG --dry-run` lists them).")
    if measured.empty:
        return ("Nothing was measured yet in this results directory: `openvsclosed run CONFIG` "
                "fills it. Closed models run only when their key variable is set: " + keys)
    return ("No closed model was measured, so the measured gap is empty. `openvsclosed run` "
            "skips a closed model whose key variable is unset: " + keys)


def failed_note(failed: list, limit: int = 5) -> str | None:
    """Jobs whose last attempt failed, so the coverage above is not overstated."""
    if not failed:
        return None
    names = "; ".join(f"{f.model_id} × {f.task} ({f.error_type})" for f in failed[:limit])
    more = f"; and {len(failed) - limit} more" if len(failed) > limit else ""
    return (f"{len(failed)} job(s) failed and have no result: {names}{more}. Details in "
            "failures.jsonl; run the config again to retry them.")


def skipped_note(skipped: list[dict], limit: int = 4) -> str | None:
    """Jobs the last run left out, by reason: what the measured side is missing, and why."""
    if not skipped:
        return None
    reasons: dict[str, list[str]] = {}
    for s in skipped:
        reasons.setdefault(str(s.get("reason")), []).append(f"{s.get('model')} × {s.get('task')}")
    parts = [f"{len(jobs)} for {reason} ({'; '.join(jobs[:limit])}"
             + (f"; and {len(jobs) - limit} more" if len(jobs) > limit else "") + ")"
             for reason, jobs in reasons.items()]
    return f"The last run skipped {len(skipped)} job(s): " + "; ".join(parts) + "."


def build_headline(tables, measured_dir: bool = False) -> Headline:  # noqa: ANN001
    """The headline of a report's tables (ReportTables)."""
    results, gap = tables.results, tables.gap
    head = Headline()
    if results.empty:
        head.answers.append("No results yet: run `openvsclosed run CONFIG` first.")
    sources = [s for s in SOURCE_NAMES if not results.empty and s in set(results["source"])]
    for source in sources:
        head.answers.append(_answer(source, results, gap, tables.lag_estimates.get(source)))
    head.rows = family_rows(gap, sources)
    head.notes = [n for n in (failed_note(tables.failed),
                              skipped_note(getattr(tables, "skipped", [])),
                              fill_note(results, measured_dir)) if n]
    if tables.warnings:
        head.notes.append(f"{len(tables.warnings)} stored file(s) could not be read and were "
                          "skipped (named in the terminal report).")
    return head


def headline_markdown(head: Headline) -> str:
    """The headline as Markdown: the answers, the notes to act on, then the family table."""
    def bold(answer: str) -> str:
        label, sep, rest = answer.partition(": ")
        return f"**{label}:** {rest}" if sep else answer

    lines = ["## The answer at a glance", "", *(f"- {bold(a)}" for a in head.answers), ""]
    lines += [f"> **Note.** {n}\n" for n in head.notes]
    if head.rows is not None and head.rows.rows:
        lines += [markdown_body(head.rows), "", head.rows.note, ""]
    return "\n".join(lines)


__all__ = ["MISSING", "Headline", "build_headline", "family_of", "headline_markdown"]
