"""The answer first: who leads per task family, by how much, since when, and how far behind.

Every report (terminal, report.md, index.html) opens with this, built once here from the
report's tables so the formats cannot disagree. Sources stay apart (measured here, imported,
published): one sentence, one lag line and one set of rows each, never pooled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from openvsclosed.report.answer import Answer, FamilyLead, build_answer
from openvsclosed.report.families import exclusion_rows, family_rows, pick_rows
from openvsclosed.report.lag import KM_NAME
from openvsclosed.report.notes import failed_note, fill_note, skipped_note
from openvsclosed.report.protocol import FAMILIES, family_of
from openvsclosed.report.render import MISSING, DisplayTable, fmt_num, markdown_body, missing

SOURCE_NAMES = {"measured": "Measured here", "imported": "Imported lm_eval results",
                "independent": "Independent evaluations (Epoch AI's Benchmarking Hub)",
                "reported": "Published scores"}
LAG_NAMES = {"records": "closed records reached", "distance": "frontier distance",
             "thresholds": "threshold crossing",
             "records_km": KM_NAME}
@dataclass
class Headline:
    """The answer at a glance: sentences per source, one row per family, notes to act on."""

    answers: list[str] = field(default_factory=list)
    rows: DisplayTable | None = None
    notes: list[str] = field(default_factory=list)
    answer: Answer | None = None
    """The one answer the page and the terminal lead with (None when there is no pair yet)."""
    exclusions: DisplayTable | None = None
    """Published cells left out of the comparison, per stated rule (count, examples)."""
    data_through: str = ""
    """The published data's freeze date (data/sources/_freeze.yaml), printed with the answer."""


def _range(results: pd.DataFrame) -> tuple[str, str] | None:
    dates = pd.to_datetime(results["released"], errors="coerce").dropna()
    if dates.empty:
        return None
    return dates.min().date().isoformat(), dates.max().date().isoformat()


def _km_text(summary: pd.DataFrame) -> str:
    """The censoring-aware records summary: Kaplan-Meier median, interval, censored count."""
    rows = summary[summary["estimator"] == "records_km"]
    if rows.empty or not int(rows["n"].iloc[0]):
        return ""
    r = rows.iloc[0]
    high = r["ci_high"]
    ci = ("" if missing(r["ci_low"]) else f" (95% {fmt_num(r['ci_low'])} to "
          + ("more" if missing(high) or high == float("inf") else fmt_num(high)) + ")")
    if missing(r["median_months"]):
        bound = r.get("lower_bound")
        head = ("not estimable yet" + ("" if missing(bound) else
                                        f", at least {fmt_num(bound)} months"))
    else:
        head = f"{fmt_num(r['median_months'])} months{ci}"
    return (f"Kaplan-Meier median over {int(r['n'])} closed records, {int(r['censored'])} "
            f"not yet reached (censored): {head}. ")


