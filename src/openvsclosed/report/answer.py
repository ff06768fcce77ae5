"""The one answer the report leads with: family leads like with like, and the censored lag.

Built from every source's like-with-like pairs (report/leads.py): per family the strongest
evidence decides (independent evaluator, then one source table, then other like-with-like
pairs, then this harness's measurements). The lag is the Kaplan-Meier median of the records
estimator (report/lag.py rule 6) on the source most families rest on, preferring the
independent one, with its interval and the count of closed records not yet reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from openvsclosed.report.lag import KM_NAME, key_field
from openvsclosed.report.leads import TIER_WORDS, family_leads, series_pairs

LAG_SOURCE_ORDER = ("independent", "reported", "measured", "imported")


@dataclass
class FamilyLead:
    """One task family's like-with-like verdict: the pair it rests on and its date."""

    family: str
    leader: str
    """'open', 'closed' or 'tie' (within the stated noise); never decided by a mixed pair."""
    gap: float
    """Best closed minus best open, in points, like with like."""
    open_model: str
    closed_model: str
    open_score: float
    closed_score: float
    date: str
    """ISO date of the newer of the two releases."""
    protocol: str
    """The shared protocol, as a short human-readable text."""
    source: str
    """'independent', 'reported' (makers' tables) or 'measured'."""
    same_table: bool = False
    tier: str = ""
    """The pair's strength: independent, same table, like with like, measured, imported."""
    table: str | None = None
    """The source table's id for a same-table pair."""
    series_field: str = "series"
    """Which of the points' series keys `protocol` equals (lag.key_field): `series`, or
    `same_series` for a same-table pair; the frontier panel draws the points where it does."""


@dataclass
class Answer:
    """The answer in one sentence and three numbers: what the page and the terminal open with."""

    sentence: str
    """E.g. 'Closed models lead like with like on 7 of 9 task families; open models trail by
    about 5 months (95% 3-8).'"""
    leads: dict[str, int]
    """Families per leader: {'closed': 7, 'open': 1, 'tie': 1}."""
    lag_months: float | None
    lag_low: float | None
    lag_high: float | None
    lag_estimator: str
    """The estimator's name as printed (e.g. 'closed records reached, Kaplan-Meier median')."""
    data_through: str
    """ISO date the data run to (the published data's freeze date, or the newest result)."""
    families: int
    pairs: int
    censored: int
    """Closed records no open model has reached yet (censored in the lag estimate)."""
    sureness: str
    """One line: how many families, pairs and censored records the answer rests on."""
    family_leads: list[FamilyLead] = field(default_factory=list)


def _num(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)  # type: ignore[arg-type]
    return None if math.isnan(value) else value


def _lag(estimates: dict, used: list[str]) -> tuple[str | None, dict]:
    """The source whose censored lag the answer quotes, and its records_km summary row."""
    order = sorted(LAG_SOURCE_ORDER, key=lambda s: (s not in used, LAG_SOURCE_ORDER.index(s)))
    for source in order:
        summary = (estimates.get(source) or {}).get("summary")
        if summary is None or summary.empty or "records_km" not in set(summary["estimator"]):
            continue
        row = summary.set_index("estimator").loc["records_km"]
        if int(row["n"]):
            return source, row.to_dict()
    return None, {}


def build_answer(tables, data_through: str | None):
    """Headline.answer from a report's tables (None when no family has a pair)."""
    pairs = series_pairs(tables.results)
    tables.pairs = pairs
    leads = family_leads(pairs)
    if leads.empty:
        return None
    found = [FamilyLead(
        family=r["family"], leader=r["leader"], gap=float(r["gap"]), open_model=r["open_model"],
        closed_model=r["closed_model"], open_score=float(r["open_score"]),
        closed_score=float(r["closed_score"]), date=r["date"], protocol=r["series"],
        source=("independent" if r["tier"] == "independent" else
                "reported" if r["tier"] in ("same table", "like with like") else r["tier"]),
        same_table=r["tier"] == "same table", tier=r["tier"], table=r["table"],
        series_field=key_field(r["tier"]))
        for _, r in leads.iterrows()]
    counts = {k: sum(f.leader == k for f in found) for k in ("closed", "open", "tie")}
    used = [f.source for f in found]
    source, km = _lag(getattr(tables, "lag_estimates", {}) or {}, used)
    median, low, high = (_num(km.get(k)) for k in ("median_months", "ci_low", "ci_high"))
    bound = _num(km.get("lower_bound"))
    censored = int(km.get("censored", 0) or 0)
    records = int(km.get("n", 0) or 0)
    lead_text = _leads_text(counts, len(found))
    if median is not None:
        # one decimal: rounded to whole months, 7.6 (95% 4.5 to 8.4) read "8 (95% 4 to 8)"
        top = "more" if high is None or math.isinf(high) else f"{high:.1f}"
        interval = "" if low is None else f" (95% {low:.1f} to {top})"
        lag_text = f"open models trail by about {median:.1f} months{interval}"
    elif bound is not None:
        lag_text = f"open models trail by at least {bound:.0f} months (median not yet estimable)"
    else:
        lag_text = "no lag estimate yet"
    through = f" Data through {data_through}." if data_through else ""
    sentence = (f"{lead_text}; {lag_text}, {censored} of {records} closed records not yet "
                f"reached (censored).{through}" if records else f"{lead_text}; {lag_text}.")
    tiers = pd.Series([f.tier for f in found]).value_counts()
    sureness = (f"{len(found)} task families, each decided by one like-with-like pair ("
                + ", ".join(f"{n} {TIER_WORDS.get(t, t)}" for t, n in tiers.items())
                + f") out of {len(pairs)} pairs; lag from {source or 'no'} data: Kaplan-Meier "
                f"median over {records} closed records, {censored} censored."
                + _stale_text(found, data_through))
    return Answer(sentence=sentence, leads=counts, lag_months=median, lag_low=low,
                  lag_high=None if high is None or math.isinf(high) else high,
                  lag_estimator=KM_NAME + (f" ({source})" if source else ""),
                  data_through=data_through or "", families=len(found), pairs=len(pairs),
                  censored=censored, sureness=sureness, family_leads=found)


def _stale_text(found: list, data_through: str | None) -> str:
    """Families whose newest like-with-like pair is over a year older than the data: said."""
    end = pd.to_datetime(data_through or None, errors="coerce")
    if pd.isna(end):
        return ""
    old = [f for f in found
           if (end - pd.to_datetime(f.date, errors="coerce")).days > 365]
    if not old:
        return ""
    names = ", ".join(f"{f.family} {str(f.date)[:7]}" for f in sorted(old, key=lambda f: f.date))
    return (f" {len(old)} of these rest on a pair over a year older than the data ({names}): "
            "newer tables stopped reporting those benchmarks.")


def _leads_text(counts: dict[str, int], families: int) -> str:
    closed, opened, ties = counts["closed"], counts["open"], counts["tie"]
    parts = [f"Closed models lead like with like on {closed} of {families} task families"]
    if opened:
        parts.append(f"open models on {opened}")
    if ties:
        parts.append(f"{ties} tied")
    return ", ".join(parts)


__all__ = ["build_answer"]