def _lag_sentence(estimates: dict | None) -> str:
    """The censored (Kaplan-Meier) lag first, then each estimator's mean of closed lags."""
    if (not estimates or estimates.get("summary") is None or estimates["summary"].empty
            or (estimates["summary"]["mean_months"].isna().all()
                and estimates["summary"]["median_months"].isna().all())):
        return "No lag estimate yet (it needs dated open and closed scores in one series)."
    summary = estimates["summary"]
    parts = []
    for _, s in summary[summary["estimator"] != "records_km"].iterrows():
        name = LAG_NAMES.get(s["estimator"], s["estimator"])
        if missing(s["mean_months"]):
            parts.append(f"{name}: none yet")
            continue
        ci = ("no interval: too few models" if missing(s["ci_low"])
              else f"95% {fmt_num(s['ci_low'])} to {fmt_num(s['ci_high'])}")
        parts.append(f"{fmt_num(s['mean_months'])} by {name} ({ci})")
    as_of = summary["as_of"].iloc[0]
    return (f"The open side trails, within one protocol series: {_km_text(summary)}Means of "
            f"the lags already closed (months, biased down): {'; '.join(parts)}; as of {as_of}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _leads_sentence(leads: list[FamilyLead]) -> str:
    """Who leads per family, from the answer's pairs (the same ones the family table shows)."""
    def names(side: str) -> str:
        found = [f.family for f in leads if f.leader == side]
        return f" ({', '.join(found)})" if found else ""
    n = {k: sum(f.leader == k for f in leads) for k in ("closed", "open", "tie")}
    return (f"closed leads on {n['closed']} of {len(leads)} task families{names('closed')}, "
            f"open on {n['open']}{names('open')}, {n['tie']} tied{names('tie')} (like with "
            "like, one pair per family).")


def _answer(source: str, results: pd.DataFrame, gap: pd.DataFrame,
            estimates: dict | None, leads: list[FamilyLead] | None = None) -> str:
    """One paragraph per source: who leads where, the lag by each estimator, the coverage."""
    on = results[results["source"] == source]
    span = _range(on)
    models = on.drop_duplicates("model")
    per_family = source in ("reported", "independent")
    on_gap = gap[gap["source"] == source]
    picked = pick_rows(on_gap, per_family=per_family)
    unit = "task families" if per_family else "tasks"
    mixed_only = sorted({family_of(t) if per_family else t for t in on_gap[
        on_gap["gap"].notna()]["task"]} - {family_of(t) if per_family else t
                                           for t in picked["task"]})
    if picked.empty:
        lead = "no task has both an open and a closed score, so there is no gap yet."
    else:
        noise = picked["significant"].astype(object).eq(False)  # interval covers 0: a tie
        closed = picked[(picked["leader"] == "closed") & ~noise]
        opened = picked[(picked["leader"] == "open") & ~noise]
        tied = picked[noise | (picked["leader"] == "tie")]

        def names(rows: pd.DataFrame) -> str:
            return ", ".join(family_of(t) if per_family else t for t in rows["task"])
        lead = f"closed leads on {len(closed)} of {len(picked)} {unit}"
        lead += f" ({names(closed)})" if len(closed) else ""
        lead += f", open on {len(opened)}" + (f" ({names(opened)})" if len(opened) else "")
        lead += f", {len(tied)} within noise ({names(tied)})" if len(tied) else ""
        if not per_family and picked["significant"].notna().any():
            sig = picked[picked["significant"] == True]  # noqa: E712  (nullable column)
            lead += f"; {len(sig)} of {len(picked)} gaps significant at 95%"
        lead += " (like with like)."
    own = [f for f in leads or [] if f.source == source]
    if per_family and own:
        lead = _leads_sentence(own)
        mixed_only = sorted(set(mixed_only) - {f.family for f in own})
    if mixed_only:
        lead += (f" Only mixed-protocol comparisons (flagged in the gap table, not counted): "
                 f"{', '.join(mixed_only)}.")
    released = "" if not span else (f", released {span[0]}" if span[0] == span[1]
                                     else f", released {span[0]} to {span[1]}")
    scope = (f"Data: {_count(len(on), 'score')} of {_count(len(models), 'model')} "
             f"({int((models['access'] == 'open').sum())} open, "
             f"{int((models['access'] == 'closed').sum())} closed), "
             f"{_count(on['task'].nunique(), 'task')}{released}")
    scope += ("; makers' own numbers under their own protocols, not re-measured here."
              if source == "reported" else ".")
    return (f"{SOURCE_NAMES.get(source, source)}: {lead} {_lag_sentence(estimates)} {scope}")


def build_headline(tables, measured_dir: bool = False) -> Headline:
    """The headline of a report's tables (ReportTables)."""
    from openvsclosed.report.validity import invalid_note

    results, gap = tables.results, tables.gap
    head = Headline(data_through=str(getattr(tables, "as_of", "") or ""))
    if results.empty:
        head.answers.append("No results yet: run `openvsclosed run CONFIG` first.")
    sources = [s for s in SOURCE_NAMES if not results.empty and s in set(results["source"])]
    head.answer = build_answer(tables, head.data_through or None) if not results.empty else None
    for source in sources:
        head.answers.append(_answer(source, results, gap, tables.lag_estimates.get(source),
                                    head.answer.family_leads if head.answer else None))
    head.rows = family_rows(gap, sources, head.answer.family_leads if head.answer else None)
    exclusions = getattr(tables, "exclusions", None)
    if exclusions is not None and len(exclusions):
        head.exclusions = exclusion_rows(exclusions)
    head.notes = [n for n in (invalid_note(results), failed_note(tables.failed),
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

    lines = ["## The answer at a glance", ""]
    if head.answer is not None:
        lines += [f"**{head.answer.sentence}**", "", f"_{head.answer.sureness}_", ""]
    if head.data_through:
        lines += [f"Published data through {head.data_through} (data/sources/_freeze.yaml).", ""]
    lines += [*(f"- {bold(a)}" for a in head.answers), ""]
    lines += [f"> **Note.** {n}\n" for n in head.notes]
    if head.rows is not None and head.rows.rows:
        lines += [markdown_body(head.rows), "", head.rows.note, ""]
    if head.exclusions is not None and head.exclusions.rows:
        lines += [f"### {head.exclusions.title}", "", markdown_body(head.exclusions), "",
                  head.exclusions.note, ""]
    return "\n".join(lines)


__all__ = ["FAMILIES", "MISSING", "Answer", "FamilyLead", "Headline", "build_headline",
           "failed_note", "family_of", "fill_note", "headline_markdown", "pick_rows",
           "skipped_note"]
